"""Neighbourhood-restricted EASE/EDLAE: the closed-form base for catalogues too large for a
dense items × items solve.

The dense model (:class:`~recolab.models.linear.LinearAutoencoder`) inverts ``G + Λ`` with
``G = Xᵀ D_U^{-β} X``: ``n²`` memory and ``n³`` time, 80 GB at 10⁵ items. With a zero
diagonal, column ``j`` of EASE/EDLAE's weights is the ridge regression of item ``j`` on the
other items, ``b = (G_NN + Λ_N)⁻¹ G_Nj`` with ``N`` = every item but ``j`` (Steck 2019).
Here ``N`` is restricted to the ``m`` items that co-occur most with ``j`` (the largest
entries of row ``j`` of the sparse ``G``), so each column needs one ``m × m`` solve and
``W`` has at most ``m`` nonzeros per column — the top-k sparsified Gram of issue 16; with
``m ≥ n − 1`` every item is a neighbour and the weights equal dense EASE's. Items that
never co-occur with ``j`` are never among its neighbours (unless ``m`` covers the whole
catalogue). The popularity normalisation ``item_norm`` (DAN) scales the sparse ``W`` the
same way as the dense model.

Cost: the sparse Gram has at most ``Σ_i min(n, Σ_{u ∋ i} n_u) ≤ min(Σ_u n_u², n²)``
entries (``n_u`` = items of user ``u``), computed by one SciPy sparse product whose memory
is its output (SciPy counts the entries first, then fills them): float32 values and int32
indices, 8 bytes an entry. Each batch of neighbourhood systems is read from it row by row
(every Gram row the batch touches is searched once), with no lookup index of its own; the
solves are batched on torch (float64 on CPU, float32 on a GPU), ``n · m³`` flops. The memory plan
(:func:`sparse_plan`) is checked before anything large is allocated; a plan that does not
fit is a :class:`~recolab.errors.DataError` naming the size.

Why not the ``sansa`` package (Spišák et al., RecSys 2023, Apache-2.0), which approximates
the inverse of the same Gram: it requires ``scikit-sparse`` (CHOLMOD), which PyPI ships only
as source and which needs SuiteSparse headers and a compiler (not present here); it is not
installable from wheels alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
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

logger = logging.getLogger(__name__)

#: Neighbours per item (nonzero weights per column of ``W``) by default.
DEFAULT_NEIGHBOURS = 64
#: Catalogues above this many items get the sparse base in :func:`make_linear_base`: a dense
#: solve is ≈ n³ flops (≈ 2.5 min per fit at 20 k items on one CPU thread in float32, 8 ×
#: the 18 s measured at 10 k; about ten fits in a tuned pipeline) and 3 × 4 × n² bytes
#: (4.8 GB at 20 k items).
SPARSE_ABOVE_ITEMS = 20_000
#: Bytes per stored Gram entry: float32 value and int32 column index (int64 when the Gram
#: has 2³¹ entries or more, as SciPy then indexes it).
_GRAM_ENTRY_BYTES = 8
_GRAM_ENTRY_BYTES_LARGE = 12
#: Pairs (user-level products) per block when the Gram's entries are counted exactly.
_COUNT_BLOCK_PRODUCTS = 2**25
#: Bytes of the batched ``m × m`` systems alive at once (bounds a batch's size).
_BATCH_BYTES = 128 * 2**20
#: Bytes per looked-up Gram entry of a batch: the system it fills, its column, the position
#: found and the value (8 bytes each), with room for NumPy's temporaries.
_QUERY_BYTES = 48


@dataclass(frozen=True)
class SparsePlan:
    """Memory a neighbourhood fit needs, known before allocating."""

    n_items: int
    gram_entries: int
    neighbours: int

    @property
    def bytes(self) -> int:
        """Peak bytes: the sparse Gram, ``W`` and one solve batch."""
        weights = 16 * self.n_items * self.neighbours
        large = self.gram_entries >= 2**31
        per_entry = _GRAM_ENTRY_BYTES_LARGE if large else _GRAM_ENTRY_BYTES
        return per_entry * self.gram_entries + weights + _BATCH_BYTES


def sparse_plan(x: sp.csr_matrix, neighbours: int) -> SparsePlan:
    """The plan for users × items ``x``: row ``i`` of the Gram has at most
    ``min(n, Σ_{u ∋ i} n_u)`` entries, so the Gram at most ``Σ_i min(n, Σ_{u ∋ i} n_u)``
    (≤ ``min(Σ_u n_u², n²)``), computed without forming any pair."""
    n_u = np.asarray(x.getnnz(axis=1), dtype=np.float64)
    n = int(x.shape[1])
    per_item = np.asarray(x.T @ n_u).ravel()  # Σ_{u ∋ i} n_u for binary x
    entries = int(np.minimum(per_item, n).sum())
    return SparsePlan(n, entries, min(neighbours, max(n - 1, 1)))


def exact_sparse_plan(x: sp.csr_matrix, neighbours: int) -> SparsePlan:
    """:func:`sparse_plan` with the Gram's exact number of entries, counted in blocks of
    items (each block's product holds at most :data:`_COUNT_BLOCK_PRODUCTS` pairs and is
    dropped once counted): as slow as building the Gram once, used only when the bound of
    :func:`sparse_plan` does not fit."""
    n = int(x.shape[1])
    x = x.astype(np.float32)
    xt = x.T.tocsr()
    n_u = np.asarray(x.getnnz(axis=1), dtype=np.float64)
    per_item = np.asarray(xt @ n_u).ravel()
    entries, start = 0, 0
    while start < n:
        cum = np.cumsum(per_item[start:])
        stop = start + max(1, int(np.searchsorted(cum, _COUNT_BLOCK_PRODUCTS)))
        entries += int((xt[start:stop] @ x).nnz)
        start = stop
    return SparsePlan(n, entries, min(neighbours, max(n - 1, 1)))


def check_sparse_fits(plan: SparsePlan) -> None:
    """Raise :class:`DataError` naming the size when ``plan`` would not fit in memory."""
    short = memory_shortfall(plan.bytes)
    if short is not None:
        raise DataError(
            f"the sparse item × item Gram for {plan.n_items:,} items ({plan.gram_entries:,} "
            f"entries at most) {short}; keep fewer items or users, or use a machine with "
            "more memory"
        )


def sparse_gram(x: sp.csr_matrix, user_norm: float) -> sp.csr_matrix:
    """Sparse float32 ``Xᵀ D_U^{-β} X`` (CSR, sorted indices, explicit zeros dropped).

    float32 holds co-occurrence counts exactly up to 2²⁴; the solves read it into float64
    (on a CPU), so it halves the Gram's memory at a relative rounding of 10⁻⁷."""
    x = x.astype(np.float32)
    xt = x.T.tocsr()
    if user_norm > 0:
        counts = np.asarray(x.getnnz(axis=1), dtype=np.float64)
        scale = np.power(np.maximum(counts, 1.0), -user_norm).astype(np.float32)
        x = (sp.diags(scale) @ x).astype(np.float32)
    gram = (xt @ x).tocsr()
    gram.sum_duplicates()
    gram.sort_indices()
    return gram


