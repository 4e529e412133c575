"""What recolab serves by default: a tuned linear base and a serve-time trade-off mechanism.

``TradeoffRecommender`` is a :class:`~recolab.rerank.ReRankedRecommender` over a
:class:`~recolab.models.linear.LinearAutoencoder`, plus what serving needs: the id
vocabularies and titles, the calibrated λ range, fold-in of new users through the same
re-ranker, and the "because" of a recommendation (which history items contribute most to
its score).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from recolab.data.interactions import InteractionData, item_titles
from recolab.data.vocab import Vocabulary
from recolab.models.base import top_k
from recolab.models.linear import LinearAutoencoder
from recolab.rerank import Candidates, ReRankedRecommender, ReRanker

logger = logging.getLogger(__name__)


class TradeoffRecommender(ReRankedRecommender):
    """A fitted linear base re-ranked by one mechanism over a calibrated λ range.

    Parameters
    ----------
    base:
        A fitted :class:`~recolab.models.linear.LinearAutoencoder`.
    reranker:
        The trade-off mechanism (fitted by :meth:`fit`).
    lam_high:
        Top of the λ range calibrated on validation.
    item_vectors:
        What the re-ranker needs (MMR: item vectors; calibration: category vectors).
    lam_default:
        The λ served when none is asked for (the front's most accurate point on
        validation, :func:`~recolab.tuning.fronts.most_accurate_lam`); λ = 0 is the base.

    Attributes
    ----------
    users_, items_:
        The training vocabularies (external ids).
    item_titles_:
        Titles per item index, or ``None``.
    """

    def __init__(
        self,
        base: LinearAutoencoder,
        reranker: ReRanker,
        lam_high: float,
        *,
        n_candidates: int = 100,
        item_vectors: np.ndarray | None = None,
        lam_default: float = 0.0,
    ) -> None:
        super().__init__(base, reranker, n_candidates=n_candidates, item_vectors=item_vectors)
        self.lam_high = float(lam_high)
        self.lam_default = float(lam_default)

    def resolve_lam(self, lam: float | Mapping[str, float] | None) -> float:
        """λ of the re-ranker: ``None`` → :attr:`lam_default`; else as the base class."""
        return super().resolve_lam(self.lam_default if lam is None else lam)

    def fit(self, train: InteractionData) -> TradeoffRecommender:
        """Fit the re-ranker (and the base, unless fitted) and keep the vocabularies."""
        super().fit(train)
        self.users_ = train.users
        self.items_ = train.items
        self.item_titles_ = item_titles(train)
        return self

    def fold_in(
        self,
        history: np.ndarray,
        lam: float | Mapping[str, float] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> np.ndarray:
        """Base scores (n_items,) of a new user with item indices ``history``. The linear
        base has no attribute model: ``attributes`` are ignored with a warning."""
        if attributes:
            logger.warning("this model has no user-attribute part: attributes are ignored")
        return self.base.score_history(self._history_row(history))[0]

    def _history_row(self, history: np.ndarray) -> sp.csr_matrix:
        """One row counting each item of ``history`` (an item listed twice was bought twice:
        what a base of repeat purchases weighs; other bases read the row as binary)."""
        idx, counts = np.unique(np.asarray(history, dtype=np.int64), return_counts=True)
        data = counts.astype(np.float32)
        return sp.csr_matrix((data, idx, [0, idx.size]), shape=(1, self.n_items))

    def recommend_history(
        self,
        history: np.ndarray,
        k: int,
        lam: float | Mapping[str, float] | None = None,
        exclude_seen: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (items, base scores) of a new user, re-ranked at ``lam``."""
        scores = self.fold_in(history)
        scores[~self.candidates_] = -np.inf
        if exclude_seen and len(history):
            scores[np.asarray(history, dtype=np.int64)] = -np.inf
        items, base = top_k(scores[None, :], max(self.n_candidates, k))
        cand = Candidates(users=np.array([-1]), items=items, scores=base)
        order = self.reranker.rerank(cand, k, self.resolve_lam(lam))
        picked = np.where(order >= 0, scores[np.maximum(order, 0)], -np.inf).astype(np.float32)
        return order, picked

    def contributions(self, history: list[int] | np.ndarray, items: list[int]) -> np.ndarray:
        """``W[h, i]``: how much each history item ``h`` adds to the score of item ``i``
        (items × history), the "because" of a linear model's recommendation."""
        return self.base.weight_block(np.asarray(history, int), np.asarray(items, int)).T

    def sparsity(self) -> float:
        """Share of exactly-zero entries of the item-item weights."""
        return self.base.sparsity()


def interactions_from_matrix(
    users: Vocabulary, items: Vocabulary, matrix: sp.csr_matrix
) -> InteractionData:
    """Binary implicit :class:`InteractionData` from a users × items CSR (a bundle's
    history), so that re-rankers can be fitted on a loaded model."""
    import pandas as pd

    from recolab.data.interactions import build_interactions

    coo = matrix.tocoo()
    frame = pd.DataFrame(
        {
            "user": np.asarray(users.ids, dtype=object)[coo.row],
            "item": np.asarray(items.ids, dtype=object)[coo.col],
            "value": 1.0,
        }
    )
    return build_interactions(frame, kind="implicit", users=users, items=items)
