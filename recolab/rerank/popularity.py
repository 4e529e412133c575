"""Popularity penalty: push popular items down a list, serving novelty."""

from __future__ import annotations

import logging
from typing import ClassVar, Self

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
        penalty = self.penalty_[np.where(cand.valid, cand.items, 0)]
        return order_by(cand, standardised_relevance(cand) - lam * penalty, k)