def neighbourhoods(gram: sp.csr_matrix, m: int) -> np.ndarray:
    """``n × m`` int64: each item's ``m`` largest off-diagonal Gram entries' columns in
    ascending order (so that each item's lookups in :func:`neighbourhood_weights` are
    sorted), padded with ``-1`` at the end; with ``m ≥ n − 1``, every other item."""
    n = gram.shape[0]
    if m >= n - 1:
        full = np.tile(np.arange(n, dtype=np.int64), (n, 1))
        return full[~np.eye(n, dtype=bool)].reshape(n, n - 1)
    out = np.full((n, m), -1, dtype=np.int64)
    indptr, indices, data = gram.indptr, gram.indices, gram.data
    for j in range(n):
        cols = indices[indptr[j] : indptr[j + 1]]
        vals = data[indptr[j] : indptr[j + 1]]
        keep = cols != j
        cols, vals = cols[keep], vals[keep]
        if len(cols) > m:
            top = np.argpartition(-vals, m - 1)[:m]
            cols = cols[top]
        out[j, : len(cols)] = np.sort(cols)
    return out


def _gram_among(gram: sp.csr_matrix, hood: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``(b, m, m + 1)``: ``G[hood[t, i], hood[t, k]]`` for ``k < m`` and
    ``G[hood[t, i], targets[t]]`` last (0 where absent, or where ``hood`` is ``-1``).

    The queries are grouped by Gram row: each row a batch touches (the neighbours it shares,
    mostly popular items) is searched once for all the columns asked of it, with no index
    beyond the Gram's own."""
    b, m = hood.shape
    asked = np.concatenate([hood, targets[:, None]], axis=1)  # each (t, i) asks these
    out = np.zeros((b, m, m + 1), dtype=np.float64)
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
        cols = asked[t]
        seg = indices[lo:hi]
        pos = np.minimum(np.searchsorted(seg, cols), hi - lo - 1)
        hit = (seg[pos] == cols) & (cols >= 0)
        out[t, i] = np.where(hit, data[lo:hi][pos], 0.0)
    return out


def neighbourhood_weights(
    gram: sp.csr_matrix,
    hoods: np.ndarray,
    item_counts: np.ndarray,
    params: LinearParams,
    device: torch.device,
) -> sp.csc_matrix:
    """``W`` (items × items, CSC float32): column ``j`` holds ``(G_NN + Λ_N)⁻¹ G_Nj`` on
    ``N = hoods[j]`` (``-1``: padding, weight 0), then DAN's item normalisation."""
    n, m = hoods.shape
    dtype = torch.float64 if device.type == "cpu" else torch.float32
    diag = gram.diagonal()
    penalty = params.l2 + params.dropout / (1.0 - params.dropout) * diag
    values = np.zeros((n, m), dtype=np.float32)
    batch = max(1, _BATCH_BYTES // (_QUERY_BYTES * max(m, 1) ** 2))
    for start in range(0, n, batch):
        hood = hoods[start : start + batch]
        valid = hood >= 0
        safe = np.where(valid, hood, 0)
        systems = _gram_among(gram, hood, np.arange(start, start + len(hood)))
        a, rhs = systems[:, :, :m], systems[:, :, m]
        eye = np.arange(m)
        a[:, eye, eye] += np.where(valid, penalty[safe], 1.0)
        sol = _batched_solve(a, rhs, dtype, device)
        values[start : start + len(hood)] = np.where(valid, sol, 0.0)
    cols = np.repeat(np.arange(n, dtype=np.int64), m)
    flat = hoods.ravel()
    keep = (flat >= 0) & (values.ravel() != 0)
    w = sp.csc_matrix((values.ravel()[keep], (flat[keep], cols[keep])), shape=(n, n))
    w = _item_normalised(w, item_counts, params.item_norm)
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


def _item_normalised(w: sp.csc_matrix, item_counts: np.ndarray, item_norm: float) -> sp.csc_matrix:
    """``D_I^{γ} W D_I^{−γ}`` with ``D_I`` the items' interaction counts (as the dense model)."""
    if item_norm <= 0:
        return w.astype(np.float32)
    counts = np.power(np.maximum(item_counts, 1.0), item_norm)
    return (sp.diags(counts) @ w @ sp.diags(1.0 / counts)).tocsc().astype(np.float32)


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
        """Check the memory plan, build the sparse Gram, solve each neighbourhood; ``self``."""
        self._check_train(train)
        device = resolve_device(self.device)
        x = train.matrix(binary=True)
        self.plan_ = sparse_plan(x, self.neighbours)
        if memory_shortfall(self.plan_.bytes) is not None:  # the bound is loose: count
            self.plan_ = exact_sparse_plan(x, self.neighbours)
        check_sparse_fits(self.plan_)
        self._remember(train)
        self.purchases_ = None
        gram = sparse_gram(self.train_, self.params.user_norm)
        hoods = neighbourhoods(gram, self.plan_.neighbours)
        counts = np.asarray(self.train_.getnnz(axis=0), dtype=np.float64)
        self.weights_ = neighbourhood_weights(gram, hoods, counts, self.params, device)
        logger.info(
            "sparse linear autoencoder fitted: %d items, %d Gram entries, %d neighbours, %s",
            self.n_items,
            gram.nnz,
            self.plan_.neighbours,
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
    params: LinearParams, n_items: int, device: str = "auto", n_users: int = 0
) -> LinearAutoencoder:
    """The closed-form base for ``n_users`` × ``n_items``: dense while :func:`dense_fits`,
    else :class:`SparseLinearAutoencoder` (a plan too large for it is refused when it is
    fitted, naming the size)."""
    if dense_fits(n_items, device, n_users):
        return LinearAutoencoder(params, device=device)
    logger.info("%d items: the sparse neighbourhood base replaces the dense solve", n_items)
    return SparseLinearAutoencoder(params, device=device)
