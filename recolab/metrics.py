"""Ranking, rating and beyond-accuracy metrics, vectorised over users.

Everything here follows the evaluation protocol of ``DESIGN.md``. The inputs are

``topk``
    ``n_users × K`` int64 item indices, best first; ``-1`` marks padding (a list shorter
    than ``K``). Padding never counts as a hit or as a recommended item.
``test``
    CSR ``n_users × n_items``, rows aligned with ``topk``; every stored nonzero is a relevant
    item. The relevant count ``|test_u|`` is the row's number of nonzeros, so test items never
    seen in training still count (only content-aware models can reach them).

Rules for edge cases, applied throughout:

* Accuracy metrics (precision, recall, F1, NDCG, hit rate, MAP) are averaged over the rows with
  at least one relevant item; rows without any are left out (recall is undefined there).
  :func:`recolab.evaluation.evaluate` only passes users with ≥1 test interaction anyway.
* Novelty smooths items without any training user to one user (``n_users_i = max(n_users_i,
  1)``), so their self-information is ``log2(n_users)``, the largest a trained item can have.
* Diversity treats an all-zero item vector as dissimilar to everything (cosine 0); lists with
  fewer than two items have no pairs and are left out of the mean.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> topk = np.array([[0, 1], [2, -1]])
>>> test = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 1]], dtype=np.float32))
>>> m = ranking_metrics(topk, test, ks=(2,))
>>> round(m["precision@2"], 3), round(m["recall@2"], 3)
(0.5, 0.75)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

logger = logging.getLogger(__name__)

#: Users whose item vectors are gathered at once by :func:`intra_list_diversity`.
DIVERSITY_BATCH = 16384

ACCURACY_METRICS = ("precision", "recall", "f1", "ndcg", "hit_rate", "map")
BEYOND_ACCURACY_METRICS = ("coverage", "novelty", "diversity", "gini", "exposure_equality")


def _check_topk(topk: np.ndarray) -> np.ndarray:
    topk = np.asarray(topk)
    if topk.ndim != 2:
        raise ValueError(f"topk must be 2-D (users × k), got shape {topk.shape}")
    if not np.issubdtype(topk.dtype, np.integer):
        raise ValueError(f"topk must hold integer item indices, got dtype {topk.dtype}")
    return topk.astype(np.int64, copy=False)


def _check_ks(ks: Sequence[int] | int, width: int) -> tuple[int, ...]:
    ks = (ks,) if isinstance(ks, int | np.integer) else tuple(int(k) for k in ks)
    if not ks:
        raise ValueError("ks must name at least one cut-off")
    for k in ks:
        if k < 1:
            raise ValueError(f"cut-off k must be ≥ 1, got {k}")
        if k > width:
            raise ValueError(f"cut-off k={k} exceeds the {width} columns of topk")
    return ks


def _relevant(test: sp.spmatrix | np.ndarray, n_rows: int) -> sp.csr_matrix:
    """The test matrix as a clean CSR: explicit zeros removed, duplicates summed, sorted."""
    rel = sp.csr_matrix(test, copy=True)
    if rel.shape[0] != n_rows:
        raise ValueError(
            f"test has {rel.shape[0]} rows but topk has {n_rows}: rows must be aligned"
        )
    rel.sum_duplicates()
    rel.eliminate_zeros()
    rel.sort_indices()
    return rel


def hit_matrix(topk: np.ndarray, test: sp.spmatrix | np.ndarray) -> np.ndarray:
    """Boolean ``n_users × K``: whether ``topk[u, j]`` is relevant for user ``u``.

    Padding (``-1``) is never a hit. Computed with one sorted search over the keys
    ``user * n_items + item``; no loop over users.
    """
    topk = _check_topk(topk)
    rel = _relevant(test, topk.shape[0])
    return _hits(topk, rel)


def _hits(topk: np.ndarray, rel: sp.csr_matrix) -> np.ndarray:
    n_rows, n_items = rel.shape
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(rel.indptr))
    keys = rows * n_items + rel.indices.astype(np.int64)  # sorted: CSR with sorted indices
    valid = (topk >= 0) & (topk < n_items)
    query = np.arange(n_rows, dtype=np.int64)[:, None] * n_items + np.where(valid, topk, 0)
    if keys.size == 0:
        return np.zeros(topk.shape, dtype=bool)
    pos = np.searchsorted(keys, query)
    pos = np.minimum(pos, keys.size - 1)
    return valid & (keys[pos] == query)


def per_user_accuracy(
    topk: np.ndarray, test: sp.spmatrix | np.ndarray, k: int
) -> dict[str, np.ndarray]:
    """Per-user precision, recall, F1, NDCG, hit rate and MAP at ``k`` (float64 arrays).

    Rows without relevant items get NaN in every array.

    Parameters
    ----------
    topk:
        ``n_users × K`` item indices, best first, ``-1`` padding, ``K ≥ k``.
    test:
        ``n_users × n_items`` relevance (nonzero = relevant).
    k:
        Cut-off.

    Returns
    -------
    dict
        ``{"precision": ..., "recall": ..., "f1": ..., "ndcg": ..., "hit_rate": ...,
        "map": ...}``, each of length ``n_users``.
    """
    topk = _check_topk(topk)
    (k,) = _check_ks((k,), topk.shape[1])
    rel = _relevant(test, topk.shape[0])
    hits = _hits(topk[:, :k], rel)
    n_rel = np.diff(rel.indptr).astype(np.float64)
    return _accuracy_from_hits(hits, n_rel, (k,))[k]


def _accuracy_from_hits(
    hits: np.ndarray, n_rel: np.ndarray, ks: tuple[int, ...]
) -> dict[int, dict[str, np.ndarray]]:
    width = hits.shape[1]
    h = hits.astype(np.float64)
    cum_hits = np.cumsum(h, axis=1)
    positions = np.arange(1, width + 1, dtype=np.float64)
    discount = 1.0 / np.log2(positions + 1.0)
    cum_dcg = np.cumsum(h * discount, axis=1)
    cum_ap = np.cumsum(h * cum_hits / positions, axis=1)
    ideal = np.concatenate([[0.0], np.cumsum(discount)])
    has_rel = n_rel > 0
    safe_rel = np.where(has_rel, n_rel, 1.0)
    out: dict[int, dict[str, np.ndarray]] = {}
    for k in ks:
        hk = cum_hits[:, k - 1]
        precision = hk / k
        recall = hk / safe_rel
        denom = precision + recall
        f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
        n_ideal = np.minimum(n_rel, k).astype(np.int64)
        ndcg = cum_dcg[:, k - 1] / np.where(has_rel, ideal[n_ideal], 1.0)
        ap = cum_ap[:, k - 1] / np.where(has_rel, np.minimum(n_rel, k), 1.0)
        metrics = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "ndcg": ndcg,
            "hit_rate": (hk > 0).astype(np.float64),
            "map": ap,
        }
        out[k] = {name: np.where(has_rel, v, np.nan) for name, v in metrics.items()}
    return out


def coverage(topk: np.ndarray, n_train_items: int) -> float:
    """Distinct recommended items divided by the number of items in training.

    Padding is ignored. Only a content-aware model, which can recommend items never seen in
    training, could push this above 1.
    """
    topk = _check_topk(topk)
    if n_train_items <= 0:
        raise ValueError("coverage needs at least one training item")
    return float(np.unique(topk[topk >= 0]).size / n_train_items)


def novelty(topk: np.ndarray, item_users: np.ndarray, n_users: int) -> float:
    """Mean self-information ``-log2(n_users_i / n_users)`` over all recommended items.

    The mean runs over every non-padding entry of ``topk`` (all lists pooled).
    ``item_users[i]`` is the number of training users who interacted with item ``i``; items
    with none are smoothed to one user. Returns NaN when nothing was recommended.
    """
    topk = _check_topk(topk)
    if n_users <= 0:
        raise ValueError("novelty needs n_users ≥ 1")
    item_users = np.asarray(item_users, dtype=np.float64)
    rec = topk[topk >= 0]
    if rec.size == 0:
        return float("nan")
    counts = np.maximum(item_users[rec], 1.0)
    return float(np.mean(-np.log2(counts / n_users)))


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"item_vectors must be 2-D (items × dims), got shape {v.shape}")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)


def per_user_diversity(topk: np.ndarray, item_vectors: np.ndarray) -> np.ndarray:
    """Per-user intra-list diversity: 1 − mean pairwise cosine similarity of the list.

    Uses ``Σ_{i<j} cos(v_i, v_j) = (‖Σ v̂_i‖² − Σ ‖v̂_i‖²) / 2`` on unit vectors ``v̂``, so the
    cost is linear in the list length. All-zero vectors count as dissimilar to everything.
    Lists with fewer than two items get NaN.
    """
    topk = _check_topk(topk)
    unit = _unit_rows(item_vectors)
    n_items = unit.shape[0]
    if topk.size and topk.max(initial=-1) >= n_items:
        raise ValueError(f"topk holds item index {topk.max()} but item_vectors has {n_items} rows")
    sq_norm = np.einsum("id,id->i", unit, unit)  # 1, or 0 for an all-zero vector
    out = np.full(topk.shape[0], np.nan)
    for start in range(0, topk.shape[0], DIVERSITY_BATCH):
        block = topk[start : start + DIVERSITY_BATCH]
        valid = block >= 0
        rows = np.nonzero(valid)[0]
        lists = sp.csr_matrix(
            (np.ones(rows.size), (rows, block[valid])), shape=(len(block), n_items)
        )  # duplicates summed: an item listed twice counts twice, as in the pairwise sum
        total = lists @ unit  # Σ v̂ per list, no users × k × d intermediate
        sq_sum = np.einsum("ud,ud->u", total, total)
        self_sq = np.where(valid, sq_norm[np.where(valid, block, 0)], 0.0).sum(axis=1)
        n = valid.sum(axis=1).astype(np.float64)
        pairs = n * (n - 1.0)  # ordered pairs
        mean_sim = np.divide(
            sq_sum - self_sq, pairs, out=np.full_like(pairs, np.nan), where=pairs > 0
        )
        out[start : start + len(block)] = 1.0 - mean_sim
    return out


def intra_list_diversity(topk: np.ndarray, item_vectors: np.ndarray) -> float:
    """Mean over users (with ≥2 recommended items) of :func:`per_user_diversity`."""
    div = per_user_diversity(topk, item_vectors)
    ok = ~np.isnan(div)
    return float(div[ok].mean()) if ok.any() else float("nan")


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative ``values`` (0 = all equal, (n−1)/n = one holds all).

    NaN when the values sum to zero.
    """
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if np.any(x < 0):
        raise ValueError("gini needs non-negative values")
    n = x.size
    total = x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(np.sum((2.0 * ranks - n - 1.0) * x) / (n * total))


