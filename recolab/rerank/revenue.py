"""Revenue boost: lift expensive items up a list, serving revenue@k."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np

from recolab.data.interactions import InteractionData
from recolab.data.prices import item_prices
from recolab.errors import DataError
from recolab.rerank.base import (
    SD_FLOOR,
    Candidates,
    ReRanker,
    base_order,
    standardised_relevance,
)

logger = logging.getLogger(__name__)


class RevenueBoost(ReRanker):
    """Order candidates by ``rel + λ·z(log price_i)``, one stable sort.

    Why ``g = z(log price)``: the revenue a list is expected to earn from item ``i`` is
    ``p(i|u) · price_i``; its logarithm is ``log p(i|u) + log price_i``. The base's scores
    are not calibrated probabilities (a linear autoencoder regresses the history), so
    ``price × p`` with a softmax ``p`` would hinge on an arbitrary temperature; the
    re-rankers already use the base's standardised score as its stand-in for
    ``log p(i|u)``, and the matching term for price is its logarithm, standardised the same
    way. The log also tames the price's heavy tail (Online Retail spans 0.001 to 650,
    six orders of magnitude), which a raw or z-scored price would let a few items rule.
    So λ = 0 is the base, λ ≈ 1 ranks by a standardised log expected revenue, and a large λ
    sorts each list by price; λ is unit-free like the other mechanisms', so one slider
    range means the same on any data.

    The z-score uses the mean and standard deviation of ``log price`` over the items with at
    least one training interaction and a price. Items without a price get 0 (the average
    priced item: neither pushed up nor down, never treated as free); they are counted in
    ``n_unpriced_`` and logged. Ties keep the base order.

    Parameters
    ----------
    prices:
        Price per item index (``None`` or NaN where unknown). Default: the data's own
        (:func:`recolab.data.prices.item_prices` at :meth:`fit`). A bundle stores the
        fitted prices here (:meth:`to_config`), since its history has no prices.

    Attributes
    ----------
    prices_:
        float64 ``(n_items,)`` prices used, NaN where unknown.
    boost_:
        float64 ``(n_items,)`` the standardised log price ``g`` of every item.
    n_unpriced_:
        Training items (≥ 1 interaction) without a price.

    Examples
    --------
    >>> import numpy as np
    >>> from recolab.rerank.base import Candidates
    >>> reranker = RevenueBoost()
    >>> reranker.boost_ = np.array([-1.0, 0.0, 1.0]); reranker.n_items_ = 3
    >>> cand = Candidates(np.array([0]), np.array([[0, 1, 2]]), np.array([[3.0, 2.0, 1.0]]))
    >>> reranker.rerank(cand, 3, lam=0.0).tolist(), reranker.rerank(cand, 3, lam=2.0).tolist()
    ([[0, 1, 2]], [[2, 1, 0]])
    """

    name: ClassVar[str] = "revenue"
    objective: ClassVar[str] = "revenue"

    prices_: np.ndarray
    boost_: np.ndarray
    n_unpriced_: int

    def __init__(self, prices: Sequence[float | None] | None = None) -> None:
        self.prices = prices

    def fit(self, train: InteractionData, item_vectors: np.ndarray | None = None) -> Self:
        """Standardise the log price of the training items (``item_vectors`` unused).

        Raises
        ------
        DataError
            When neither ``prices`` nor the data give any price, or ``prices`` has the wrong
            length or a value ≤ 0.

        Returns
        -------
        RevenueBoost
            ``self``, fitted.
        """
        super().fit(train, item_vectors)
        self.prices_ = self._prices(train)
        trained = np.asarray(train.matrix(binary=True).getnnz(axis=0)) > 0
        known = np.isfinite(self.prices_)
        log_price = np.log(np.where(known, self.prices_, 1.0))
        ref = log_price[trained & known]
        sd = float(ref.std()) if ref.size else 0.0
        if sd > SD_FLOOR:
            self.boost_ = np.where(known, (log_price - ref.mean()) / sd, 0.0)
        else:
            self.boost_ = np.zeros(train.n_items)
        self.n_unpriced_ = int((trained & ~known).sum())
        logger.info(
            "revenue boost fitted: %d priced training items, %d without a price (boost 0)",
            ref.size,
            self.n_unpriced_,
        )
        return self

    def _prices(self, train: InteractionData) -> np.ndarray:
        """The given prices (checked), else the data's; NaN where unknown."""
        if self.prices is None:
            found = item_prices(train)
            if found is None or not found.known.any():
                raise DataError(
                    f"the revenue re-ranker needs item prices, and {train.name or 'the data'} "
                    "have none: map a price column of the log (e.g. UnitPrice) or give an "
                    "item file with a price column"
                )
            return found.values
        values = np.array([math.nan if p is None else p for p in self.prices], dtype=np.float64)
        if values.shape != (train.n_items,):
            raise DataError(f"RevenueBoost: {values.size} prices given for {train.n_items} items")
        if np.any(values[np.isfinite(values)] <= 0):
            bad = int(np.flatnonzero(values <= 0)[0])
            raise DataError(
                f"RevenueBoost: price of item index {bad} is {values[bad]:g}; prices must be "
                "above 0 (give unknown ones as None)"
            )
        return values

    def to_config(self) -> dict[str, Any]:
        """``{"name": "revenue", "prices": [...]}``: the fitted prices (``None`` where
        unknown), else the given ones, so a bundle re-fits the same re-ranker on a history
        without prices; just the name when there are neither."""
        values = stored_prices(self)
        return {"name": self.name} if values is None else {"name": self.name, "prices": values}

    def __repr__(self) -> str:
        return (
            "RevenueBoost()"
            if self.prices is None
            else f"RevenueBoost(<{len(self.prices)} prices>)"
        )

    def rerank(self, cand: Candidates, k: int, lam: float) -> np.ndarray:
        """Re-order by ``rel + λ·boost`` (see :meth:`ReRanker.rerank`)."""
        lam = self._begin(cand, k, lam)
        if lam == 0:
            return base_order(cand, k)
        valid = cand.valid
        boost = self.boost_[np.where(valid, cand.items, 0)]
        objective = np.where(valid, standardised_relevance(cand) + lam * boost, -np.inf)
        cols = np.argsort(-objective, axis=1, kind="stable")[:, :k]
        picked = np.take_along_axis(cand.items, cols, axis=1)
        picked = np.where(np.take_along_axis(valid, cols, axis=1), picked, -1)
        out = np.full((cand.items.shape[0], k), -1, dtype=np.int64)
        out[:, : picked.shape[1]] = picked
        return out


def stored_prices(reranker: Any) -> list[float | None] | None:
    """The prices a re-ranker's config carries: its fitted ``prices_`` (``None`` where
    unknown), else its given ``prices``, else ``None``."""
    prices = getattr(reranker, "prices_", None)
    source = prices.tolist() if prices is not None else reranker.prices
    if source is None:
        return None
    return [None if p is None or not math.isfinite(p) else float(p) for p in source]
