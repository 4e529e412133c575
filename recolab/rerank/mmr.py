"""Maximal marginal relevance (Carbonell & Goldstein, 1998): intra-list diversity."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import ClassVar, Self

import numpy as np

from recolab.data.interactions import InteractionData
from recolab.rerank.base import (
    Candidates,
    PenaltyFn,
    ReRanker,
    base_order,
    greedy_in_batches,
    row_batches,
)

logger = logging.getLogger(__name__)

#: Most candidate-pair cosines (users × C × C, float32) MMR keeps for a candidate set:
#: 2²⁶ = 256 MiB, which holds C = 100 for 6,700 users (the retail log's 4,240 validation
#: users: 170 MB); above it the cosines are recomputed at each position instead, which
#: reads all users' C × d candidate vectors at each of the k positions (0.8 s a λ on the
#: retail log with d = 384, against 0.1 s from the cache).
PAIR_CACHE_ELEMENTS = 1 << 26


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
        pairs = self._pair_similarities(cand)
        if pairs is not None:
            width = cand.n_candidates**2
            return greedy_in_batches(
                cand, k, lam, width, lambda _part, batch: _pair_penalty(pairs[batch])
            )
        per_user = cand.n_candidates * self.vectors_.shape[1]
        return greedy_in_batches(cand, k, lam, per_user, lambda part, _: self._penalty(part))

    def _pair_similarities(self, cand: Candidates) -> np.ndarray | None:
        """Cosines between each user's candidates, ``(n, C, C)`` float32, computed once per
        candidate set (a new λ over the same candidates reuses them); ``None`` when they
        would take more than :data:`PAIR_CACHE_ELEMENTS`."""
        n, width = cand.items.shape
        if n * width * width > PAIR_CACHE_ELEMENTS:
            return None
        cached = getattr(self, "_pairs", None)
        if cached is not None and cached[0]() is cand:
            return cached[1]
        pairs = np.empty((n, width, width), dtype=np.float32)
        per_user = width * self.vectors_.shape[1]
        for batch in row_batches(n, per_user):
            vecs = self.vectors_[np.where(cand.valid[batch], cand.items[batch], 0)]
            pairs[batch] = vecs @ vecs.transpose(0, 2, 1)
        self._pairs = (weakref.ref(cand), pairs)
        return pairs

    def _penalty(self, cand: Candidates) -> PenaltyFn:
        """Max cosine of each candidate to the items picked so far (0 before any pick)."""
        vecs = self.vectors_[np.where(cand.valid, cand.items, 0)]  # (n, C, d)
        rows = np.arange(cand.items.shape[0])
        return _running_max(lambda col: np.einsum("ncd,nd->nc", vecs, vecs[rows, col]))


def _pair_penalty(pairs: np.ndarray) -> PenaltyFn:
    """:meth:`MMR._penalty` from the candidates' precomputed pair cosines ``(n, C, C)``."""
    rows = np.arange(pairs.shape[0])
    return _running_max(lambda col: pairs[rows, :, col])


def _running_max(similarity: Callable[[np.ndarray], np.ndarray]) -> PenaltyFn:
    """The penalty of MMR: the running max over picks of ``similarity(picked columns)``
    (users × candidates); 0 before the first pick and for users who picked nothing."""
    state: dict[str, np.ndarray] = {}

    def penalty(last: np.ndarray | None) -> np.ndarray | float:
        if last is None:
            return 0.0
        sim = similarity(np.maximum(last, 0)).astype(np.float64)
        sim[last < 0] = -np.inf  # nothing picked: leaves the running max unchanged
        state["max"] = np.maximum(state["max"], sim) if "max" in state else sim
        return np.where(np.isfinite(state["max"]), state["max"], 0.0)

    return penalty
