"""Pareto analysis of λ sweeps: non-dominated sort, hypervolume and α-selection.

Everything here is pure numpy/pandas and works on small tables: one row per evaluated
trade-off weight λ (plus, possibly, baseline rows). Objectives are maximised unless a
``maximize`` flag says otherwise; internally every minimised column is negated so that the
algorithms only ever deal with maximisation.

Conventions
-----------
* A point ``a`` *dominates* ``b`` when ``a`` is at least as good as ``b`` in every objective
  and strictly better in at least one. Equal points do not dominate each other, so
  duplicates share a front rank.
* Rows containing NaN in any objective are not compared with anything: their rank is ``-1``
  and they are never on the front (:func:`non_dominated_sort`, :func:`pareto_mask`), and they
  add no volume (:func:`hypervolume`).
* α = (α1, α2, α3) weighs Precision, Recall and F1:
  ``score = α1·P@k + α2·R@k + α3·F1@k`` after normalising α to sum to 1.

Examples
--------
>>> import numpy as np
>>> pts = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [1.0, 1.0]])
>>> non_dominated_sort(pts).tolist()
[0, 0, 0, 1]
>>> hypervolume(pts, reference=[0.0, 0.0])
6.0
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

__all__ = [
    "alpha_score",
    "best_within_loss",
    "front_table",
    "hypervolume",
    "non_dominated_sort",
    "normalize_alpha",
    "pareto_mask",
    "select_by_alpha",
]

logger = logging.getLogger(__name__)


@runtime_checkable
class HasAlpha(Protocol):
    """Anything carrying α weights, e.g. :class:`recolab.objectives.ObjectiveWeights`."""

    @property
    def alpha(self) -> Sequence[float]:
        """The three weights (Precision, Recall, F1)."""
        ...


#: α as accepted by the selection functions.
AlphaLike = Sequence[float] | np.ndarray | HasAlpha

#: Rows per block when building the dominance matrix, to bound temporary memory (n·block·m).
_BLOCK = 512


def _as_points(points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Return ``points`` as a 2-D float array of shape (n, m); a 1-D input is one objective."""
    arr = np.asarray(points, dtype=float)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"points must be a 2-D array (n_points, n_objectives), got {arr.ndim}-D")
    if arr.shape[1] == 0:
        raise ValueError("points must have at least one objective column")
    return arr


def _orient(arr: np.ndarray, maximize: Sequence[bool] | None) -> np.ndarray:
    """Negate the minimised columns so that every column is to be maximised."""
    m = arr.shape[1]
    if maximize is None:
        return arr
    flags = np.asarray(list(maximize), dtype=bool)
    if flags.shape != (m,):
        raise ValueError(f"maximize has {flags.size} flags but points have {m} objectives")
    return np.where(flags, arr, -arr)


def _dominance_matrix(pts: np.ndarray) -> np.ndarray:
    """Boolean matrix ``D[i, j]`` = point ``i`` dominates point ``j`` (all maximised, no NaN)."""
    n = pts.shape[0]
    dom = np.zeros((n, n), dtype=bool)
    for start in range(0, n, _BLOCK):
        block = pts[start : start + _BLOCK, None, :]  # (b, 1, m)
        geq = np.all(block >= pts[None, :, :], axis=2)
        gt = np.any(block > pts[None, :, :], axis=2)
        dom[start : start + _BLOCK] = geq & gt
    return dom


def non_dominated_sort(
    points: np.ndarray | Sequence[Sequence[float]],
    maximize: Sequence[bool] | None = None,
) -> np.ndarray:
    """Front rank of every point (0 = Pareto front), by non-dominated sorting.

    A vectorised equivalent of Deb et al.'s fast non-dominated sort: the full dominance
    matrix is built in O(n² m) (in row blocks) and fronts are peeled off one after another.

    Parameters
    ----------
    points:
        Array of shape (n_points, n_objectives). A 1-D array is taken as one objective.
    maximize:
        One flag per objective, ``True`` to maximise (default for all), ``False`` to minimise.

    Returns
    -------
    numpy.ndarray
        Integer ranks of shape (n_points,). Rank ``r`` means the point is dominated only by
        points of ranks < r. Equal points share a rank. Rows with any NaN get rank ``-1``
        and take no part in the sort.

    Examples
    --------
    >>> non_dominated_sort([[1, 2], [2, 1], [1, 1], [1, 1], [0, 0]]).tolist()
    [0, 0, 1, 1, 2]
    >>> non_dominated_sort([[1, 5], [2, 9]], maximize=[True, False]).tolist()
    [0, 0]
    """
    arr = _orient(_as_points(points), maximize)
    n = arr.shape[0]
    ranks = np.full(n, -1, dtype=np.int64)
    valid = ~np.isnan(arr).any(axis=1)
    if not valid.all():
        logger.debug("non_dominated_sort: %d row(s) with NaN get rank -1", int((~valid).sum()))
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return ranks
    dom = _dominance_matrix(arr[idx])
    n_dominators = dom.sum(axis=0).astype(np.int64)
    remaining = np.ones(idx.size, dtype=bool)
    rank = 0
    while remaining.any():
        front = remaining & (n_dominators == 0)
        if not front.any():  # impossible for a strict partial order; guards against a hang
            raise RuntimeError("non_dominated_sort: dominance relation has a cycle")
        ranks[idx[front]] = rank
        remaining &= ~front
        n_dominators -= dom[front].sum(axis=0)
        rank += 1
    return ranks


