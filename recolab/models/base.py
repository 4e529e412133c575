"""The one interface every recommender in recolab follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self

import numpy as np
import scipy.sparse as sp

from recolab.data.interactions import InteractionData
from recolab.errors import DataError

#: Bytes of float32 scores one batch of :meth:`Recommender.recommend` holds: the scores are
#: copied while seen items are masked and ranked, so a batch's memory is a few times this.
#: Users per batch follow (:func:`batch_rows`): 4,585 at 3,659 items (the retail log in one
#: batch), 2,048 at 8,192, 167 at 10⁵. At 10⁵ items (sparse W read as CSR, 64 weights per
#: column, one thread) 40,000 users took 20–23 s with peak RSS +269 MiB at 167 users a
#: batch, 26–29 s and +844–855 MiB at 671; at 2·10⁴ items (dense W, 10,000 users) 4.7–5.0 s
#: and +192 MiB at 838, 5.2–6.4 s and +470 MiB at 2,048.
BATCH_BYTES = 64 * 2**20


def batch_rows(n_items: int) -> int:
    """Users scored at once for ``n_items`` items: as many as :data:`BATCH_BYTES` of
    float32 scores hold (at least 1)."""
    return max(1, BATCH_BYTES // (4 * max(int(n_items), 1)))


def _k_largest(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Column indices of ``k`` largest entries per row (``1 ≤ k ≤`` columns), in no order and
    arbitrary among ties at the k-th value, with the scores they index and the rows where
    items outside them may tie with the k-th value (``None``: any row may).

    Float rows go through ``torch.topk`` (one thread: ~6x faster than ``np.argpartition`` on a
    2048 × 3659 batch), asked for ``k + 1`` values so that only rows whose ``k+1``-th value
    equals the k-th can hold such ties. ``torch.topk`` ranks NaN above everything while the
    ranking never returns it ahead of a finite score: rows found with a NaN among the values
    are ranked again with NaN replaced by ``-inf``. Other dtypes use ``np.argpartition`` on
    the negated scores.
    """
    if scores.dtype not in (np.float32, np.float64):
        return scores, np.argpartition(-scores, k - 1, axis=1)[:, :k], None
    import torch  # only here: the rest of this module does not need torch

    if not scores.flags.c_contiguous or min(scores.strides) < 0:
        scores = scores.copy()  # torch.from_numpy refuses negative strides
    width = k + 1 if k < scores.shape[1] else k
    top = torch.topk(torch.from_numpy(scores), width, dim=1, sorted=True)
    values, part = top.values.numpy(), top.indices.numpy()
    if np.isnan(values).any():  # a row holding NaN shows it among its top values
        scores = np.where(np.isnan(scores), -np.inf, scores)
        top = torch.topk(torch.from_numpy(scores), width, dim=1, sorted=True)
        values, part = top.values.numpy(), top.indices.numpy()
    tied = values[:, k] == values[:, k - 1] if width > k else np.zeros(len(values), bool)
    return scores, part[:, :k], tied


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` largest entries per row, best first.

    ``-inf`` entries are never returned ahead of finite ones; when a row has fewer than ``k``
    finite entries the tail holds index ``-1`` and score ``-inf``. Ties break by lower index.
    """
    n_rows, n_cols = scores.shape
    k_eff = min(k, n_cols)
    if k_eff == 0:
        return np.full((n_rows, k), -1, np.int64), np.full((n_rows, k), -np.inf, np.float32)
    scores, part, maybe = _k_largest(scores, k_eff)
    part_scores = np.take_along_axis(scores, part, axis=1)
    # the partition picks arbitrarily among items tied at the k-th score: re-choose those rows
    # so that ties go to the lower index, as documented.
    kth = part_scores.min(axis=1, keepdims=True)
    rows = np.arange(n_rows) if maybe is None else np.flatnonzero(maybe)
    sub_scores = scores if maybe is None else scores[rows]
    n_tied = (sub_scores == kth[rows]).sum(axis=1)
    fix = rows[n_tied > (part_scores[rows] == kth[rows]).sum(axis=1)]
    if fix.size:
        sub, t = scores[fix], kth[fix]
        tied = sub == t
        need = k_eff - (sub > t).sum(axis=1, keepdims=True)
        chosen = (sub > t) | (tied & (np.cumsum(tied, axis=1) <= need))
        part[fix] = np.nonzero(chosen)[1].reshape(fix.size, k_eff)
        part_scores[fix] = np.take_along_axis(sub, part[fix], axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    idx = np.take_along_axis(part, order, axis=1).astype(np.int64)
    vals = np.take_along_axis(part_scores, order, axis=1).astype(np.float32)
    bad = ~np.isfinite(vals)
    idx[bad] = -1
    vals[bad] = -np.inf
    if k_eff < k:
        pad = k - k_eff
        idx = np.hstack([idx, np.full((n_rows, pad), -1, np.int64)])
        vals = np.hstack([vals, np.full((n_rows, pad), -np.inf, np.float32)])
    return idx, vals


class Recommender(ABC):
    """Base class: constructors store options, ``fit`` learns, fitted state ends in ``_``.

    Subclasses implement :meth:`fit` (calling :meth:`_remember` with the training data) and
    :meth:`_score_known`; :meth:`score` and :meth:`recommend` come from here.

    Fitted attributes set by :meth:`_remember`:

    ``train_``
        users × items CSR of the training interactions (binary), used to exclude seen items.
    ``candidates_``
        boolean mask over items: those a ranking may return. By the evaluation protocol,
        items seen in training; content-aware models add items they can score from text.
    """

    #: Whether ``lam`` changes the scores (only the weighted-objective model).
    conditioned: bool = False

    train_: sp.csr_matrix
    candidates_: np.ndarray

    @abstractmethod
    def fit(self, train: InteractionData) -> Self:
        """Learn from ``train`` and return ``self``."""

    @abstractmethod
    def _score_known(self, users: np.ndarray, lam: float | None) -> np.ndarray:
        """Scores (float32, ``len(users)`` × n_items) of users known to the model."""

    def _check_train(self, train: InteractionData) -> None:
        """Refuse anything but non-empty :class:`InteractionData`, naming the model."""
        if not isinstance(train, InteractionData):
            raise TypeError(f"fit expects InteractionData, got {type(train).__name__}")
        if train.n_interactions == 0:
            raise DataError(f"{type(self).__name__}.fit: the training data hold no interactions")

    def _remember(self, train: InteractionData) -> None:
        self.train_ = train.matrix(binary=True)
        self.candidates_ = np.asarray(self.train_.getnnz(axis=0) > 0)

    @property
    def n_items(self) -> int:
        """Number of items the model scores."""
        return self.train_.shape[1]

    def score(self, users: np.ndarray | list[int], lam: float | None = None) -> np.ndarray:
        """Scores of ``users`` (indices) for every item; rows of unknown users (-1) are NaN."""
        users = np.asarray(users, dtype=np.int64)
        out = np.full((len(users), self.n_items), np.nan, dtype=np.float32)
        known = (users >= 0) & (users < self.train_.shape[0])
        if known.any():
            out[known] = self._score_known(users[known], lam)
        return out

    def recommend(
        self,
        users: np.ndarray | list[int],
        k: int,
        lam: float | None = None,
        exclude_seen: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores per user, best first.

        Only candidate items are returned; with ``exclude_seen`` the user's training items are
        left out. Unknown users get index ``-1`` and score ``-inf`` throughout.
        """
        users = np.asarray(users, dtype=np.int64)
        all_idx, all_val = [], []
        rows_per_batch = batch_rows(self.n_items)
        for start in range(0, len(users), rows_per_batch):
            batch = users[start : start + rows_per_batch]
            s = self.score(batch, lam)
            s[:, ~self.candidates_] = -np.inf
            s[np.isnan(s)] = -np.inf
            if exclude_seen:
                known = (batch >= 0) & (batch < self.train_.shape[0])
                rows = np.flatnonzero(known)
                seen = self.train_[batch[known]].tocoo()
                s[rows[seen.row], seen.col] = -np.inf
            idx, val = top_k(s, k)
            all_idx.append(idx)
            all_val.append(val)
        if not all_idx:
            return np.empty((0, k), np.int64), np.empty((0, k), np.float32)
        return np.vstack(all_idx), np.vstack(all_val)

    def recommend_items(
        self,
        users: np.ndarray | list[int],
        k: int,
        lam: float | None = None,
        exclude_seen: bool = True,
    ) -> np.ndarray:
        """The items of :meth:`recommend` alone, int64 ``(n, k)``: for callers that do not
        read the scores (the evaluation), which a model may then skip finding."""
        return self.recommend(users, k, lam=lam, exclude_seen=exclude_seen)[0]


def score_newcomers(train: sp.csr_matrix, rows: sp.csr_matrix, scores: np.ndarray) -> np.ndarray:
    """``scores`` (one row per row of ``rows``) with the rows of users who have no history
    replaced by item popularity, ``log(1 + training users of the item) / 1000``.

    Such users (first seen after the fit, or a new user with nothing yet) would otherwise
    get an arbitrary order of equal scores, which any popularity penalty above 0 turns into
    the least popular items first. On the retail log's temporal split they were 27 % of
    validation users: the arbitrary order read ndcg@10 0.038 on them, popularity 0.074, and
    any penalty 0.0007. The scale (at most about 0.01) keeps the scores apart from the
    relevance of users with a history.

    >>> train = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    >>> rows = sp.csr_matrix(np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    >>> out = score_newcomers(train, rows, np.full((2, 3), 7.0, dtype=np.float32))
    >>> [[round(float(v) * 1000, 3) for v in row] for row in out]
    [[1.099, 0.693, 0.0], [7000.0, 7000.0, 7000.0]]
    """
    empty = np.diff(rows.indptr) == 0
    if empty.any():
        counts = np.asarray(train.getnnz(axis=0), dtype=np.float32)
        scores[empty] = np.log1p(counts) / np.float32(1000.0)
    return scores
