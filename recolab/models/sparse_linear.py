"""Neighbourhood-restricted EASE/EDLAE: the closed-form base for catalogues too large for a
dense items × items solve.

The dense model (:class:`~recolab.models.linear.LinearAutoencoder`) inverts ``G + Λ`` with
``G = Xᵀ D_U^{-β} X``: ``n²`` memory and ``n³`` time, 80 GB at 10⁵ items. With a zero
diagonal, column ``j`` of EASE/EDLAE's weights is the ridge regression of item ``j`` on the
other items, ``b = (G_NN + Λ_N)⁻¹ G_Nj`` with ``N`` = every item but ``j`` (Steck 2019).
Here ``N`` is restricted to the ``m`` items nearest to ``j`` by the cosine of
co-occurrence, ``G_ij / √(G_ii G_jj)`` (not the largest ``G_ij``, which picks the popular
items for everyone; see :func:`~recolab.models.neighbour_gram.top_neighbours`), so each
column needs one ``m × m`` solve and
``W`` has at most ``m`` nonzeros per column — the top-k sparsified Gram of issue 16; with
``m ≥ n − 1`` every item is a neighbour and the weights equal dense EASE's. Items that
never co-occur with ``j`` are never among its neighbours (unless ``m`` covers the whole
catalogue). The popularity normalisation ``item_norm`` (DAN) scales the sparse ``W`` the
same way as the dense model.

Cost: the whole sparse Gram is never held. :mod:`recolab.models.neighbour_gram` computes it
a block of rows at a time, twice: once for each item's ``m`` nearest items (its neighbours
and right-hand side), once for the entries among neighbours, the only ones the systems read
(their upper triangle, a few per cent of the 4.6·10⁸ entries at 10⁷ interactions × 10⁵
items, written once where the solves read them), so memory grows with the data and the
neighbourhoods. Each batch of neighbourhood systems is looked up in those with no index of
its own (:func:`_gram_among`: row by row, or gathered when the rows are short); the solves
are batched on torch (float64 on CPU, float32 on a GPU), ``n · m³`` flops. The memory plan
(:func:`sparse_plan`) is checked before anything large is allocated (with the entries among
neighbours counted exactly when their bound does not fit); a plan that does not fit is a
:class:`~recolab.errors.DataError` naming the size.

Why not the ``sansa`` package (Spišák et al., RecSys 2023, Apache-2.0), which approximates
the inverse of the same Gram: it requires ``scikit-sparse`` (CHOLMOD), which PyPI ships only
as source and which needs SuiteSparse headers and a compiler (not present here); it is not
installable from wheels alone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch

from recolab.data.interactions import InteractionData
from recolab.device import resolve_device
from recolab.errors import DataError, TrainingError
from recolab.memory import memory_shortfall
from recolab.models.dual import dual_shortfall, prefers_dual
from recolab.models.linear import (
    LinearAutoencoder,
    LinearParams,
    add_to_diagonal,
    solve_memory_bytes,
)
from recolab.models.neighbour_gram import (
    Neighbours,
    count_among_neighbours,
    item_sums,
    kept_gram,
    row_bounds,
    top_neighbours,
    user_scale,
)

logger = logging.getLogger(__name__)

#: Neighbours per item (nonzero weights per column of ``W``) by default: where the default
#: pipeline starts choosing them on validation (:func:`recolab.tuning.sparsity.choose_neighbours`).
DEFAULT_NEIGHBOURS = 64
#: Catalogues above this many items get the sparse base in :func:`make_linear_base`: a dense
#: solve is ≈ n³ flops (≈ 2.5 min per fit at 20 k items on one CPU thread in float32, 8 ×
#: the 18 s measured at 10 k; about ten fits in a tuned pipeline) and 3 × 4 × n² bytes
#: (4.8 GB at 20 k items).
SPARSE_ABOVE_ITEMS = 20_000
#: Bytes per stored Gram entry (float32 value, int32 column index) or interaction.
_ENTRY_BYTES = 8
#: Blocks of Gram rows hold at most the data's entries / this many (by their bound)…
_BLOCKS_PER_DATA = 8
#: … and at least this many (so that small data are read in a few blocks).
_MIN_BLOCK_ENTRIES = 2**20
#: Bytes per neighbour slot (``n × m``) of the neighbourhoods' incidence and its transpose
#: (a bool value and an int32 index each).
_INCIDENCE_BYTES = 10
#: Bytes of the batched ``m × m`` systems alive at once (bounds a batch's size).
_BATCH_BYTES = 32 * 2**20
#: Gathered lookups when the touched rows hold fewer entries than this per row on average
#: (a row searched in place costs about as much as this many gathered entries)…
_GATHER_PER_ROW = 600
#: … and their keys (int64), values and positions fit in :data:`_BATCH_BYTES` (else the
#: batch is halved).
_KEY_BYTES = 20
#: Bytes per looked-up Gram entry of a batch: the system it fills, its column, the position
#: found and the value (8 bytes each), with room for NumPy's temporaries.
_QUERY_BYTES = 48


@dataclass(frozen=True)
class SparsePlan:
    """Memory a neighbourhood fit needs, known before allocating."""

    n_items: int
    interactions: int
    neighbours: int
    #: Entries of the whole Gram at most (never held: it bounds one block of rows).
    gram_entries: int
    #: Gram entries among neighbours kept for the systems (an upper triangle): a bound
    #: (:func:`sparse_plan`) until :func:`count_among_neighbours` counts them.
    kept_entries: int

    @property
    def block_entries(self) -> int:
        """Gram entries computed at once (one block of rows, by their bound)."""
        share = max(_MIN_BLOCK_ENTRIES, self.interactions // _BLOCKS_PER_DATA)
        return max(1, min(share, self.gram_entries))

    @property
    def bytes(self) -> int:
        """Peak bytes: the neighbourhoods and their right-hand sides, alive throughout, and
        the largest phase: the first pass (the transposed data and one block: its product,
        the pattern it is read at, what is kept), the second (the neighbourhoods' incidence,
        the kept entries, written once where the solves read them, and one block), the
        solves (the kept entries and one batch), ``W`` assembled."""
        slots = self.n_items * self.neighbours
        block = 4 * _ENTRY_BYTES * self.block_entries
        kept = _ENTRY_BYTES * self.kept_entries
        phases = (
            _ENTRY_BYTES * self.interactions + block,
            _INCIDENCE_BYTES * slots + kept + block,
            kept + _BATCH_BYTES,
            2 * _ENTRY_BYTES * slots,
        )
        return _ENTRY_BYTES * slots + max(phases)


def sparse_plan(x: sp.csr_matrix, neighbours: int) -> SparsePlan:
    """The plan for users × items ``x``, before the neighbourhoods are known. The Gram's
    row ``i`` has at most ``min(n, Σ_{u ∋ i} n_u)`` entries; the entries kept (an upper
    triangle) are at most ``m (m + 1) / 2`` per item and at most half the Gram's with its
    diagonal. Computed without forming any pair."""
    n = int(x.shape[1])
    m = min(neighbours, max(n - 1, 1))
    gram = int(row_bounds(x).sum())
    kept = min(n * m * (m + 1) // 2, (gram + n) // 2)
    return SparsePlan(n, int(x.nnz), m, gram, kept)


def counted_plan(plan: SparsePlan, hoods: np.ndarray) -> SparsePlan:
    """``plan`` with the entries among ``hoods`` counted exactly (a pass over the
    neighbourhoods' incidence, no Gram): used when the bound of :func:`sparse_plan` does not
    fit."""
    return replace(plan, kept_entries=count_among_neighbours(hoods, plan.block_entries))


def check_sparse_fits(plan: SparsePlan) -> None:
    """Raise :class:`DataError` naming the size when ``plan`` would not fit in memory."""
    short = memory_shortfall(plan.bytes)
    if short is not None:
        raise DataError(
            f"the neighbourhood systems for {plan.n_items:,} items ({plan.kept_entries:,} "
            f"Gram entries among neighbours at most) {short}; keep fewer items or users, "
            "or use a machine with more memory"
        )


def _gram_among(gram: sp.csr_matrix, hood: np.ndarray) -> np.ndarray:
    """``(b, m, m)``: ``G[hood[t, i], hood[t, k]]`` (0 where absent, or where ``hood`` is
    ``-1``), from the upper triangle ``gram`` (:func:`~recolab.models.neighbour_gram.kept_gram`).

    ``hood[t]`` is ascending before its padding, so ``[t, i, k]`` with ``i ≤ k`` is in row
    ``hood[t, i]`` and the rest is its mirror image. Two ways to find the entries, with no
    index beyond the Gram's own: when the rows the batch touches are short (neighbourhoods
    that share few rows), they are gathered into one sorted key array searched once
    (:func:`_among_gathered`); when they are long (popular rows shared by many
    neighbourhoods), each is searched in place for all the columns asked of it
    (:func:`_among_by_rows`). At 10⁷ interactions, one way took 45 and 107 s, the other 204
    and 65 s, on neighbourhoods by raw co-occurrence and by cosine."""
    out = _upper_among(gram, hood)
    m = hood.shape[1]
    out *= np.triu(np.ones((m, m), dtype=bool))
    out += np.swapaxes(out, 1, 2) * ~np.eye(m, dtype=bool)
    return out


def _upper_among(gram: sp.csr_matrix, hood: np.ndarray) -> np.ndarray:
    """:func:`_gram_among`'s entries in rows ``hood[t, i]``, each way where it is cheaper;
    a batch whose gathered keys would not fit :data:`_BATCH_BYTES` is halved."""
    rows = np.unique(hood[hood >= 0])
    lengths = gram.indptr[rows + 1] - gram.indptr[rows]
    gathered = int(lengths.sum())
    if gathered >= _GATHER_PER_ROW * len(rows):
        return _among_by_rows(gram, hood)
    if _KEY_BYTES * gathered > _BATCH_BYTES and len(hood) > 1:
        half = len(hood) // 2
        return np.concatenate([_upper_among(gram, hood[:half]), _upper_among(gram, hood[half:])])
    return _among_gathered(gram, hood, rows, lengths)


def _among_by_rows(gram: sp.csr_matrix, hood: np.ndarray) -> np.ndarray:
    """The entries of :func:`_gram_among` in row ``hood[t, i]`` (upper triangle), each row
    searched once for every column asked of it."""
    b, m = hood.shape
    out = np.zeros((b, m, m), dtype=np.float64)
    flat = hood.ravel()
    order = np.argsort(flat, kind="stable")
    row_of = flat[order]
    cuts = np.flatnonzero(np.diff(row_of)) + 1
    indptr, indices, data = gram.indptr, gram.indices, gram.data
    for lo_g, hi_g in zip(np.r_[0, cuts], np.r_[cuts, len(flat)], strict=True):
        row = int(row_of[lo_g])
        lo, hi = int(indptr[max(row, 0)]), int(indptr[max(row, 0) + 1])
        if row < 0 or hi == lo:
            continue
        groups = order[lo_g:hi_g]
        t, i = np.divmod(groups, m)
        cols = hood[t]
        seg = indices[lo:hi]
        pos = np.minimum(np.searchsorted(seg, cols), hi - lo - 1)
        hit = (seg[pos] == cols) & (cols >= 0)
        out[t, i] = np.where(hit, data[lo:hi][pos], 0.0)
    return out


def _among_gathered(
    gram: sp.csr_matrix, hood: np.ndarray, rows: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """The entries of :func:`_gram_among` in row ``hood[t, i]`` (upper triangle): the
    touched ``rows`` (ascending; ``lengths``: their entries) keyed by (row, column) in one
    sorted array, every entry found by one binary search."""
    n = gram.shape[1]
    valid = hood >= 0
    starts = gram.indptr[rows]
    offsets = np.cumsum(lengths) - lengths
    where = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - offsets, lengths)
    keys = np.repeat(np.arange(len(rows), dtype=np.int64) * n, lengths) + gram.indices[where]
    keys = np.append(keys, np.iinfo(np.int64).max)  # a sentinel: every search lands in range
    values = np.append(gram.data[where], np.float32(0))
    asked = (np.searchsorted(rows, hood) * n)[:, :, None] + hood[:, None, :]
    pos = np.searchsorted(keys, asked)
    hit = (keys[pos] == asked) & valid[:, :, None] & valid[:, None, :]
    return np.where(hit, values[pos], 0.0)


def neighbourhood_weights(
    gram: sp.csr_matrix, near: Neighbours, params: LinearParams, device: torch.device
) -> np.ndarray:
    """``n × m`` float32: row ``j`` holds ``(G_NN + Λ_N)⁻¹ G_Nj`` on ``N = near.hoods[j]``
    (``-1``: padding, weight 0), solved in ``near.rhs`` (overwritten); ``gram`` needs only
    the upper triangle among neighbours (:func:`~recolab.models.neighbour_gram.kept_gram`)."""
    hoods, rhs = near.hoods, near.rhs
    n, m = hoods.shape
    dtype = torch.float64 if device.type == "cpu" else torch.float32
    penalty = params.l2 + params.dropout / (1.0 - params.dropout) * near.diag
    batch = max(1, _BATCH_BYTES // (_QUERY_BYTES * max(m, 1) ** 2))
    eye = np.arange(m)
    for start in range(0, n, batch):
        hood = hoods[start : start + batch]
        valid = hood >= 0
        a = _gram_among(gram, hood)
        a[:, eye, eye] += np.where(valid, penalty[np.where(valid, hood, 0)], 1.0)
        sol = _batched_solve(a, rhs[start : start + batch], dtype, device)
        rhs[start : start + batch] = np.where(valid, sol, 0.0)
    return rhs


def sparse_weights(
    hoods: np.ndarray, values: np.ndarray, item_counts: np.ndarray, params: LinearParams
) -> sp.csc_matrix:
    """``W`` (items × items, CSC float32) with column ``j`` = ``values[j]`` at rows
    ``hoods[j]`` (zeros and padding left out), then DAN's item normalisation and the
    own-item weight."""
    n = hoods.shape[0]
    keep = (hoods >= 0) & (values != 0)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    w = sp.csc_matrix((values[keep], hoods[keep], indptr), shape=(n, n))
    _item_normalise(w, item_counts, params.item_norm)
    return add_to_diagonal(w, params.repeat_weight)


def _batched_solve(
    a: np.ndarray, rhs: np.ndarray, dtype: torch.dtype, device: torch.device
) -> np.ndarray:
    at = torch.as_tensor(a, dtype=dtype, device=device)
    bt = torch.as_tensor(rhs, dtype=dtype, device=device)[:, :, None]
    factor, info = torch.linalg.cholesky_ex(at)
    if bool((info != 0).any()):  # pragma: no cover - l2 > 0 makes every system SPD
        raise TrainingError("a neighbourhood system of the sparse linear model is singular")
    return torch.cholesky_solve(bt, factor)[:, :, 0].cpu().numpy()


def _item_normalise(w: sp.csc_matrix, item_counts: np.ndarray, item_norm: float) -> None:
    """``W ← D_I^{γ} W D_I^{−γ}`` in place, ``D_I`` the items' interaction counts (as the
    dense model)."""
    if item_norm <= 0:
        return
    counts = np.power(np.maximum(item_counts, 1.0), item_norm)
    cols = np.repeat(np.arange(w.shape[1]), np.diff(w.indptr))
    scaled = w.data.astype(np.float64) * counts[w.indices] * (1.0 / counts)[cols]
    w.data[:] = scaled.astype(np.float32)


class SparseLinearAutoencoder(LinearAutoencoder):
    """EASE/EDLAE/DAN with each item's weights restricted to its ``neighbours`` most
    co-occurring items (see the module docstring); sparse ``W``.

    Parameters
    ----------
    params:
        A :class:`~recolab.models.linear.LinearParams` (``zero_diagonal`` must be true;
        ``top_k`` is ignored: ``neighbours`` bounds each column).
    neighbours:
        ``m``, nonzero weights per column of ``W`` at most (default
        :data:`DEFAULT_NEIGHBOURS`).
    device:
        ``"auto"``, ``"cpu"`` or ``"cuda"``: where the batched solves run.

    Attributes
    ----------
    weights_:
        ``scipy.sparse.csc_matrix`` float32, n_items × n_items; scores are ``X_u W``.
    plan_:
        The :class:`SparsePlan` checked before fitting.
    fit_seconds_:
        Wall time of the fit.

    Examples
    --------
    >>> import pandas as pd
    >>> from recolab.data import build_interactions
    >>> frame = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "y", "y"], "value": 1.0})
    >>> data = build_interactions(frame, kind="implicit")
    >>> SparseLinearAutoencoder(l2=1.0, neighbours=1).fit(data).weights_.shape
    (2, 2)
    """

    def __init__(
        self,
        params: LinearParams | None = None,
        *,
        neighbours: int | None = None,
        device: str = "auto",
        **options: Any,
    ) -> None:
        super().__init__(params, device=device, **options)
        if not self.params.zero_diagonal:
            raise ValueError("the sparse linear model needs zero_diagonal=True (EASE/EDLAE)")
        neighbours = DEFAULT_NEIGHBOURS if neighbours is None else neighbours
        if neighbours < 1 or int(neighbours) != neighbours:
            raise ValueError(f"neighbours must be a whole number ≥ 1, got {neighbours!r}")
        self.neighbours = int(neighbours)

    def fit(self, train: InteractionData) -> Self:
        """Check the memory plan, find each item's neighbours and the Gram entries among
        them (:mod:`recolab.models.neighbour_gram`), solve each neighbourhood; ``self``."""
        start = time.perf_counter()
        self._check_train(train)
        device = resolve_device(self.device)
        x = train.matrix(binary=True)
        plan = sparse_plan(x, self.neighbours)
        loose = memory_shortfall(plan.bytes) is not None  # then count before allocating
        check_sparse_fits(replace(plan, kept_entries=0) if loose else plan)
        self._remember(train)
        self.purchases_ = None
        scale = user_scale(self.train_, self.params.user_norm)
        counts = item_sums(self.train_)  # for DAN's item normalisation
        m, budget = plan.neighbours, plan.block_entries
        near = top_neighbours(self.train_, scale, m, budget)
        if loose:
            plan = counted_plan(plan, near.hoods)
            check_sparse_fits(plan)
        self.plan_ = plan
        gram = kept_gram(self.train_, scale, near, budget, plan.kept_entries)
        kept = gram.nnz
        values = neighbourhood_weights(gram, near, self.params, device)
        del gram  # before W is assembled
        self.weights_ = sparse_weights(near.hoods, values, counts, self.params)
        self.fit_seconds_ = time.perf_counter() - start
        logger.info(
            "sparse linear autoencoder fitted: %d items, %d Gram entries among %d neighbours, %s",
            self.n_items,
            kept,
            plan.neighbours,
            self.params,
        )
        return self

    @classmethod
    def from_weights(
        cls, weights: Any, train: InteractionData, params: LinearParams
    ) -> SparseLinearAutoencoder:
        """A fitted model from stored (sparse) weights."""
        model = cls(params, device="cpu")
        model._remember(train)
        if weights.shape != (train.n_items, train.n_items):
            raise ValueError(f"weights of shape {weights.shape} do not match {train.n_items} items")
        model.weights_ = sp.csc_matrix(weights, dtype=np.float32)
        return model


def dense_fits(n_items: int, device: str | torch.device = "auto", n_users: int = 0) -> bool:
    """Whether the dense base is the one to use: solved in dual form for ``n_users`` fewer
    than the items (:mod:`recolab.models.dual`) when that fits in memory, else at most
    :data:`SPARSE_ABOVE_ITEMS` items and a primal solve that fits."""
    dev = resolve_device(str(device)) if not isinstance(device, torch.device) else device
    if prefers_dual(n_users, n_items) and dual_shortfall(n_users, n_items, dev) is None:
        return True
    if n_items > SPARSE_ABOVE_ITEMS:
        return False
    return memory_shortfall(solve_memory_bytes(n_items, dev), dev) is None


def make_linear_base(
    params: LinearParams,
    n_items: int,
    device: str = "auto",
    n_users: int = 0,
    neighbours: int | None = None,
) -> LinearAutoencoder:
    """The closed-form base for ``n_users`` × ``n_items``: dense while :func:`dense_fits`,
    else :class:`SparseLinearAutoencoder` with ``neighbours`` per item (default
    :data:`DEFAULT_NEIGHBOURS`; a plan too large for it is refused when it is fitted,
    naming the size)."""
    if dense_fits(n_items, device, n_users):
        return LinearAutoencoder(params, device=device)
    logger.info("%d items: the sparse neighbourhood base replaces the dense solve", n_items)
    return SparseLinearAutoencoder(params, neighbours=neighbours, device=device)
