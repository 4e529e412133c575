"""The list length α chooses: precision, recall and F1 along the cut-off k, on validation.

Precision and recall do not trade off along λ (both fall as λ rises); they trade off along
the length of the list. So α = (α1, α2, α3) picks the cut-off

    k* = argmax_k  α1·P@k + α2·R@k + α3·F1@k,   k = 1 … :data:`MAX_CUTOFF`,

on the validation split carved out of the training data (never the test set).
:func:`precision_recall_by_k` measures the curve from top-k lists,
:func:`validation_cutoffs` measures it for a fitted model at a few λ (stored with the job
and in the bundle, so the dashboard needs no recomputation), and :func:`best_cutoff` picks
k* from it.

Metrics follow the evaluation protocol: users with at least one relevant item, P@k =
hits/k, R@k = hits/|relevant|, F1@k = 2PR/(P+R) per user, each averaged over users.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> topk = np.array([[0, 1, 2]])
>>> rel = sp.csr_matrix(np.array([[1, 0, 1, 0]]))
>>> precision_recall_by_k(topk, rel, max_k=3)["recall"].tolist()
[0.5, 0.5, 1.0]
>>> best_cutoff(precision_recall_by_k(topk, rel, max_k=3), (1, 0, 0))
1
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recolab.data.interactions import InteractionData
from recolab.metrics import hit_matrix
from recolab.models.base import Recommender
from recolab.pareto import normalize_alpha

logger = logging.getLogger(__name__)

#: Longest list α may choose.
MAX_CUTOFF = 50
#: Columns of a cut-off curve.
CURVE_COLUMNS = ("k", "precision", "recall", "f1")


def precision_recall_by_k(
    topk: np.ndarray, relevant: sp.spmatrix | np.ndarray, max_k: int = MAX_CUTOFF
) -> pd.DataFrame:
    """Mean precision, recall and F1 at every cut-off 1 … ``max_k``.

    Parameters
    ----------
    topk:
        ``n_users × K`` item indices, best first, ``-1`` padding, ``K ≥ max_k``.
    relevant:
        ``n_users × n_items`` relevance (nonzero = relevant), rows aligned with ``topk``.
        Rows without a relevant item are left out of the means.
    max_k:
        The longest cut-off.

    Returns
    -------
    pandas.DataFrame
        One row per k with columns ``k``, ``precision``, ``recall``, ``f1``.

    Raises
    ------
    ValueError
        ``max_k`` < 1 or wider than ``topk``, or no row has a relevant item.
    """
    topk = np.asarray(topk)
    if topk.ndim != 2 or not 1 <= max_k <= topk.shape[1]:
        raise ValueError(f"max_k={max_k} needs a users × k table at least that wide")
    rel = sp.csr_matrix(relevant)
    n_rel = np.asarray((rel != 0).sum(axis=1)).ravel().astype(np.float64)
    keep = n_rel > 0
    if not keep.any():
        raise ValueError("precision_recall_by_k: no user has a relevant item")
    hits = hit_matrix(topk[:, :max_k], rel)[keep]
    cum = np.cumsum(hits, axis=1, dtype=np.float64)
    ks = np.arange(1, max_k + 1, dtype=np.float64)
    precision = cum / ks
    recall = cum / n_rel[keep, None]
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    return pd.DataFrame(
        {
            "k": np.arange(1, max_k + 1),
            "precision": precision.mean(axis=0),
            "recall": recall.mean(axis=0),
            "f1": f1.mean(axis=0),
        }
    )


def alpha_scores(curve: pd.DataFrame, alpha: Sequence[float]) -> np.ndarray:
    """α1·P@k + α2·R@k + α3·F1@k of every row of ``curve`` (α normalised to sum 1).

    Raises
    ------
    ValueError
        α is not three non-negative finite weights, or is all zero; or a column is missing.
    """
    a = normalize_alpha(alpha)
    missing = [c for c in CURVE_COLUMNS if c not in curve.columns]
    if missing:
        raise ValueError(f"cut-off curve lacks column(s) {missing}")
    cols = curve[["precision", "recall", "f1"]].to_numpy(dtype=float)
    return cols @ a


def best_cutoff(curve: pd.DataFrame, alpha: Sequence[float]) -> int:
    """k* = the cut-off with the largest α-weighted score; the shortest list on a tie.

    Parameters
    ----------
    curve:
        A cut-off curve (:func:`precision_recall_by_k`).
    alpha:
        (α1, α2, α3) weighing precision, recall and F1; not all zero.

    Raises
    ------
    ValueError
        α is all zero (nothing to maximise) or invalid, or the curve is empty or all NaN.
    """
    if len(curve) == 0:
        raise ValueError("best_cutoff: the cut-off curve is empty")
    scores = alpha_scores(curve, alpha)
    if np.isnan(scores).all():
        raise ValueError("best_cutoff: every score of the curve is NaN")
    best = np.nanmax(scores)
    # a tolerance for floating error, so that equal scores prefer the shorter list
    tied = np.flatnonzero(scores >= best - 1e-12 * max(1.0, abs(best)))
    ks = curve["k"].to_numpy()[tied]
    return int(ks.min())


def validation_cutoffs(
    model: Recommender,
    valid: InteractionData,
    lambdas: Sequence[float],
    *,
    max_k: int = MAX_CUTOFF,
    description: str = "",
    exclude_seen: bool = True,
) -> dict[str, Any]:
    """The cut-off curve of ``model`` (fitted on the part of training validation was carved
    from) on ``valid`` at each λ, its seen items left out of the lists unless
    ``exclude_seen`` is off (repeat purchases: served lists keep them).

    Returns
    -------
    dict
        JSON-ready ``{"validation", "max_k", "curves": [{"lam", "precision", "recall",
        "f1"}]}``, each metric a list over k = 1 … ``max_k``, as stored in a bundle's
        ``cutoffs``.
    """
    rel = valid.matrix(binary=True)
    users = np.flatnonzero(rel.getnnz(axis=1) > 0)
    if users.size == 0:
        raise ValueError("validation_cutoffs: no user has a validation interaction")
    curves = []
    for lam in sorted({round(float(x), 6) for x in lambdas}):
        topk, _ = model.recommend(users, max_k, lam=lam, exclude_seen=exclude_seen)
        curve = precision_recall_by_k(topk, rel[users], max_k)
        curves.append({"lam": lam, **{c: curve[c].round(6).tolist() for c in CURVE_COLUMNS[1:]}})
    logger.info("cut-off curves on validation at λ = %s", [c["lam"] for c in curves])
    return {"validation": description, "max_k": int(max_k), "curves": curves}


def curves_from(cutoffs: Mapping[str, Any] | None) -> list[tuple[float, pd.DataFrame]]:
    """(λ, curve) pairs of a stored ``cutoffs`` entry (see :func:`validation_cutoffs`);
    empty when none is stored (older bundles, or a model trained without validation)."""
    out = []
    for entry in (cutoffs or {}).get("curves") or []:
        n = len(entry["precision"])
        frame = pd.DataFrame(
            {
                "k": np.arange(1, n + 1),
                **{c: np.asarray(entry[c], dtype=float) for c in CURVE_COLUMNS[1:]},
            }
        )
        out.append((float(entry["lam"]), frame))
    return out


def nearest_curve(
    curves: Sequence[tuple[float, pd.DataFrame]], lam: float
) -> tuple[float, pd.DataFrame] | None:
    """The stored curve whose λ is nearest ``lam`` (the smaller λ on a tie); ``None``
    without curves."""
    if not curves:
        return None
    return min(curves, key=lambda c: (abs(c[0] - float(lam)), c[0]))