def pareto_mask(
    points: np.ndarray | Sequence[Sequence[float]],
    maximize: Sequence[bool] | None = None,
) -> np.ndarray:
    """Boolean mask of the non-dominated points (rank 0 of :func:`non_dominated_sort`).

    Parameters
    ----------
    points:
        Array of shape (n_points, n_objectives).
    maximize:
        One flag per objective (default: maximise all).

    Returns
    -------
    numpy.ndarray
        ``bool`` array of shape (n_points,); NaN rows are ``False``.

    Examples
    --------
    >>> pareto_mask([[1, 3], [2, 2], [1, 1]]).tolist()
    [True, True, False]
    """
    return non_dominated_sort(points, maximize) == 0


def _hv2d(xy: np.ndarray) -> float:
    """Area dominated by ``xy`` (all coordinates > 0, reference at the origin, maximised)."""
    if xy.shape[0] == 0:
        return 0.0
    order = np.lexsort((-xy[:, 1], -xy[:, 0]))  # x descending, then y descending
    x = xy[order, 0]
    y = xy[order, 1]
    # Sweep from the largest x: a point adds the strip [0, x] × [best y so far, y].
    prev_best = np.concatenate(([0.0], np.maximum.accumulate(y)[:-1]))
    gain = np.clip(y - prev_best, 0.0, None)
    return float(np.sum(x * gain))


def hypervolume(
    points: np.ndarray | Sequence[Sequence[float]],
    reference: Sequence[float] | np.ndarray,
    maximize: Sequence[bool] | None = None,
) -> float:
    """Exact hypervolume dominated by ``points`` and bounded by ``reference`` (2 or 3 objectives).

    2-D: one sweep over the points sorted by the first objective, O(n log n).
    3-D: a sweep over the distinct values of the third objective (descending); each slab's
    area is the 2-D hypervolume of the points at or above it, O(n² log n) in total.

    Parameters
    ----------
    points:
        Array of shape (n_points, 2) or (n_points, 3).
    reference:
        The reference point, in the same units and orientation as ``points`` (for a minimised
        objective it is the worst acceptable, i.e. largest, value).
    maximize:
        One flag per objective (default: maximise all).

    Returns
    -------
    float
        The hypervolume. Points that do not strictly dominate the reference in every
        objective, and rows with NaN, contribute nothing; no such point → ``0.0``.

    Raises
    ------
    ValueError
        If the number of objectives is not 2 or 3, or the reference has the wrong length or
        contains NaN.

    Examples
    --------
    >>> hypervolume([[1, 3], [2, 2], [3, 1]], reference=[0, 0])
    6.0
    >>> hypervolume([[1, 1, 1]], reference=[2, 2, 2], maximize=[False, False, False])
    1.0
    """
    arr = _as_points(points)
    m = arr.shape[1]
    if m not in (2, 3):
        raise ValueError(f"hypervolume is implemented for 2 or 3 objectives, got {m}")
    ref = np.asarray(reference, dtype=float).reshape(-1)
    if ref.shape != (m,):
        raise ValueError(f"reference has {ref.size} coordinates but points have {m} objectives")
    if np.isnan(ref).any():
        raise ValueError("reference point contains NaN")
    arr = _orient(arr, maximize)
    ref = _orient(ref.reshape(1, -1), maximize)[0]
    valid = ~np.isnan(arr).any(axis=1)
    shifted = arr[valid] - ref
    shifted = shifted[np.all(shifted > 0, axis=1)]
    if shifted.shape[0] == 0:
        return 0.0
    if not np.isfinite(shifted).all():
        raise ValueError("hypervolume is infinite: a point has an infinite objective value")
    if m == 2:
        return _hv2d(shifted)
    # 3-D: slabs between consecutive distinct z levels (descending), down to z = 0.
    z_levels = np.unique(shifted[:, 2])[::-1]
    lower = np.concatenate((z_levels[1:], [0.0]))
    volume = 0.0
    for z, z_next in zip(z_levels, lower, strict=True):
        above = shifted[shifted[:, 2] >= z, :2]
        volume += _hv2d(above) * (z - z_next)
    return float(volume)