def exposure(topk: np.ndarray, n_items: int) -> np.ndarray:
    """How many lists each item appears in (length ``n_items``, padding ignored)."""
    topk = _check_topk(topk)
    rec = topk[topk >= 0]
    return np.bincount(rec, minlength=n_items).astype(np.float64)


def exposure_gini(topk: np.ndarray, train_items: np.ndarray) -> float:
    """Gini of recommendation exposure over the training items (zero exposure included).

    ``train_items`` is a boolean mask over items. Items outside training that were
    recommended anyway (content-aware models) join the population with their exposure.
    """
    train_items = np.asarray(train_items, dtype=bool)
    counts = exposure(topk, train_items.size)
    population = train_items | (counts > 0)
    return gini(counts[population])


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error between predicted and actual ratings."""
    p, a = _pair(predicted, actual)
    return float(np.sqrt(np.mean((p - a) ** 2)))


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute error between predicted and actual ratings."""
    p, a = _pair(predicted, actual)
    return float(np.mean(np.abs(p - a)))


def _pair(predicted: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(predicted, dtype=np.float64).ravel()
    a = np.asarray(actual, dtype=np.float64).ravel()
    if p.shape != a.shape:
        raise ValueError(f"predicted has {p.size} values but actual has {a.size}")
    if p.size == 0:
        raise ValueError("no ratings to compare")
    return p, a


def revenue_metrics(
    topk: np.ndarray,
    test: sp.spmatrix | np.ndarray,
    prices: np.ndarray,
    ks: Sequence[int] | int = (10, 20),
    *,
    quantities: sp.spmatrix | np.ndarray | None = None,
) -> dict[str, float]:
    """Revenue of the hits and price-weighted recall at several cut-offs.

    ``revenue@k`` of a user is ``Σ price_i × quantity_ui`` over the hits ``i`` in their top
    ``k``; ``price_recall@k`` is ``Σ price_i`` over those hits divided by ``Σ price_i`` over
    all the user's relevant items. Both are averaged over the users with ≥1 relevant item
    (price recall over those whose relevant items have a total price above 0; NaN if none).

    Parameters
    ----------
    topk:
        ``n_users × K`` item indices, best first, ``-1`` padding; ``K ≥ max(ks)``.
    test:
        ``n_users × n_items`` relevance, rows aligned with ``topk`` (nonzero = relevant).
    prices:
        float ``(n_items,)`` price per item, ≥ 0. An item without a price must be given as
        0 by the caller, who says so (:meth:`recolab.data.prices.ItemPrices.filled`): its
        hits then add no revenue.
    ks:
        Cut-offs.
    quantities:
        ``n_users × n_items`` held-out quantities, aligned with ``test`` (read at the relevant
        entries). ``None``: every relevant item counts quantity 1.

    Returns
    -------
    dict
        ``{"revenue@10": ..., "price_recall@10": ..., "revenue@20": ..., ...}``.

    Examples
    --------
    >>> topk = np.array([[0, 1], [2, 0]])
    >>> test = sp.csr_matrix(np.array([[1, 0, 1], [1, 1, 0]], dtype=np.float32))
    >>> qty = sp.csr_matrix(np.array([[2, 0, 1], [3, 1, 0]], dtype=np.float32))
    >>> m = revenue_metrics(topk, test, np.array([10.0, 1.0, 4.0]), (2,), quantities=qty)
    >>> m["revenue@2"], m["price_recall@2"]  # (20 + 30) / 2; (10/14 + 10/11) / 2
    (25.0, 0.8116883116883117)
    """
    topk = _check_topk(topk)
    ks = _check_ks(ks, topk.shape[1])
    rel = _relevant(test, topk.shape[0])
    prices = np.asarray(prices, dtype=np.float64).reshape(-1)
    if prices.shape != (rel.shape[1],):
        raise ValueError(f"prices has shape {prices.shape}, expected ({rel.shape[1]},)")
    if not np.all(np.isfinite(prices)) or np.any(prices < 0):
        raise ValueError("prices must be finite and ≥ 0 (give items without a price as 0)")
    kmax = max(ks)
    head = topk[:, :kmax]
    hits = _hits(head, rel)
    items = np.where(hits, head, 0)
    hit_price = np.where(hits, prices[items], 0.0)
    qty = np.ones(head.shape) if quantities is None else _quantity_at(quantities, head, hits)
    has_rel = np.diff(rel.indptr) > 0
    rows = np.repeat(np.arange(rel.shape[0]), np.diff(rel.indptr))
    total_price = np.bincount(rows, weights=prices[rel.indices], minlength=rel.shape[0])
    priced = has_rel & (total_price > 0)
    out: dict[str, float] = {}
    for k in sorted(ks):
        revenue = (hit_price[:, :k] * qty[:, :k]).sum(axis=1)
        share = hit_price[:, :k].sum(axis=1) / np.where(priced, total_price, 1.0)
        out[f"revenue@{k}"] = float(revenue[has_rel].mean()) if has_rel.any() else float("nan")
        out[f"price_recall@{k}"] = float(share[priced].mean()) if priced.any() else float("nan")
    return out


def _quantity_at(
    quantities: sp.spmatrix | np.ndarray, head: np.ndarray, hits: np.ndarray
) -> np.ndarray:
    """Held-out quantity of each hit of ``head`` (0 elsewhere); a hit must have one > 0."""
    q = sp.csr_matrix(quantities)
    if q.shape[0] != head.shape[0]:
        raise ValueError(f"quantities has {q.shape[0]} rows but topk has {head.shape[0]}")
    rows = np.broadcast_to(np.arange(head.shape[0])[:, None], head.shape)
    out = np.zeros(head.shape)
    if hits.any():
        out[hits] = np.asarray(q[rows[hits], head[hits]]).ravel()
    if not np.all(out[hits] > 0):  # also catches NaN
        raise ValueError("quantities: a relevant test item has no quantity above 0")
    return out


def recent_share(topk: np.ndarray, recent: np.ndarray, ks: Sequence[int] | int) -> dict[str, float]:
    """``recent_share@k``: per user, the share of the top ``k`` that is a recent item (bought
    by anyone in the last days of training), averaged over users.

    Parameters
    ----------
    topk:
        ``n_users × K`` item indices, best first, ``-1`` padding (never recent; a padded
        slot counts in ``k``).
    recent:
        Boolean, one per item: bought in the recency window.
    ks:
        Cut-offs.

    Returns
    -------
    dict
        ``{"recent_share@10": ..., ...}``; NaN without users.
    """
    topk = _check_topk(topk)
    ks = _check_ks(ks, topk.shape[1])
    recent = np.asarray(recent, dtype=bool)
    valid = (topk >= 0) & (topk < recent.size)
    is_recent = valid & recent[np.where(valid, topk, 0)]
    out = {}
    for k in sorted(ks):
        per_user = is_recent[:, :k].sum(axis=1) / k
        out[f"recent_share@{k}"] = float(per_user.mean()) if per_user.size else float("nan")
    return out


def ranking_metrics(
    topk: np.ndarray,
    test: sp.spmatrix | np.ndarray,
    ks: Sequence[int] | int = (10, 20),
    *,
    item_users: np.ndarray | None = None,
    n_train_users: int | None = None,
    item_vectors: np.ndarray | None = None,
) -> dict[str, float]:
    """All ranking and beyond-accuracy metrics at several cut-offs from one top-``K`` matrix.

    Parameters
    ----------
    topk:
        ``n_users × K`` item indices, best first, ``-1`` padding; ``K ≥ max(ks)``.
    test:
        ``n_users × n_items`` relevance, rows aligned with ``topk`` (nonzero = relevant).
    ks:
        Cut-offs.
    item_users:
        Number of training users per item (length ``n_items``). Enables coverage (over the
        items with ≥1 training user), novelty (needs ``n_train_users`` too) and Gini /
        exposure equality.
    n_train_users:
        Number of users with ≥1 training interaction (the ``n_users`` of novelty).
    item_vectors:
        ``n_items × d`` item representation for intra-list diversity (text embeddings, or a
        genre one-hot). Omitted → no diversity.

    Returns
    -------
    dict
        Flat ``{"precision@10": ..., "recall@20": ..., "f1@10": ..., "ndcg@10": ...,
        "hit_rate@20": ..., "map@20": ..., "coverage@20": ..., "novelty@20": ...,
        "diversity@20": ..., "gini@20": ..., "exposure_equality@20": ...}`` (float). Accuracy
        metrics average over users with ≥1 relevant item.
    """
    topk = _check_topk(topk)
    ks = _check_ks(ks, topk.shape[1])
    rel = _relevant(test, topk.shape[0])
    kmax = max(ks)
    hits = _hits(topk[:, :kmax], rel)
    n_rel = np.diff(rel.indptr).astype(np.float64)
    has_rel = n_rel > 0
    if not has_rel.any():
        logger.warning("ranking_metrics: no user has a relevant item; accuracy metrics are NaN")
    per_k = _accuracy_from_hits(hits, n_rel, ks)
    train_items = None
    if item_users is not None:
        item_users = np.asarray(item_users, dtype=np.float64)
        if item_users.shape != (rel.shape[1],):
            raise ValueError(f"item_users has shape {item_users.shape}, expected ({rel.shape[1]},)")
        train_items = item_users > 0
    if item_vectors is not None and np.shape(item_vectors)[0] != rel.shape[1]:
        raise ValueError(
            f"item_vectors has {np.shape(item_vectors)[0]} rows, expected {rel.shape[1]}"
        )
    out: dict[str, float] = {}
    for k in sorted(ks):
        for name in ACCURACY_METRICS:
            values = per_k[k][name][has_rel]
            out[f"{name}@{k}"] = float(values.mean()) if values.size else float("nan")
        head = topk[:, :k]
        if train_items is not None:
            out[f"coverage@{k}"] = coverage(head, max(int(train_items.sum()), 1))
            if n_train_users is not None:
                out[f"novelty@{k}"] = novelty(head, item_users, n_train_users)
        if item_vectors is not None:
            out[f"diversity@{k}"] = intra_list_diversity(head, item_vectors)
        if train_items is not None:
            g = exposure_gini(head, train_items)
            out[f"gini@{k}"] = g
            out[f"exposure_equality@{k}"] = 1.0 - g
    return out
