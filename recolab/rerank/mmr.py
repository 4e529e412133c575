"""Maximal marginal relevance (Carbonell & Goldstein, 1998): intra-list diversity."""

from __future__ import annotations

import logging
from typing import ClassVar, Self

import numpy as np

from recolab.data.interactions import InteractionData
from recolab.rerank.base import (
    Candidates,
    PenaltyFn,
    ReRanker,
    base_order,
    greedy_in_batches,
)

logger = logging.getLogger(__name__)


class MMR(ReRanker):
    """Greedy: each position takes argmax ``rel_i − λ·max_{j in list} cos(v_i, v_j)``.

    The first pick has no penalty (nothing is selected yet), so it is the base's best.
    Item vectors (e.g. text embeddings, or genre multi-hot) are L2-normalised; an all-zero
    vector has cosine 0 with everything. Users are independent, so large inputs are
    processed in batches of users.

    Attributes
    ----------
    vectors_:
        float32 ``(n_items, d)`` L2-normalised item vectors.

    Examples
    --------
    >>> import numpy as np
    >>> from recolab.rerank.base import Candidates
    >>> reranker = MMR()
    >>> reranker.vectors_ = np.array([[1.0, 0], [1, 0], [0, 1]]); reranker.n_items_ = 3
    >>> cand = Candidates(np.array([0]), np.array([[0, 1, 2]]), np.array([[3.0, 2.0, 1.0]]))
    >>> reranker.rerank(cand, 3, lam=0.0).tolist(), reranker.rerank(cand, 3, lam=3.0).tolist()
    ([[0, 1, 2]], [[0, 2, 1]])
    """

    name: ClassVar[str] = "mmr"
    objective: ClassVar[str] = "diversity"
    needs_vectors: ClassVar[bool] = True

    vectors_: np.ndarray

    def fit(self, train: InteractionData, item_vectors: np.ndarray | None = None) -> Self:
        """Keep the L2-normalised ``item_vectors`` (required, ``n_items × d``).

        Returns
        -------
        MMR
            ``self``, fitted.
        """
        super().fit(train, item_vectors)
        vectors = np.asarray(item_vectors, dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors_ = np.where(norms > 0, vectors / np.where(norms > 0, norms, 1.0), 0.0).astype(
            np.float32
        )
        logger.info("MMR fitted: %d items × %d dims", *self.vectors_.shape)
        return self

    def rerank(self, cand: Candidates, k: int, lam: float) -> np.ndarray:
        """Greedy MMR re-ordering (see :meth:`ReRanker.rerank`)."""
        lam = self._begin(cand, k, lam)
        if lam == 0:
            return base_order(cand, k)
        per_user = cand.n_candidates * self.vectors_.shape[1]
        return greedy_in_batches(cand, k, lam, per_user, self._penalty)

    def _penalty(self, cand: Candidates) -> PenaltyFn:
        """Max cosine of each candidate to the items picked so far (0 before any pick)."""
        vecs = self.vectors_[np.where(cand.valid, cand.items, 0)]  # (n, C, d)
        rows = np.arange(cand.items.shape[0])
        state: dict[str, np.ndarray] = {}

        def penalty(last: np.ndarray | None) -> np.ndarray | float:
            if last is None:
                return 0.0
            picked = vecs[rows, np.maximum(last, 0)]  # (n, d)
            sim = np.einsum("ncd,nd->nc", vecs, picked).astype(np.float64)
            sim[last < 0] = -np.inf  # nothing picked: leaves the running max unchanged
            state["max"] = np.maximum(state["max"], sim) if "max" in state else sim
            return np.where(np.isfinite(state["max"]), state["max"], 0.0)

        return penalty
