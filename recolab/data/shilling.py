"""Suspicious-profile (shilling) detection and the optional defence before training.

A *shilling* or *profile-injection* attack adds fake user profiles that rate (or click) a
few **target** items at the top of the scale, padded with **filler** items so the fakes look
like users (Lam & Riedl 2004; Mobasher et al. 2007). :func:`detect_shilling` scores every
user on the statistics below and flags the ones far out in the tail of the data's own
distribution. A flag is a list of reasons with the statistic and its threshold; flags never
change the data: :func:`defend` does, only when asked (``recolab train --defend``).

Statistics (user ``u`` with profile ``I_u``, ``n_u = |I_u|``; item ``i`` with ``NR_i``
ratings and mean rating ``r̄_i``; all computed on the data as loaded, fakes included):

- **RDMA**, Rating Deviation from Mean Agreement (Chirita et al. 2005), explicit data::

      RDMA_u = (1 / n_u) · Σ_{i ∈ I_u} |r_ui − r̄_i| / NR_i

  large when a profile disagrees with the crowd on items few people rated.
- **WDMA**, Weighted Degree of Mean Agreement (Williams et al. 2007), explicit data::

      WDMA_u = (1 / n_u) · Σ_{i ∈ I_u} |r_ui − r̄_i| / NR_i²

  RDMA with the rarity weight squared: rare items dominate.
- **extreme share**, explicit data: the larger of the shares of the profile rated at the
  scale's maximum and at its minimum (the data's highest and lowest rating) — "many items with
  the same extreme rating".
- **rare-item profile**: the mean of ``log2(1 + NR_i)`` over ``I_u`` (implicit and explicit).
  Genuine users meet items roughly by popularity; filler drawn uniformly from the catalogue
  (the random attack) lands mostly on the long tail, so a low value is suspicious.
- **burst**, timed data: the most interactions of the user within any window of
  ``burst_window`` (one hour by default) — many interactions in a short time.
- **no sessions**, timed data: the finite-size burstiness of the profile's inter-event
  times (Goh & Barabási 2008; Kim & Jo 2016)::

      r = σ_τ / μ_τ,   A_n = (√(n+1)·r − √(n−1)) / ((√(n+1) − 2)·r + √(n−1))

  over the ``n`` gaps ``τ`` between a profile's sorted interaction times: ``A_n`` is about 0
  for a Poisson process whatever ``n`` (median −0.015 at ``n = 35`` in simulation), −1 for a
  periodic one, → 1 for very bursty ones. Human activity is bursty — ratings come in
  sittings, purchases in baskets (many rows share an invoice time), separated by long pauses
  — so genuine profiles sit well above 0. A script that stamps interactions independently
  over months to stay under the burst window (or a timer bot) gives ``A_n ≈ 0`` (or below),
  so a **low** value is suspicious. Not judged when all of a profile's interactions share
  one instant (μ = 0: the burst statistic's case) or the profile is below ``min_profile``.
  Rows are (user, item) pairs, so a log aggregated to the first purchase keeps its basket
  structure.
- **target items** (item side, after the profile statistics above): an item is *suspect*
  when at least ``min_group`` of its users are flagged and that many flagged users is far
  beyond chance (binomial tail at the flagged share of all active profiles below
  ``0.001 / n_items``, a Bonferroni bound) — the push targets of an
  attack whose profiles were partly caught (target-item analysis, Zhou et al. 2016,
  SVM-TIA). A profile holding at least ``min_target_items`` suspect items is flagged too:
  the fakes the profile statistics missed share the targets with the ones they caught.
- **near duplicate**: each user's largest Jaccard similarity ``|I_u ∩ I_v| / |I_u ∪ I_v|`` to
  another user, computed sparsely in blocks of users (``X_block · Xᵀ`` on the binary matrix,
  never a dense users × users matrix; memory follows the block's co-occurrences).

Thresholds come from the data (robust statistics, so the fakes themselves barely move them):
for a statistic ``x`` over the users it judges, ``t = median(x) + k · 1.4826 · MAD(x)`` on
the suspicious side (``median − k·…`` for the rare-item profile and the burstiness), ``MAD``
the median absolute deviation (1.4826·MAD estimates a normal σ) and ``k = 3.5``, the
modified z-score cut-off of Iglewicz & Hoaglin. RDMA, WDMA and the burst size are positive
and right-skewed, so their threshold is taken on ``log x`` and reported back in the
statistic's units (on ML-100K ``u1.base`` the raw-scale rule flagged 140 of 943 users on
WDMA alone, the log-scale rule 0; a zero is raised to the smallest positive value first).
When MAD is 0 it is replaced by ``1.2533 ×`` the mean absolute deviation (the same σ
estimate); when that is also 0 the statistic flags nobody. Floors keep a threshold
meaningful on tiny or uniform data: at least ``min_extreme`` extreme ratings, a burst of at
least ``min_burst`` interactions, a Jaccard of at least ``min_jaccard``. Rating statistics
judge only profiles with at least ``min_profile`` interactions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import betainc

from recolab.data.interactions import InteractionData

log = logging.getLogger(__name__)

#: 1.4826 · MAD estimates σ of a normal distribution; 1.2533 · mean |x − median| does too.
MAD_SCALE = 1.4826
MEAN_AD_SCALE = 1.2533

#: Default burst window.
BURST_WINDOW = pd.Timedelta(hours=1)

#: The reasons, in the order they are reported.
REASONS = (
    "rdma",
    "wdma",
    "extreme",
    "rare_items",
    "burst",
    "no_sessions",
    "near_duplicate",
    "target_items",
)

#: Statistics flagged on their low side.
LOW_SIDE = frozenset({"rare_items", "no_sessions"})

#: Positive, right-skewed statistics whose robust threshold is taken on a log scale.
LOG_SCALE = frozenset({"rdma", "wdma", "burst"})

#: What each reason means, for the report.
REASON_TEXT = {
    "rdma": "high RDMA (rating deviation from mean agreement)",
    "wdma": "high WDMA (weighted degree of mean agreement)",
    "extreme": "many items with the same extreme rating",
    "rare_items": "profile made of rarely-seen items (catalogue-random filler)",
    "burst": "burst of activity (many interactions within the window)",
    "no_sessions": "activity without sessions or baskets (burstiness near a Poisson process)",
    "near_duplicate": "near-duplicate of another profile (Jaccard of item sets)",
    "target_items": "holds several suspect items (items with far more flagged users than chance)",
}

#: What ``train --defend`` can do with flagged profiles.
DEFENCES = ("off", "downweight", "remove")


@dataclass(frozen=True)
class ShillingOptions:
    """Detection settings (see the module docstring for each statistic and threshold).

    Parameters
    ----------
    k:
        Robust z cut-off: a statistic is flagged beyond median ± k · 1.4826 · MAD.
    min_profile:
        Rating and popularity statistics judge users with at least this many interactions.
    min_extreme, min_burst, min_jaccard:
        Floors of the extreme-rating count, the burst size and the near-duplicate Jaccard.
    burst_window:
        Width of the burst window.
    block_users:
        Users per block of the sparse Jaccard product (memory ∝ the block's co-occurrences).
    """

    k: float = 3.5
    min_profile: int = 10
    min_extreme: int = 10
    min_burst: int = 10
    min_jaccard: float = 0.5
    min_group: int = 5
    min_target_items: int = 3
    burst_window: pd.Timedelta = BURST_WINDOW
    block_users: int = 2048

    def __post_init__(self) -> None:
        if not self.k > 0 or min(self.min_profile, self.block_users, self.min_group) < 1:
            raise ValueError("k must be > 0, min_profile, min_group and block_users ≥ 1")
        if self.min_target_items < 1:
            raise ValueError(f"min_target_items must be ≥ 1, got {self.min_target_items}")
        if not 0.0 < self.min_jaccard <= 1.0:
            raise ValueError(f"min_jaccard must be in (0, 1], got {self.min_jaccard}")


@dataclass
class SuspicionReport:
    """Flagged profiles with their reasons; nothing here changes the data.

    Attributes
    ----------
    flags:
        User index → reasons, each ``{"reason", "value", "threshold"}``.
    thresholds:
        Reason → the threshold used (absent: the statistic did not apply to these data).
    judged:
        Reason → how many users the statistic judged.
    stats:
        Reason → the per-user statistic (NaN where not judged).
    suspect_items:
        Item indices found suspect by the target-item step (sorted).
    """

    n_users: int
    flags: dict[int, list[dict[str, float | str]]] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    judged: dict[str, int] = field(default_factory=dict)
    stats: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    options: ShillingOptions = field(default_factory=ShillingOptions)
    suspect_items: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def flagged(self) -> np.ndarray:
        """Indices of the flagged users, sorted."""
        return np.array(sorted(self.flags), dtype=np.int64)

    def reason_counts(self) -> dict[str, int]:
        """Reason → flagged users, most frequent first."""
        counts: dict[str, int] = {}
        for reasons in self.flags.values():
            for r in reasons:
                counts[str(r["reason"])] = counts.get(str(r["reason"]), 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def summary(self, data: InteractionData, examples: int = 5) -> dict[str, Any]:
        """Plain-JSON summary for :class:`~recolab.data.report.DataReport`: counts, top
        reasons, thresholds and a few flagged users (by id) with their reasons."""
        top = sorted(self.flags.items(), key=lambda kv: -len(kv[1]))[:examples]
        return {
            "users": self.n_users,
            "flagged": len(self.flags),
            "reasons": self.reason_counts(),
            "thresholds": {k: float(v) for k, v in self.thresholds.items()},
            "judged": dict(self.judged),
            "meaning": {r: REASON_TEXT[r] for r in self.thresholds},
            "rule": (
                f"median + {self.options.k:g} x 1.4826 MAD of each statistic (log scale for "
                "rdma, wdma, burst; median - ... for rare_items, no_sessions; target_items: "
                f"at least {self.options.min_target_items} suspect items)"
            ),
            "suspect_items": [str(data.items.ids[i]) for i in self.suspect_items],
            "examples": [
                {"user": str(data.users.ids[u]), "reasons": reasons} for u, reasons in top
            ],
        }


def robust_threshold(values: np.ndarray, k: float, low: bool = False) -> float | None:
    """``median ± k · σ̂`` of the finite ``values`` (``σ̂ = 1.4826 · MAD``, or ``1.2533 ·``
    mean absolute deviation when MAD is 0); ``None`` when the spread is 0 or nothing is
    finite. ``low`` gives the lower threshold.

    >>> robust_threshold(np.array([1.0, 2.0, 3.0, 4.0, 100.0]), k=3.5)
    8.1891
    """
    x = values[np.isfinite(values)]
    if len(x) == 0:
        return None
    med = float(np.median(x))
    dev = np.abs(x - med)
    sigma = MAD_SCALE * float(np.median(dev))
    if sigma == 0:
        sigma = MEAN_AD_SCALE * float(dev.mean())
    if sigma == 0:
        return None
    return round(med - k * sigma if low else med + k * sigma, 6)


def rating_statistics(
    users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int
) -> dict[str, np.ndarray]:
    """Per-user RDMA, WDMA and extreme share (see the module docstring) of one rating per
    (user, item) row; users without a rating get NaN.

    >>> s = rating_statistics(np.array([0, 0, 1]), np.array([0, 1, 0]),
    ...                       np.array([5.0, 1.0, 3.0]), 2, 2)
    >>> s["rdma"].round(3).tolist()   # item 0: mean 4, 2 ratings; item 1: mean 1, 1 rating
    [0.25, 0.5]
    """
    nr = np.bincount(items, minlength=n_items).astype(np.float64)
    mean = np.bincount(items, weights=ratings, minlength=n_items) / np.maximum(nr, 1)
    dev = np.abs(ratings - mean[items])
    n_u = np.bincount(users, minlength=n_users).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rdma = np.bincount(users, weights=dev / nr[items], minlength=n_users) / n_u
        wdma = np.bincount(users, weights=dev / nr[items] ** 2, minlength=n_users) / n_u
        top = np.bincount(users, weights=ratings == ratings.max(), minlength=n_users)
        bottom = np.bincount(users, weights=ratings == ratings.min(), minlength=n_users)
        extreme = np.maximum(top, bottom) / n_u
    return {"rdma": rdma, "wdma": wdma, "extreme": extreme, "extreme_count": n_u * extreme}


def rare_item_statistic(
    users: np.ndarray, items: np.ndarray, n_users: int, n_items: int
) -> np.ndarray:
    """Per-user mean of ``log2(1 + NR_i)`` over the profile (NaN for empty profiles)."""
    nr = np.bincount(items, minlength=n_items).astype(np.float64)
    n_u = np.bincount(users, minlength=n_users).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.bincount(users, weights=np.log2(1 + nr[items]), minlength=n_users) / n_u


def burst_statistic(
    users: np.ndarray, times: np.ndarray, n_users: int, window: pd.Timedelta
) -> np.ndarray:
    """Per-user largest number of interactions within any ``window`` (0 for empty profiles;
    rows with a missing time are not counted)."""
    ok = ~pd.isna(times)
    users, t = users[ok], pd.to_datetime(times[ok]).asi8 // 10**9
    out = np.zeros(n_users, dtype=np.float64)
    if len(t) == 0:
        return out
    span = int(t.max() - t.min()) + int(window.total_seconds()) + 1
    key = users.astype(np.int64) * span + (t - t.min())
    order = np.argsort(key, kind="stable")
    key, users = key[order], users[order]
    inside = np.searchsorted(key, key + int(window.total_seconds()), side="left")
    inside -= np.arange(len(key))
    np.maximum.at(out, users, inside.astype(np.float64))
    return out


def burstiness_statistic(users: np.ndarray, times: np.ndarray, n_users: int) -> np.ndarray:
    """Per-user finite-size burstiness ``A_n`` of the sorted interaction times (Kim & Jo
    2016; see the module docstring): 0 for Poisson timing, −1 periodic, near 1 bursty. NaN
    with fewer than 3 timed interactions or when all share one instant.

    >>> t = pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:00", "2024-02-01 00:00",
    ...                     "2024-03-01 09:00", "2024-03-01 09:00"]).to_numpy()
    >>> a = burstiness_statistic(np.array([0, 0, 0, 1, 1]), t, 2)
    >>> round(float(a[0]), 3), bool(np.isnan(a[1]))  # gaps 0 and a month; one gap only
    (1.0, True)
    """
    ok = ~pd.isna(times)
    users = users[ok].astype(np.int64)
    t = pd.to_datetime(times[ok]).asi8 // 10**9
    order = np.lexsort((t, users))
    users, t = users[order], t[order].astype(np.float64)
    same = users[1:] == users[:-1]
    gaps, owner = (t[1:] - t[:-1])[same], users[1:][same]
    m = np.bincount(owner, minlength=n_users).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(owner, weights=gaps, minlength=n_users) / m
        var = np.bincount(owner, weights=gaps * gaps, minlength=n_users) / m - mean**2
        r = np.sqrt(np.maximum(var, 0.0)) / mean
        n = m
        a = (np.sqrt(n + 1) * r - np.sqrt(n - 1)) / ((np.sqrt(n + 1) - 2) * r + np.sqrt(n - 1))
    a[(m < 2) | ~(mean > 0)] = np.nan
    return a


def suspect_items(
    users: np.ndarray, items: np.ndarray, flagged: np.ndarray, n_items: int, o: ShillingOptions
) -> np.ndarray:
    """Items used by far more flagged profiles than chance allows (see the module docstring's
    *target items*); ``flagged`` is a boolean mask over user indices, ``users``/``items``
    one row per (user, item) pair."""
    active = np.bincount(users, minlength=len(flagged)) > 0
    share = float(flagged[active].mean()) if active.any() else 0.0
    if share == 0.0:
        return np.zeros(0, dtype=np.int64)
    n_i = np.bincount(items, minlength=n_items)
    f_i = np.bincount(items, weights=flagged[users], minlength=n_items)
    cand = np.flatnonzero(f_i >= o.min_group)
    f, n = f_i[cand], n_i[cand]
    tail = betainc(f, n - f + 1, share)  # binomial P(X ≥ f) = I_share(f, n − f + 1)
    return cand[tail < 0.001 / max(n_items, 1)]


def max_jaccard(x: sp.csr_matrix, block_users: int = 2048) -> np.ndarray:
    """Each row's largest Jaccard similarity to another row of the binary matrix ``x``
    (users × items), in blocks of ``block_users`` rows: ``C = X_b · Xᵀ`` holds only the pairs
    that share an item, never a dense users × users matrix.

    >>> x = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]]))
    >>> max_jaccard(x).tolist()
    [1.0, 1.0, 0.0]
    """
    x = sp.csr_matrix(x, dtype=np.float32, copy=True)  # the caller's matrix stays as it is
    x.data[:] = 1.0
    sizes = np.asarray(x.getnnz(axis=1), dtype=np.float64)
    xt = x.T.tocsr()
    out = np.zeros(x.shape[0], dtype=np.float64)
    for start in range(0, x.shape[0], block_users):
        stop = min(start + block_users, x.shape[0])
        c = (x[start:stop] @ xt).tocoo()
        rows = c.row + start
        keep = rows != c.col
        rows, cols, shared = rows[keep], c.col[keep], c.data[keep].astype(np.float64)
        jac = shared / (sizes[rows] + sizes[cols] - shared)
        np.maximum.at(out, rows, jac)
    return out


def user_statistics(data: InteractionData, options: ShillingOptions) -> dict[str, np.ndarray]:
    """Every statistic the data allow, per user index (NaN where a user is not judged)."""
    f = data.frame
    users = f["user_idx"].to_numpy(np.int64)
    items = f["item_idx"].to_numpy(np.int64)
    n_u = np.bincount(users, minlength=data.n_users)
    small = n_u < options.min_profile
    stats: dict[str, np.ndarray] = {}
    if data.kind == "explicit" and "rating" in f.columns:
        rated = f["rating"].notna().to_numpy()
        r = f["rating"].to_numpy(np.float64)[rated]
        found = rating_statistics(users[rated], items[rated], r, data.n_users, data.n_items)
        stats.update(found)
    stats["rare_items"] = rare_item_statistic(users, items, data.n_users, data.n_items)
    for name in ("rdma", "wdma", "extreme", "extreme_count", "rare_items"):
        if name in stats:
            stats[name][small] = np.nan
    if "timestamp" in f.columns and f["timestamp"].notna().any():
        stats["burst"] = burst_statistic(
            users, f["timestamp"].to_numpy(), data.n_users, options.burst_window
        )
        stats["burst"][n_u == 0] = np.nan
        stats["no_sessions"] = burstiness_statistic(users, f["timestamp"].to_numpy(), data.n_users)
        stats["no_sessions"][small] = np.nan
    jac = max_jaccard(data.matrix(binary=True), options.block_users)
    jac[n_u < options.min_profile] = np.nan
    stats["near_duplicate"] = jac
    return stats


def _positive(x: np.ndarray) -> np.ndarray:
    """``x`` with zeros raised to the smallest positive value (so a log is finite)."""
    pos = x[np.isfinite(x) & (x > 0)]
    return np.where(x > 0, x, pos.min() if len(pos) else 1.0) if len(x) else x


def _thresholds(stats: dict[str, np.ndarray], o: ShillingOptions) -> dict[str, float]:
    """Reason → threshold (robust z, then the floors); a statistic with no spread is left
    out."""
    out: dict[str, float] = {}
    for name in REASONS:
        if name not in stats or name == "target_items":
            continue
        x = stats[name]
        if name in LOG_SCALE:
            t = robust_threshold(np.log(_positive(x)), o.k)
            t = None if t is None else round(float(np.exp(t)), 6)
        else:
            t = robust_threshold(x, o.k, low=name in LOW_SIDE)
        if t is None:
            continue
        if name == "burst":
            t = max(t, float(o.min_burst))
        elif name == "near_duplicate":
            t = max(t, o.min_jaccard)
        out[name] = t
    return out


def detect_shilling(
    data: InteractionData, options: ShillingOptions | None = None
) -> SuspicionReport:
    """Flag suspicious profiles of ``data`` with their reasons (see the module docstring).

    Returns
    -------
    SuspicionReport
        Flags per user index; the data are not changed.

    Examples
    --------
    >>> from recolab.data.synthetic import synthetic_interactions
    >>> report = detect_shilling(synthetic_interactions(200, 100, seed=0))
    >>> report.n_users
    200
    """
    o = options or ShillingOptions()
    stats = user_statistics(data, o)
    thresholds = _thresholds(stats, o)
    report = SuspicionReport(n_users=data.n_users, thresholds=thresholds, stats=stats, options=o)
    for name, t in thresholds.items():
        x = stats[name]
        report.judged[name] = int(np.isfinite(x).sum())
        with np.errstate(invalid="ignore"):
            hit = x < t if name in LOW_SIDE else x > t
        if name == "extreme":
            hit &= stats["extreme_count"] >= o.min_extreme
        _flag(report, name, hit, x, t)
    _target_item_step(data, report)
    log.info(
        "shilling check: %d of %d users flagged (%s)",
        len(report.flags),
        data.n_users,
        report.reason_counts(),
    )
    return report


def _flag(report: SuspicionReport, name: str, hit: np.ndarray, x: np.ndarray, t: float) -> None:
    """Add reason ``name`` to every user of the mask ``hit``."""
    for u in np.flatnonzero(hit):
        report.flags.setdefault(int(u), []).append(
            {"reason": name, "value": round(float(x[u]), 6), "threshold": t}
        )


def _target_item_step(data: InteractionData, report: SuspicionReport) -> None:
    """Find suspect items among the profiles flagged so far, then flag every profile (not
    yet flagged) holding at least ``min_target_items`` of them."""
    o = report.options
    f = data.frame[["user_idx", "item_idx"]].drop_duplicates()
    users = f["user_idx"].to_numpy(np.int64)
    items = f["item_idx"].to_numpy(np.int64)
    flagged = np.zeros(data.n_users, dtype=bool)
    flagged[report.flagged] = True
    found = suspect_items(users, items, flagged, data.n_items, o)
    report.suspect_items = np.sort(found)
    count = np.bincount(users, weights=np.isin(items, found), minlength=data.n_users)
    report.stats["target_items"] = count
    report.judged["target_items"] = int((np.bincount(users, minlength=data.n_users) > 0).sum())
    if len(found) < o.min_target_items:
        return
    report.thresholds["target_items"] = float(o.min_target_items)
    _flag(
        report, "target_items", (count >= o.min_target_items) & ~flagged, count, o.min_target_items
    )


def defend(
    data: InteractionData,
    mode: str,
    report: SuspicionReport | None = None,
    *,
    weight: float = 0.25,
    seed: int = 0,
) -> tuple[InteractionData, dict[str, Any]]:
    """The training data with flagged profiles removed or down-weighted, and what was done.

    Parameters
    ----------
    mode:
        ``"off"`` (unchanged), ``"remove"`` (every interaction of a flagged user leaves the
        training data; the user keeps its vocabulary entry) or ``"downweight"`` (each
        interaction of a flagged user is kept with probability ``weight``, seeded: the
        default model reads a binary matrix, so a flagged profile's expected share of every
        item count falls to ``weight`` and of every co-occurrence in ``XᵀX`` to ``weight²``).
    report:
        Flags from :func:`detect_shilling` (default: computed on ``data``).

    Returns
    -------
    (data, summary)
        ``summary`` counts flagged users and the interactions removed (nothing silently).
    """
    if mode not in DEFENCES:
        raise ValueError(f"defence must be one of {', '.join(DEFENCES)}, got {mode!r}")
    if mode == "off":
        return data, {"mode": "off", "flagged_users": 0, "interactions_removed": 0}
    report = report or detect_shilling(data)
    flagged = np.isin(data.frame["user_idx"].to_numpy(), report.flagged)
    drop = flagged
    if mode == "downweight":
        if not 0.0 < weight < 1.0:
            raise ValueError(f"weight must be in (0, 1), got {weight}")
        keep = np.random.default_rng(seed).random(len(flagged)) < weight
        drop = flagged & ~keep
    out = data.with_frame(data.frame.loc[~drop])
    summary = {
        "mode": mode,
        "weight": weight if mode == "downweight" else 0.0,
        "flagged_users": len(report.flags),
        "interactions_removed": int(drop.sum()),
        "interactions_kept": out.n_interactions,
        "reasons": report.reason_counts(),
    }
    log.info("defence %s: %s", mode, summary)
    return out, summary
