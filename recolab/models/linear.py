"""Closed-form linear autoencoders: EASE, EDLAE/DLAE and popularity-normalised variants.

One family, four knobs, all solved in closed form with torch in float32 on every device (on
the CPU, float64 took twice the time and memory and gave the same validation metrics, see
:func:`solve_weights`). With ``X`` the binary users × items matrix and ``c_i`` item i's
interaction count:

- ``G = Xᵀ D_U^{-β} X`` — the Gram matrix, each user's row weighed by ``n_u^{-β}``
  (``user_norm = β``; 0 gives the plain ``XᵀX``).
- ``Λ = l2·I + p/(1−p)·diag(G)`` — the L2 penalty plus the dropout emphasis of EDLAE
  (Steck, NeurIPS 2020); ``p = dropout`` → 0 gives EASE's ``l2·I``.
- ``P = (G + Λ)⁻¹`` and ``B = I − P·diag(1/diag(P))`` with ``diag(B) = 0`` (EASE/EDLAE), or
  ``B = I − P·Λ`` without the constraint (``zero_diagonal=False``, DLAE).
- ``W = D_I^{γ} B D_I^{−γ}`` — the item-side popularity normalisation of DAN (Park et al.,
  SIGIR 2025) with ``γ = item_norm``: target items are divided by ``c_j^γ``, so a larger γ
  leans the ranking away from popular items.

- ``repeat_weight = r`` adds ``r`` to the diagonal of ``W``: a user's own items score ``r``
  more, for repeat purchases (consumables; chosen on a validation split that keeps them,
  :func:`~recolab.tuning.repeat.choose_repeat_weight`). 0 (the default) leaves EASE's zero
  diagonal, for data where a user's own items are not recommended. With the users' purchase
  counts ``n_ui`` (:meth:`LinearAutoencoder.with_purchases`) an own item scores ``r·n_ui``
  more instead: the diagonal gives the first purchase, the counts the ones after it.

A user's scores are ``x_u W``. With fewer users than items the model is solved in its dual
form (:mod:`recolab.models.dual`: a users × users system, the same scores) and ``W`` is
formed only when asked for. With ``dropout = user_norm = item_norm = 0`` this is exactly
:class:`~recolab.models.ease.EASERecommender`. ``top_k > 0`` then keeps, in each column of
``W`` (one target item), only the ``top_k`` weights largest in magnitude, so the model is
stored sparse (:func:`prune_top_k`; the tuner picks ``top_k`` on validation).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch

from recolab.data.interactions import InteractionData
from recolab.device import resolve_device
from recolab.errors import DataError, TrainingError
from recolab.memory import memory_shortfall
from recolab.models.base import Recommender, score_newcomers
from recolab.models.dual import (
    DualFactors,
    add_sparse,
    check_dual_fits,
    dual_shortfall,
    prefers_dual,
)

logger = logging.getLogger(__name__)

#: Dense item × item matrices alive at once while solving (Gram/inverse, identity, weights).
_DENSE_COPIES = 3


@dataclass(frozen=True)
class LinearParams:
    """Hyperparameters of :class:`LinearAutoencoder` (see the module docstring)."""

    l2: float = 400.0
    dropout: float = 0.0
    user_norm: float = 0.0
    item_norm: float = 0.0
    zero_diagonal: bool = True
    top_k: int = 0
    repeat_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.top_k < 0 or int(self.top_k) != self.top_k:
            raise ValueError(f"top_k must be a whole number ≥ 0 (0: dense), got {self.top_k!r}")
        object.__setattr__(self, "top_k", int(self.top_k))
        if not (np.isfinite(self.l2) and self.l2 > 0):
            raise ValueError(f"l2 must be a finite number > 0, got {self.l2!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        for name in ("user_norm", "item_norm"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        if not (np.isfinite(self.repeat_weight) and self.repeat_weight >= 0):
            raise ValueError(
                f"repeat_weight must be a finite number ≥ 0, got {self.repeat_weight!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready options."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinearParams:
        """Options from :meth:`to_dict` (unknown keys are an error)."""
        known = set(cls.__dataclass_fields__)
        extra = set(d) - known
        if extra:
            raise ValueError(f"unknown linear-model options: {sorted(extra)}")
        return cls(**d)


#: Columns pruned at once by :func:`prune_top_k` (bounds its temporary memory).
_PRUNE_BLOCK = 1024


def prune_top_k(weights: np.ndarray, k: int) -> np.ndarray:
    """A copy of ``weights`` keeping, in each column, the ``k`` entries largest in magnitude
    (ties: any of them) and zero elsewhere; ``k ≤ 0`` or ``k ≥`` rows keeps everything.

    >>> prune_top_k(np.array([[1.0, -3.0], [-2.0, 1.0], [0.5, 2.0]]), 1).tolist()
    [[0.0, -3.0], [-2.0, 0.0], [0.0, 0.0]]
    """
    n_rows, n_cols = weights.shape
    if k <= 0 or k >= n_rows:
        return weights.copy()
    out = np.zeros_like(weights)
    for start in range(0, n_cols, _PRUNE_BLOCK):
        block = weights[:, start : start + _PRUNE_BLOCK]
        rows = np.argpartition(-np.abs(block), k - 1, axis=0)[:k]
        cols = np.arange(block.shape[1])[None, :]
        out[rows, start + cols] = block[rows, cols]
    return out


def add_to_diagonal(weights: Any, value: float) -> Any:
    """``weights`` (dense array or SciPy sparse, float32) with ``value`` added to its
    diagonal: a copy, or ``weights`` itself when ``value`` is 0."""
    if value == 0:
        return weights
    if sp.issparse(weights):
        eye = sp.identity(weights.shape[0], dtype=np.float32, format="csc")
        return (weights + np.float32(value) * eye).astype(np.float32).tocsc()
    out = np.array(weights, dtype=np.float32)
    out[np.diag_indices_from(out)] += np.float32(value)
    return out


def binary_rows(history: sp.csr_matrix) -> sp.csr_matrix:
    """``history`` with every stored entry set to 1 (a float32 copy).

    >>> binary_rows(sp.csr_matrix(np.array([[0.0, 3.0, 1.0]]))).toarray().tolist()
    [[0.0, 1.0, 1.0]]
    """
    out = sp.csr_matrix(history, dtype=np.float32, copy=True)
    out.data[:] = 1.0
    return out


def checked_purchases(purchases: sp.csr_matrix, train: sp.csr_matrix) -> sp.csr_matrix:
    """``purchases`` as float32 CSR after checking that it counts whole purchases (≥ 1) on
    exactly the pairs of the binary histories ``train``.

    >>> x = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 1.0]]))
    >>> checked_purchases(sp.csr_matrix(np.array([[3.0, 0], [1, 2]])), x).toarray().tolist()
    [[3.0, 0.0], [1.0, 2.0]]
    """
    counts = sp.csr_matrix(purchases, dtype=np.float32)
    counts.sum_duplicates()
    counts.eliminate_zeros()
    if counts.shape != train.shape:
        raise ValueError(f"purchase counts of shape {counts.shape} for histories {train.shape}")
    if counts.nnz and (not np.isfinite(counts.data).all() or counts.data.min() < 1):
        raise ValueError("purchase counts must be finite and at least 1")
    if counts.nnz != train.nnz or (counts.sign() != train.sign()).nnz:
        raise ValueError("purchase counts must cover exactly the pairs of the histories")
    return counts


def solve_memory_bytes(n_items: int, device: torch.device) -> int:
    """Bytes the dense solve for ``n_items`` items needs at its peak (float32 on every
    device)."""
    return _DENSE_COPIES * 4 * n_items * n_items


def check_solve_fits(n_items: int, device: torch.device, extra_bytes: int = 0) -> None:
    """Raise :class:`DataError` naming the size when the dense solve (plus ``extra_bytes``
    kept alongside it) would not fit."""
    short = memory_shortfall(solve_memory_bytes(n_items, device) + extra_bytes, device)
    if short is not None:
        raise DataError(
            f"the item × item solve for {n_items:,} items {short}; keep fewer items "
            "(e.g. drop the rarest) or use a machine with more memory"
        )


def gram_matrix(x: sp.csr_matrix, user_norm: float) -> np.ndarray:
    """Dense float32 ``Xᵀ D_U^{-β} X`` of a binary users × items matrix (co-occurrence counts
    are exact up to 2²⁴)."""
    x = x.astype(np.float32)
    if user_norm > 0:
        counts = np.asarray(x.sum(axis=1)).ravel()
        weight = np.power(np.maximum(counts, 1.0), -user_norm).astype(np.float32)
        x_weighted = sp.diags(weight) @ x
        return np.asarray((x_weighted.T @ x).toarray())
    return np.asarray((x.T @ x).toarray())


#: Builds the dense Gram matrix ``Xᵀ D_U^{-β} X`` from ``(x, user_norm)``.
GramBuilder = Callable[[sp.csr_matrix, float], np.ndarray]
#: The builder :class:`LinearAutoencoder` uses; ``None`` is this process's own
#: :func:`gram_matrix` (see :func:`gram_strategy`).
_gram_builder: GramBuilder | None = None


@contextmanager
def gram_strategy(builder: GramBuilder) -> Iterator[None]:
    """Within the block, every :class:`LinearAutoencoder` builds its Gram matrix with
    ``builder`` instead of :func:`gram_matrix` (e.g. a Gram matrix summed over the ranks of
    a distributed run, :func:`recolab.distributed.sharded_gram`); the previous builder is
    restored on leaving. Outside such a block nothing changes: one call, no indirection
    cost."""
    global _gram_builder
    previous, _gram_builder = _gram_builder, builder
    try:
        yield
    finally:
        _gram_builder = previous


def build_gram(x: sp.csr_matrix, user_norm: float) -> np.ndarray:
    """:func:`gram_matrix`, or the builder a :func:`gram_strategy` block installed."""
    if _gram_builder is None:
        return gram_matrix(x, user_norm)
    return _gram_builder(x, user_norm)


def solves_in_dual(n_users: int, n_items: int) -> bool:
    """Whether a dense (unpruned) model of ``n_users`` × ``n_items`` is solved in dual form:
    fewer users than items, and no :func:`gram_strategy` block building the Gram matrix (a
    distributed run sums item × item Gram matrices over its ranks)."""
    return prefers_dual(n_users, n_items) and _gram_builder is None


def solve_weights(
    gram: np.ndarray, item_counts: np.ndarray, params: LinearParams, device: torch.device
) -> np.ndarray:
    """The float32 weight matrix ``W`` from a dense Gram matrix (see the module docstring).

    Solved in float32 on the CPU as on a GPU: Cholesky and its inverse take half the time and
    memory of float64, and the penalty (l2 and the dropout emphasis, both a multiple of the
    Gram's diagonal) keeps the system well conditioned. Measured against float64 (2026-12-01):
    weights equal to 10⁻⁶ of their largest magnitude, validation metrics equal to every digit
    on synthetic data and the retail log, each start trial and the whole tuned pipeline.
    """
    dtype = torch.float32
    g = torch.as_tensor(gram, dtype=dtype, device=device)
    diag_g = torch.diagonal(g).clone()
    penalty = params.l2 + params.dropout / (1.0 - params.dropout) * diag_g
    g.diagonal().add_(penalty)
    try:
        factor = torch.linalg.cholesky(g)
    except torch.linalg.LinAlgError as exc:  # pragma: no cover - l2 > 0 makes it SPD
        raise TrainingError(f"the linear model's Gram matrix is not invertible: {exc}") from exc
    del g
    # P, turned into B in place. P is symmetric, so its transpose is P too, read row-major:
    # a user's scores x_u W then read W in its stored order without a copy (LAPACK's inverse
    # is column-major, and scipy would copy all of W on every scoring call)
    b = torch.cholesky_inverse(factor).mT
    del factor
    if params.zero_diagonal:
        b.div_(-torch.diagonal(b).clone()[None, :])  # −P / diag(P): negation is exact
        b.diagonal().zero_()
    else:
        b.mul_(-penalty[None, :])
        b.diagonal().add_(1.0)
    if params.item_norm > 0:
        counts = torch.as_tensor(np.maximum(item_counts, 1.0), dtype=dtype, device=device)
        scale = counts.pow(params.item_norm)
        b.mul_(scale[:, None]).div_(scale[None, :])
    w = b.contiguous()  # already row-major where the inverse is column-major (a no-op)
    del b
    if not all_finite(w):  # after the cast: also catches float32 overflow
        raise TrainingError("the linear model's weight matrix has non-finite entries")
    return w.cpu().numpy()


def all_finite(t: torch.Tensor) -> bool:
    """Whether every entry of ``t`` is finite: its smallest and largest entries are (NaN
    propagates through both). One pass without a mask: 25 ms where ``isfinite(t).all()``
    took 0.8 s on 10⁴ × 10⁴ float32, one thread."""
    if t.numel() == 0:
        return True
    return bool(torch.isfinite(torch.stack(torch.aminmax(t))).all())


def ease_weights(x: sp.csr_matrix, l2: float, device: str | torch.device = "cpu") -> np.ndarray:
    """Plain EASE weights (zero diagonal, float32) of a binary users × items matrix: the
    same torch solve as :class:`LinearAutoencoder`, after checking that it fits in memory.

    Every dense item × item solve in recolab goes through torch on purpose: the OpenBLAS
    bundled with NumPy and SciPy here ends the process with a segmentation fault on item ×
    item matrices from ≈ 15 k items with 2 threads (``x.T @ x`` and ``cho_factor`` alike;
    ``tests/models/test_dense_algebra.py``).
    """
    device = torch.device(device)
    check_solve_fits(x.shape[1], device)
    counts = np.asarray(x.getnnz(axis=0), dtype=np.float64)
    return solve_weights(gram_matrix(x, 0.0), counts, LinearParams(l2=l2), device)


class LinearAutoencoder(Recommender):
    """Closed-form linear autoencoder (EASE / EDLAE / DLAE / DAN-normalised).

    Parameters
    ----------
    params:
        A :class:`LinearParams`, or ``None`` for its defaults; keyword options override it.
    device:
        ``"auto"`` (a GPU when there is one), ``"cpu"`` or ``"cuda"``.

    Attributes
    ----------
    weights_:
        float32 n_items × n_items matrix ``W``; scores are ``X_u W``. A model solved in
        dual form (``dual_``) forms it on first access only.
    dual_:
        The dual-form solution (one :class:`~recolab.models.dual.DualFactors` per averaged
        trial), or ``None`` when ``W`` was solved (or stored) as it is.
    solve_matrix_:
        The binary users × items matrix a dual-form model was solved on (what a bundle
        stores to solve it again), or ``None``.
    purchases_:
        Purchase counts ``n_ui`` on the histories' pairs, or ``None``
        (:meth:`with_purchases`); only read when ``repeat_weight`` is set.

    Examples
    --------
    >>> import pandas as pd
    >>> from recolab.data import build_interactions
    >>> frame = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "y", "y"], "value": 1.0})
    >>> data = build_interactions(frame, kind="implicit")
    >>> LinearAutoencoder(l2=1.0, dropout=0.25).fit(data).weights_.shape
    (2, 2)
    """

    purchases_: sp.csr_matrix | None = None
    dual_: tuple[DualFactors, ...] | None = None
    solve_matrix_: sp.csr_matrix | None = None
    _weights: Any = None
    #: A sparse ``W`` and its CSR copy, for :meth:`_product` (see :meth:`_row_major`).
    _row_major_of: tuple[Any, sp.csr_matrix] | None = None

    def __init__(
        self, params: LinearParams | None = None, *, device: str = "auto", **options: Any
    ) -> None:
        base = (params or LinearParams()).to_dict()
        self.params = LinearParams.from_dict({**base, **options})
        self.device = device

    @property
    def weights_(self) -> Any:
        """``W``: as solved or stored, or formed from the dual solution on first access."""
        if self._weights is None:
            if self.dual_ is None:
                raise AttributeError("weights_: the model is not fitted")
            mean = _mean(f.dense() for f in self.dual_)
            self._weights = add_to_diagonal(mean, self.params.repeat_weight)
        return self._weights

    @weights_.setter
    def weights_(self, value: Any) -> None:
        self._weights = value
        self.dual_ = self.solve_matrix_ = None

    def fit(self, train: InteractionData) -> Self:
        """Solve for the weights on ``train`` (used as binary) and return ``self``: in dual
        form when that is cheaper (:func:`~recolab.models.dual.prefers_dual`), unless a
        :func:`gram_strategy` block builds the Gram matrix or the weights are pruned."""
        self._check_train(train)
        device = resolve_device(self.device)
        dual = self._uses_dual(train.n_users, train.n_items, device)
        if dual:
            check_dual_fits(train.n_users, train.n_items, device, len(self._members()))
        else:
            check_solve_fits(train.n_items, device, self._kept_bytes(train.n_items))
        self._remember(train)
        self.purchases_ = None
        if dual:
            self._solve_dual(self.train_, device)
        else:  # the own-item weight goes on after any pruning, never taking a kept slot
            w = self._solve(self.train_, device)
            self.weights_ = add_to_diagonal(w, self.params.repeat_weight)
        logger.info(
            "linear autoencoder fitted%s: %d items, %s",
            " in dual form" if dual else "",
            self.n_items,
            self.params,
        )
        return self

    @classmethod
    def _unfitted(cls, params: LinearParams, members: tuple[LinearParams, ...] = ()) -> Self:
        """A new CPU model of ``params`` (``members``: the trials a mean averages)."""
        return cls(params, device="cpu")

    def _members(self) -> tuple[LinearParams, ...]:
        """The options of each solve the weights average (one here)."""
        return (self.params,)

    def _uses_dual(self, n_users: int, n_items: int, device: torch.device) -> bool:
        """Dual form where it is cheaper and not pruned, unless only the primal solve fits
        in memory (users close to the items); where neither fits, the dual's refusal."""
        if not solves_in_dual(n_users, n_items) or self.params.top_k:
            return False
        if dual_shortfall(n_users, n_items, device, len(self._members())) is None:
            return True
        primal = solve_memory_bytes(n_items, device) + self._kept_bytes(n_items)
        return memory_shortfall(primal, device) is not None

    def _kept_bytes(self, n_items: int) -> int:
        """Bytes kept beside one solve while fitting (none: the solve is the whole fit)."""
        return 0

    def _solve(self, x: sp.csr_matrix, device: torch.device) -> np.ndarray:
        counts = np.asarray(x.getnnz(axis=0), dtype=np.float64)
        w = solve_weights(build_gram(x, self.params.user_norm), counts, self.params, device)
        return prune_top_k(w, self.params.top_k) if self.params.top_k else w

    @classmethod
    def from_solve_matrix(
        cls,
        matrix: sp.csr_matrix,
        train: InteractionData,
        params: LinearParams,
        members: tuple[LinearParams, ...] = (),
    ) -> LinearAutoencoder:
        """A fitted dual-form model solved again (on the CPU) from the binary matrix it was
        solved on, serving the histories of ``train`` (as a bundle holds them)."""
        if matrix.shape[1] != train.n_items:
            raise ValueError(f"a solve matrix of {matrix.shape[1]} items for {train.n_items}")
        model = cls._unfitted(params, members)
        model._remember(train)
        model._solve_dual(binary_rows(sp.csr_matrix(matrix)), torch.device("cpu"))
        return model

    def _solve_dual(self, x: sp.csr_matrix, device: torch.device) -> None:
        """Solve every member in dual form on the binary ``x`` and keep ``x``."""
        self._weights = None
        self.dual_ = tuple(DualFactors.solve(x, m, device) for m in self._members())
        self.solve_matrix_ = x

    @classmethod
    def from_weights(
        cls, weights: np.ndarray, train: InteractionData, params: LinearParams
    ) -> LinearAutoencoder:
        """A fitted model from stored weights (as a bundle holds them)."""
        model = cls(params, device="cpu")
        model._remember(train)
        if weights.shape != (train.n_items, train.n_items):
            raise ValueError(f"weights of shape {weights.shape} do not match {train.n_items} items")
        model.weights_ = np.asarray(weights, dtype=np.float32)
        return model

    def on_histories(self, train: InteractionData) -> Self:
        """The same fitted weights serving the histories of ``train`` (the same items), e.g.
        every user's full history when the weights were solved without some profiles."""
        if train.n_items != self.n_items:
            raise ValueError(f"{train.n_items} items do not match the model's {self.n_items}")
        model = copy.copy(self)
        model._remember(train)
        model.purchases_ = None
        return model

    def pruned(self, top_k: int) -> Self:
        """A copy keeping the ``top_k`` largest weights per item (:func:`prune_top_k`) and
        saying so in its ``params``."""
        model = copy.copy(self)
        model.params = replace(self.params, top_k=top_k)
        model.weights_ = prune_top_k(self.weights_, top_k)
        return model

    def with_repeat_weight(self, weight: float) -> Self:
        """A copy whose own-item weight (the diagonal's addition, ``params.repeat_weight``)
        is ``weight``, without solving again; a refit gives the same weights."""
        model = copy.copy(self)
        model.params = replace(self.params, repeat_weight=float(weight))
        if hasattr(self, "members"):
            model.members = tuple(replace(m, repeat_weight=float(weight)) for m in self.members)
        if self.dual_ is not None:  # added when scoring; W formed again if asked for
            model._weights = None
        else:
            model.weights_ = add_to_diagonal(self.weights_, weight - self.params.repeat_weight)
        return model

    def with_purchases(self, purchases: sp.csr_matrix | None) -> Self:
        """A copy whose own items weigh by how often each user bought them: ``purchases`` is
        the users × items count matrix ``n_ui`` (e.g. ``rows.matrix(binary=True)`` of the
        unmerged rows), nonzero exactly where the histories ``train_`` are; ``None`` drops
        the counts. An own item then scores ``repeat_weight × n_ui`` more than through the
        other items."""
        model = copy.copy(self)
        model.purchases_ = None if purchases is None else checked_purchases(purchases, self.train_)
        return model

    def weight_block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """float32 ``W[rows][:, cols]`` (dense), without forming ``W`` in dual form."""
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        if self.dual_ is None or self._weights is not None:
            w = self.weights_[np.ix_(rows, cols)]
            return np.asarray(w.toarray() if sp.issparse(w) else w, dtype=np.float32)
        block = _mean(f.block(rows, cols) for f in self.dual_)
        block += self.params.repeat_weight * (rows[:, None] == cols[None, :])
        return block.astype(np.float32)

    def sparsity(self) -> float:
        """Share of exactly-zero entries of ``W`` (dual form: its zero diagonal, if any)."""
        if self.dual_ is not None and self._weights is None:
            zeros = self.params.zero_diagonal and self.params.repeat_weight == 0
            return 1.0 / self.n_items if zeros and self.n_items else 0.0
        w = self.weights_
        if sp.issparse(w):  # the sparse neighbourhood base
            return 1.0 - w.count_nonzero() / max(w.shape[0] * w.shape[1], 1)
        return float((w == 0).mean()) if w.size else 0.0

    def form_weights(self) -> Self:
        """Form ``W`` from the dual solution now, so that scoring reads it (cheaper per user
        than the dual form's users × users product); ``self``."""
        _ = self.weights_
        return self

    def _product(self, x: sp.csr_matrix) -> np.ndarray:
        """float32 ``x W`` for binary rows ``x`` (the dual form's until ``W`` is formed)."""
        if self.dual_ is None or self._weights is not None:
            out = x @ self._row_major()
            return np.asarray(out.toarray() if sp.issparse(out) else out, dtype=np.float32)
        scores = _mean(f.scores(x) for f in self.dual_)
        if self.params.repeat_weight:
            add_sparse(scores, self.params.repeat_weight * x)
        return scores.astype(np.float32)

    def _row_major(self) -> Any:
        """``W`` as ``x @ W`` reads it best: a dense ``W`` as it is, a sparse one as a CSR
        copy made once per ``W``. SciPy converts a CSC operand on every product: at 10⁵ items
        and 64 weights per column, 90 ms of a 671-user batch's 220 ms."""
        w = self.weights_
        if not sp.issparse(w) or w.format == "csr":
            return w
        if self._row_major_of is None or self._row_major_of[0] is not w:
            self._row_major_of = (w, sp.csr_matrix(w))
        return self._row_major_of[1]

    def _score_known(self, users: np.ndarray, lam: float | None) -> np.ndarray:
        x = self.train_[users]
        scores = self._product(x)
        scores = self._add_repeats(lambda: self.purchases_[users], x, scores)
        return self._score_newcomers(x, scores)

    def _score_newcomers(self, x: sp.csr_matrix, scores: np.ndarray) -> np.ndarray:
        """Rows of ``x`` with no history scored by popularity (:func:`score_newcomers`)."""
        return score_newcomers(self.train_, x, scores)

    def _add_repeats(
        self, counts: Callable[[], sp.csr_matrix], binary: sp.csr_matrix, scores: np.ndarray
    ) -> np.ndarray:
        """``scores`` plus ``repeat_weight × (n_ui − 1)`` for the purchases after the first
        (the first is on ``W``'s diagonal), where the model weighs purchase counts: ``counts()``
        gives the rows' counts ``n_ui``, ``binary`` the same rows as ones."""
        if self.purchases_ is None or self.params.repeat_weight == 0:
            return scores
        scores += np.float32(self.params.repeat_weight) * (counts() - binary).toarray()
        return scores

    def score_history(self, history: sp.csr_matrix) -> np.ndarray:
        """Scores of new users given as rows of a users × items matrix (fold-in): read as
        binary, except that a base with purchase counts (:meth:`with_purchases`) weighs an
        own item bought ``n`` times as a served user's, ``repeat_weight × n``."""
        binary = binary_rows(history)
        scores = self._product(binary)
        scores = self._add_repeats(lambda: history, binary, scores)
        return self._score_newcomers(binary, scores)


def _mean(arrays: Iterator[np.ndarray]) -> np.ndarray:
    """The mean of the arrays (summed one at a time)."""
    total, n = None, 0
    for a in arrays:
        total = a if total is None else total + a
        n += 1
    if total is None:
        raise ValueError("the mean of no arrays")
    return total / n if n > 1 else total