def normalize_alpha(alpha: AlphaLike) -> np.ndarray:
    """Return α = (α1, α2, α3) scaled to sum to 1.

    Parameters
    ----------
    alpha:
        Three non-negative finite weights for Precision, Recall and F1, or an object with
        an ``alpha`` attribute holding them (such as ``ObjectiveWeights``).

    Returns
    -------
    numpy.ndarray
        The normalised weights, shape (3,).

    Raises
    ------
    ValueError
        If α does not have 3 entries, has a negative or non-finite entry, or is all zero.

    Examples
    --------
    >>> normalize_alpha([1, 1, 2]).tolist()
    [0.25, 0.25, 0.5]
    """
    if isinstance(alpha, HasAlpha):
        alpha = alpha.alpha
    a = np.asarray(alpha, dtype=float).reshape(-1)
    if a.shape != (3,):
        raise ValueError(f"alpha must have 3 weights (precision, recall, F1), got {a.size}")
    if not np.isfinite(a).all():
        raise ValueError(f"alpha weights must be finite, got {a.tolist()}")
    if (a < 0).any():
        raise ValueError(f"alpha weights must be non-negative, got {a.tolist()}")
    total = float(a.sum())
    if total == 0.0:
        raise ValueError("alpha weights are all zero; at least one must be positive")
    return a / total


def _metric_columns(k: int) -> list[str]:
    return [f"precision@{k}", f"recall@{k}", f"f1@{k}"]


def alpha_score(df: pd.DataFrame, alpha: AlphaLike, k: int = 20) -> pd.Series:
    """α-weighted score ``α1·P@k + α2·R@k + α3·F1@k`` of every row (α normalised to sum 1).

    Parameters
    ----------
    df:
        Table with columns ``precision@{k}``, ``recall@{k}`` and ``f1@{k}``.
    alpha:
        Three non-negative weights (Precision, Recall, F1), not all zero, or an object
        with an ``alpha`` attribute (see :func:`normalize_alpha`).
    k:
        Cut-off of the metric columns.

    Returns
    -------
    pandas.Series
        Scores indexed like ``df``, named ``"alpha_score"``. A row with NaN in a column whose
        weight is positive scores NaN; a column with zero weight is ignored.

    Raises
    ------
    ValueError
        If α is invalid or a needed column is missing.

    Examples
    --------
    >>> t = pd.DataFrame({"precision@5": [0.2], "recall@5": [0.4], "f1@5": [0.3]})
    >>> round(float(alpha_score(t, [1, 1, 0], k=5).iloc[0]), 6)
    0.3
    """
    a = normalize_alpha(alpha)
    cols = _metric_columns(k)
    needed = [c for c, w in zip(cols, a, strict=True) if w > 0]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"alpha_score needs column(s) {missing}; table has {list(df.columns)}")
    score = pd.Series(0.0, index=df.index, name="alpha_score")
    for col, w in zip(cols, a, strict=True):
        if w > 0:
            score = score + w * pd.to_numeric(df[col], errors="coerce").astype(float)
    score.name = "alpha_score"
    return score


def select_by_alpha(
    df: pd.DataFrame,
    alpha: AlphaLike,
    k: int = 20,
    *,
    lam_col: str = "lam",
) -> Hashable:
    """Index label of the row with the best α-weighted score.

    Parameters
    ----------
    df:
        Table with columns ``precision@{k}``, ``recall@{k}``, ``f1@{k}`` (and usually ``lam``).
    alpha:
        Three non-negative weights (Precision, Recall, F1), not all zero, or an object
        with an ``alpha`` attribute (see :func:`normalize_alpha`).
    k:
        Cut-off of the metric columns.
    lam_col:
        Column holding λ; among tied best rows the one with the smallest λ wins. If the
        column is absent, the first tied row (in table order) wins.

    Returns
    -------
    Hashable
        The index label (``df.loc[label]`` is the chosen row); for a default RangeIndex an int.

    Raises
    ------
    ValueError
        If α is invalid, a column is missing, the table is empty, or every score is NaN.

    Examples
    --------
    >>> t = pd.DataFrame({"lam": [0.0, 1.0], "precision@20": [0.3, 0.2],
    ...                   "recall@20": [0.1, 0.4], "f1@20": [0.15, 0.26]})
    >>> select_by_alpha(t, [1, 0, 0]), select_by_alpha(t, [0, 1, 0])
    (0, 1)
    """
    if len(df) == 0:
        raise ValueError("select_by_alpha: the table is empty")
    score = alpha_score(df, alpha, k)
    values = score.to_numpy(dtype=float)
    if np.isnan(values).all():
        raise ValueError("select_by_alpha: every row's alpha score is NaN")
    best = np.nanmax(values)
    tied = np.flatnonzero(values == best)
    if tied.size > 1 and lam_col in df.columns:
        lams = pd.to_numeric(df[lam_col], errors="coerce").to_numpy(dtype=float)[tied]
        # NaN λ sorts last; argmin on a stable order keeps the first among equal λ.
        order = np.argsort(np.where(np.isnan(lams), np.inf, lams), kind="stable")
        pos = int(tied[order[0]])
    else:
        pos = int(tied[0])
    label = df.index[pos]
    return label.item() if isinstance(label, np.generic) else label


