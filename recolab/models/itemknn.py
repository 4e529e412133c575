"""Item-based k-nearest-neighbours on the binary interaction matrix."""

from __future__ import annotations

import logging
from typing import Self

import numpy as np
import scipy.sparse as sp

from recolab.data.interactions import InteractionData
from recolab.models.base import Recommender

logger = logging.getLogger(__name__)

#: Target items whose similarity column is computed at once in :meth:`ItemKNNRecommender.fit`.
ITEM_BLOCK = 2048


def _keep_top_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each row (ties by lower column), vectorised."""
    m = m.tocsr()
    m.eliminate_zeros()
    counts = np.diff(m.indptr)
    if counts.size == 0 or counts.max(initial=0) <= k:
        return m
    rows = np.repeat(np.arange(m.shape[0]), counts)
    order = np.lexsort((m.indices, -m.data, rows))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size) - m.indptr[rows[order]]
    keep = rank < k
    out = sp.csr_matrix((m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape, dtype=m.dtype)
    out.sort_indices()
    return out


class ItemKNNRecommender(Recommender):
    """Cosine item–item similarity, pruned to the ``k_neighbors`` nearest per target item.

    ``sim(i, j) = |U_i ∩ U_j| / (√|U_i| · √|U_j| + shrink)`` on the binary train matrix, with
    ``sim(i, i) = 0``. For each target item ``j`` only its ``k_neighbors`` most similar items
    are kept; a user's score for ``j`` is the sum of the kept similarities between ``j`` and
    the items in the user's history.

    Parameters
    ----------
    k_neighbors:
        Neighbours kept per target item (≥ 1).
    shrink:
        Added to the cosine denominator (≥ 0); damps similarities built on few co-users.

    Attributes
    ----------
    similarity_:
        CSR n_items × n_items, float32: row = history item, column = target item.

    Examples
    --------
    >>> import pandas as pd
    >>> from recolab.data import build_interactions
    >>> frame = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "y", "y"], "value": 1.0})
    >>> model = ItemKNNRecommender(k_neighbors=5).fit(build_interactions(frame, kind="implicit"))
    >>> round(float(model.similarity_[0, 1]), 4)  # 1 / (1 · √2)
    0.7071
    """

    def __init__(self, k_neighbors: int = 100, shrink: float = 0.0) -> None:
        self.k_neighbors = k_neighbors
        self.shrink = shrink

    def fit(self, train: InteractionData) -> Self:
        """Compute the pruned item–item cosine similarity.

        Parameters
        ----------
        train:
            Training interactions (used as binary).

        Returns
        -------
        ItemKNNRecommender
            ``self``, fitted.
        """
        self._check_train(train)
        if isinstance(self.k_neighbors, bool) or not isinstance(self.k_neighbors, int | np.integer):
            raise ValueError(f"k_neighbors must be an int, got {self.k_neighbors!r}")
        if self.k_neighbors < 1:
            raise ValueError(f"k_neighbors must be ≥ 1, got {self.k_neighbors}")
        if not np.isfinite(self.shrink) or self.shrink < 0:
            raise ValueError(f"shrink must be a finite number ≥ 0, got {self.shrink!r}")
        self._remember(train)
        x = self.train_.astype(np.float64)
        xt = x.T.tocsr()
        norms = np.sqrt(np.asarray(x.getnnz(axis=0), dtype=np.float64))
        n_items = x.shape[1]
        blocks = []
        for start in range(0, n_items, ITEM_BLOCK):
            stop = min(start + ITEM_BLOCK, n_items)
            # rows = target items start..stop, columns = all (history) items
            co = (xt[start:stop] @ x).tocoo()
            keep = co.row + start != co.col
            row, col, dot = co.row[keep], co.col[keep], co.data[keep]
            denom = norms[row + start] * norms[col] + self.shrink
            sim = np.divide(dot, denom, out=np.zeros_like(dot), where=denom > 0)
            block = sp.csr_matrix((sim, (row, col)), shape=(stop - start, n_items))
            blocks.append(_keep_top_per_row(block, int(self.k_neighbors)))
        by_target = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, 0))
        self.similarity_ = by_target.T.tocsr().astype(np.float32)
        self.similarity_.sort_indices()
        logger.info(
            "item-kNN fitted: %d items, %d similarities kept (k=%d, shrink=%g)",
            n_items,
            self.similarity_.nnz,
            self.k_neighbors,
            self.shrink,
        )
        return self

    def _score_known(self, users: np.ndarray, lam: float | None) -> np.ndarray:
        scores = self.train_[users] @ self.similarity_
        return np.asarray(scores.toarray(), dtype=np.float32)
