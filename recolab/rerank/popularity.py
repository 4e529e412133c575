"""Popularity penalty: push popular items down a list, serving novelty."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Self

import numpy as np

from recolab.data.interactions import InteractionData
from recolab.rerank.base import (
    SD_FLOOR,
    Candidates,
    ReRanker,
    base_order,
    order_by,
    standardised_relevance,
)

logger = logging.getLogger(__name__)


class PopularityPenalty(ReRanker):
    """Order candidates by ``rel − λ·z(log(1 + n_users_i))``, one stable sort.

    ``n_users_i`` is the number of training users who interacted with item ``i``; the
    z-score uses the mean and standard deviation of ``log(1 + n_users_i)`` over the items
    with at least one training interaction. When all of those have the same popularity the
    penalty is 0 everywhere. Ties keep the base order.

    Attributes
    ----------
    penalty_:
        float64 ``(n_items,)``: the popularity z-score of every item.

    Examples
    --------
    >>> import numpy as np
    >>> from recolab.rerank.base import Candidates
    >>> reranker = PopularityPenalty()
    >>> reranker.penalty_ = np.array([1.0, -1.0, 0.0]); reranker.n_items_ = 3
    >>> cand = Candidates(np.array([0]), np.array([[0, 1, 2]]), np.array([[3.0, 2.0, 1.0]]))
    >>> reranker.rerank(cand, 3, lam=0.0).tolist(), reranker.rerank(cand, 3, lam=2.0).tolist()
    ([[0, 1, 2]], [[1, 0, 2]])
    """

    name: ClassVar[str] = "popularity"
    objective: ClassVar[str] = "novelty"

    penalty_: np.ndarray

    def fit(self, train: InteractionData, item_vectors: np.ndarray | None = None) -> Self:
        """Compute each item's popularity z-score from ``train`` (``item_vectors`` unused).

        Returns
        -------
        PopularityPenalty
            ``self``, fitted.
        """
        super().fit(train, item_vectors)
        counts = np.asarray(train.matrix(binary=True).getnnz(axis=0), dtype=np.float64)
        log_pop = np.log1p(counts)
        trained = log_pop[counts > 0]
        sd = float(trained.std()) if trained.size else 0.0
        if sd > SD_FLOOR:
            self.penalty_ = (log_pop - trained.mean()) / sd
        else:
            self.penalty_ = np.zeros_like(log_pop)
        logger.info("popularity penalty fitted on %d training items", trained.size)
        return self

    def rerank(self, cand: Candidates, k: int, lam: float) -> np.ndarray:
        """Re-order by ``rel − λ·penalty`` (see :meth:`ReRanker.rerank`)."""
        lam = self._begin(cand, k, lam)
        if lam == 0:
            return base_order(cand, k)
        # rel − λ·penalty in place ((−λ·p) + r is exactly r − λ·p); padding (-1) reads the
        # last item's penalty, and order_by puts it last
        objective = self.penalty_[cand.items]
        objective *= -lam
        objective += standardised_relevance(cand)
        return order_by(cand, objective, k)


class ExposedPopularityPenalty(PopularityPenalty):
    """The popularity penalty plus a fixed step for every item the base already shows.

    ``penalty_i = z(z(log(1 + n_users_i)) + weight · [item i is in a base top-20 list])``:
    the popularity z-score of :class:`PopularityPenalty`, raised by ``weight`` standard
    deviations for the items in at least one of the base's top-20 lists of the training
    users (:meth:`observe_base`), then standardised again over the training items. Among
    items of equal popularity, one no list shows yet moves up first, and coverage@20
    counts exactly such items. On validation (EASE base, 400 candidates, one seed; λ range
    calibrated to a 20 % ndcg@10 loss) the front's (ndcg@10, coverage@20) hypervolume
    against the plain penalty's was 1.029 on ML-100K u1, 1.060 on a 610 × 9,000 synthetic
    catalogue and 0.999 on the retail log's random split; the mechanism with the larger
    validation front is the one served, so where it does not help the plain penalty is.

    Attributes
    ----------
    penalty_:
        float64 ``(n_items,)``: the plain popularity z-score until :meth:`observe_base`,
        then the combined one.

    Examples
    --------
    >>> import numpy as np
    >>> reranker = ExposedPopularityPenalty(weight=1.0)
    >>> reranker.penalty_ = np.array([0.0, 0.0, 0.0]); reranker.n_items_ = 3
    >>> reranker.trained_ = np.array([True, True, True])
    >>> reranker.observe_base(np.array([[0, -1]]))
    >>> (reranker.penalty_ > 0).tolist()
    [True, False, False]
    """

    name: ClassVar[str] = "popularity-exposure"
    objective: ClassVar[str] = "coverage"

    def __init__(self, weight: float = 0.5) -> None:
        if not (np.isfinite(weight) and weight >= 0):
            raise ValueError(f"weight must be a finite number ≥ 0, got {weight!r}")
        self.weight = float(weight)

    def _options(self) -> dict[str, Any]:
        return {"weight": self.weight}

    def fit(self, train: InteractionData, item_vectors: np.ndarray | None = None) -> Self:
        """The popularity z-score (:meth:`PopularityPenalty.fit`); the base's exposure comes
        with :meth:`observe_base`.

        Returns
        -------
        ExposedPopularityPenalty
            ``self``, fitted.
        """
        super().fit(train, item_vectors)
        self.trained_ = np.asarray(train.matrix(binary=True).getnnz(axis=0) > 0)
        return self

    def observe_base(self, lists: np.ndarray) -> None:
        """Add ``weight`` to the items in the base's lists of all training users (item
        indices, ``-1`` padding) and standardise again over the training items."""
        shown = np.zeros(self.n_items_, dtype=bool)
        shown[lists[lists >= 0]] = True
        combined = self.penalty_ + self.weight * shown
        trained = combined[self.trained_]
        sd = float(trained.std()) if trained.size else 0.0
        if sd > SD_FLOOR:
            self.penalty_ = (combined - trained.mean()) / sd