def front_table(df: pd.DataFrame, objectives: dict[str, bool]) -> pd.DataFrame:
    """Copy of ``df`` with the non-dominated rank of each row over the given objectives.

    Parameters
    ----------
    df:
        Table with one row per model / λ.
    objectives:
        Objective column name → ``True`` to maximise, ``False`` to minimise.

    Returns
    -------
    pandas.DataFrame
        ``df`` plus an integer column ``"rank"`` (0 = Pareto front, -1 = NaN in an objective)
        and a boolean column ``"on_front"``.

    Raises
    ------
    ValueError
        If ``objectives`` is empty or names a missing column.

    Examples
    --------
    >>> t = pd.DataFrame({"recall@20": [0.1, 0.2, 0.1], "model_bytes": [10, 20, 30]})
    >>> front_table(t, {"recall@20": True, "model_bytes": False})["on_front"].tolist()
    [True, True, False]
    """
    if not objectives:
        raise ValueError("front_table needs at least one objective column")
    missing = [c for c in objectives if c not in df.columns]
    if missing:
        raise ValueError(f"front_table: missing objective column(s) {missing}")
    cols = list(objectives)
    pts = df[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    ranks = non_dominated_sort(pts, [objectives[c] for c in cols])
    out = df.copy()
    out["rank"] = ranks
    out["on_front"] = ranks == 0
    return out


def best_within_loss(
    df: pd.DataFrame,
    objective: str,
    *,
    accuracy: str = "ndcg@10",
    max_loss: float = 0.05,
    lam_col: str = "lam",
) -> Hashable:
    """Index label of the row with the most ``objective`` among the rows whose ``accuracy``
    is at most ``max_loss`` (a share) below the table's best ``accuracy``: "the λ with the
    most coverage at an ndcg@10 loss of at most 5 %".

    Parameters
    ----------
    df:
        One row per λ (e.g. a validation front) with columns ``objective`` and ``accuracy``.
    objective:
        The column to maximise (coverage, novelty, diversity, revenue …).
    accuracy:
        The accuracy column whose loss is bounded.
    max_loss:
        Largest share of the best accuracy that may be given up, in [0, 1].
    lam_col:
        Among rows equal in ``objective``, the more accurate wins, then the smaller λ (when
        the column exists).

    Raises
    ------
    ValueError
        An empty table, a missing column, ``max_loss`` outside [0, 1], or no row with finite
        values in both columns.

    Examples
    --------
    >>> t = pd.DataFrame({"lam": [0.0, 1.0, 2.0], "ndcg@10": [0.50, 0.48, 0.40],
    ...                   "coverage@20": [0.2, 0.3, 0.5]})
    >>> best_within_loss(t, "coverage@20", max_loss=0.05)
    1
    >>> best_within_loss(t, "coverage@20", max_loss=0.2)
    2
    """
    if not 0.0 <= float(max_loss) <= 1.0:
        raise ValueError(f"max_loss must be a share in [0, 1], got {max_loss!r}")
    missing = [c for c in (objective, accuracy) if c not in df.columns]
    if missing:
        raise ValueError(f"best_within_loss: missing column(s) {missing}; has {list(df.columns)}")
    obj = pd.to_numeric(df[objective], errors="coerce").to_numpy(dtype=float)
    acc = pd.to_numeric(df[accuracy], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(obj) & np.isfinite(acc)
    if not ok.any():
        raise ValueError(f"best_within_loss: no row has finite {objective} and {accuracy}")
    floor = float(acc[ok].max()) - float(max_loss) * abs(float(acc[ok].max()))
    eligible = np.flatnonzero(ok & (acc >= floor - 1e-12))
    lams = (
        pd.to_numeric(df[lam_col], errors="coerce").to_numpy(dtype=float)
        if lam_col in df.columns
        else np.arange(len(df), dtype=float)
    )
    # most objective, then most accurate, then smallest λ
    pos = min(eligible, key=lambda i: (-obj[i], -acc[i], lams[i]))
    label = df.index[int(pos)]
    return label.item() if isinstance(label, np.generic) else label
