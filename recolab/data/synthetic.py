"""Synthetic interaction data with known structure, for tests and scaling checks."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recolab.data.interactions import InteractionData
from recolab.data.io import fill_report_stats
from recolab.data.report import DataReport
from recolab.data.vocab import Vocabulary

log = logging.getLogger(__name__)

#: Candidate pairs drawn per batch of rejection sampling (bounds peak memory).
_BATCH = 2_000_000

#: A candidate pair is kept with probability sigmoid(_SHARPNESS · (z - _THRESHOLD)), where
#: z = p_u·q_i / √rank ~ N(0, 1): users mostly pick items well aligned with their taste.
_SHARPNESS = 7.0
_THRESHOLD = 1.25

#: Start of the synthetic timestamps (one year of activity).
_T0 = np.datetime64("2020-01-01T00:00:00", "s")
_SPAN_S = 365 * 24 * 3600


def _power_law_sampler(n: int, skew: float, rng: np.random.Generator):
    """A sampler of ids ``0..n-1`` with P(id of rank r) ∝ r^-skew (continuous approximation).

    Ranks come from the inverse CDF of a power law on [1, n + 1), so sampling is O(1) per
    draw; ranks are assigned to ids by a random permutation.
    """
    perm = rng.permutation(n)
    s = float(skew)
    top = float(n + 1)

    def draw(size: int) -> np.ndarray:
        u = rng.random(size)
        if abs(s - 1.0) < 1e-9:
            r = np.exp(u * np.log(top))
        else:
            a = 1.0 - s
            r = ((top**a - 1.0) * u + 1.0) ** (1.0 / a)
        return perm[np.minimum(r.astype(np.int64) - 1, n - 1)]

    return draw


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: faster than hashing for many distinct int64)."""
    x = np.sort(x)
    if len(x) == 0:
        return x
    return x[np.r_[True, x[1:] != x[:-1]]]


def synthetic_interactions(
    n_users: int,
    n_items: int,
    n_interactions: int | None = None,
    density: float | None = None,
    rank: int = 16,
    popularity_skew: float = 1.0,
    explicit: bool = False,
    seed: int = 0,
) -> InteractionData:
    """Random interactions with latent-factor structure and a popularity long tail.

    Users and items get Gaussian factors ``P`` (users × rank) and ``Q`` (items × rank).
    Candidate pairs are drawn with users ∝ a Zipf(0.5) activity and items ∝ Zipf
    (``popularity_skew``); a pair is kept with probability ``sigmoid(7·(z - 1.25))`` where
    ``z = p_u·q_i/√rank``, so users mostly interact with items close to their taste. Pairs
    are unique. Sampling is vectorised in batches: 10⁷ interactions take about 1.3 GB peak.

    Parameters
    ----------
    n_users, n_items:
        Sizes of the vocabularies (``u0``…, ``i0``…); every id is in the vocabulary even
        without interactions.
    n_interactions, density:
        How many unique (user, item) pairs; give one (``density`` = pairs / (users·items)).
        Default: density 0.01.
    rank:
        Dimension of the latent factors.
    popularity_skew:
        Zipf exponent of item popularity (0: uniform).
    explicit:
        Ratings 1–5, ``round(3 + 1.5·(z - 1.25) + noise)`` clipped, instead of implicit
        events (value 1).
    seed:
        Random seed; the same arguments give the same data.

    Returns
    -------
    InteractionData
        With ``timestamp`` spread over 2020, ``user_meta``/``item_meta`` absent, and a
        report. ``frame`` rows are sorted by user, then item.

    Examples
    --------
    >>> d = synthetic_interactions(100, 50, n_interactions=500, seed=1)
    >>> d.n_users, d.n_items, d.n_interactions
    (100, 50, 500)
    """
    n_interactions = _pair_count(n_users, n_items, n_interactions, density)
    rng = np.random.default_rng(seed)
    P = rng.standard_normal((n_users, rank)).astype(np.float32)
    Q = rng.standard_normal((n_items, rank)).astype(np.float32)
    scale = np.float32(1.0 / np.sqrt(rank))
    uidx, iidx, rounds = _sample_pairs(P, Q, scale, n_interactions, popularity_skew, rng)
    user_ids = np.array([f"u{k}" for k in range(n_users)], dtype=object)
    item_ids = np.array([f"i{k}" for k in range(n_items)], dtype=object)
    seconds = rng.integers(0, _SPAN_S, size=len(uidx))
    rating = _ratings(P, Q, scale, uidx, iidx, rng) if explicit else None
    frame = _frame(user_ids[uidx], item_ids[iidx], uidx, iidx, seconds, rating)
    source = (
        f"synthetic(n_users={n_users}, n_items={n_items}, rank={rank}, "
        f"popularity_skew={popularity_skew}, seed={seed})"
    )
    report = _report(source, len(frame), rank, popularity_skew, explicit)
    data = InteractionData(
        users=Vocabulary(user_ids),
        items=Vocabulary(item_ids),
        frame=frame,
        kind="explicit" if explicit else "implicit",
        report=report,
        name="synthetic",
    )
    fill_report_stats(data, report)
    log.debug("synthetic: %d interactions in %d sampling rounds", len(frame), rounds)
    return data


def _frame(
    users: np.ndarray,
    items: np.ndarray,
    uidx: np.ndarray,
    iidx: np.ndarray,
    seconds: np.ndarray,
    rating: np.ndarray | None,
) -> pd.DataFrame:
    """The interactions table: ids and indices, the value (the rating, or 1) and a
    timestamp ``seconds`` after the start of 2020."""
    frame = pd.DataFrame(
        {
            "user": pd.array(users, dtype="str"),
            "item": pd.array(items, dtype="str"),
            "user_idx": uidx,
            "item_idx": iidx,
        }
    )
    if rating is not None:
        frame["value"] = rating
        frame["rating"] = rating
    else:
        frame["value"] = 1.0
    frame["timestamp"] = (_T0 + seconds.astype("timedelta64[s]")).astype("datetime64[ns]")
    return frame


def _report(
    source: str, n_rows: int, rank: int, popularity_skew: float, explicit: bool
) -> DataReport:
    """The data report of a generated set: every row kept, and how it was generated."""
    return DataReport(
        source=source,
        rows_read=n_rows,
        rows_kept=n_rows,
        duplicate_policy="none",
        kind="explicit" if explicit else "implicit",
        rules=[
            "generated: latent factors of rank "
            f"{rank}, item popularity Zipf({popularity_skew}), unique user-item pairs",
        ],
        columns={"user": "user", "item": "item"}
        | ({"rating": "rating"} if explicit else {})
        | {"timestamp": "timestamp"},
    )


def _pair_count(
    n_users: int, n_items: int, n_interactions: int | None, density: float | None
) -> int:
    """The number of unique pairs asked for, checked (see :func:`synthetic_interactions`)."""
    if n_users < 1 or n_items < 1:
        raise ValueError("n_users and n_items must be positive")
    cells = n_users * n_items
    if n_interactions is None:
        n_interactions = round((0.01 if density is None else density) * cells)
    elif density is not None:
        raise ValueError("give n_interactions or density, not both")
    n_interactions = int(n_interactions)
    if not 0 < n_interactions <= 0.5 * cells:
        raise ValueError(
            f"n_interactions must be between 1 and half of users × items ({cells // 2}), "
            f"not {n_interactions}"
        )
    return n_interactions


def _sample_pairs(
    P: np.ndarray,
    Q: np.ndarray,
    scale: np.float32,
    n_interactions: int,
    popularity_skew: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, int]:
    """``n_interactions`` unique (user, item) index pairs sorted by user then item, drawn
    by activity and popularity and kept by affinity (see :func:`synthetic_interactions`),
    and the number of sampling rounds it took."""
    n_users, n_items = P.shape[0], Q.shape[0]
    draw_user = _power_law_sampler(n_users, 0.5, rng)
    draw_item = _power_law_sampler(n_items, popularity_skew, rng)
    keys = np.empty(0, dtype=np.int64)
    rounds = 0
    while len(keys) < n_interactions:
        target = int(1.1 * (n_interactions - len(keys))) + 64
        found: list[np.ndarray] = []
        n_found = 0
        batch = int(min(_BATCH, max(1 << 16, 16 * target)))
        while n_found < target:
            rounds += 1
            if rounds > 10_000:
                raise RuntimeError("synthetic_interactions: sampling did not converge")
            u = draw_user(batch)
            i = draw_item(batch)
            z = np.einsum("ij,ij->i", P[u], Q[i]) * scale
            aff = _SHARPNESS * (z - _THRESHOLD)
            accept = rng.random(batch) < 1.0 / (1.0 + np.exp(-aff))
            found.append(u[accept].astype(np.int64) * n_items + i[accept])
            n_found += int(accept.sum())
        keys = _sorted_unique(np.concatenate([keys, *found]))
        del found
    if len(keys) > n_interactions:
        # a uniformly random subset, so the cut favours no user or item
        keys = np.sort(rng.choice(keys, size=n_interactions, replace=False))
    return keys // n_items, keys % n_items, rounds


def _ratings(
    P: np.ndarray,
    Q: np.ndarray,
    scale: np.float32,
    uidx: np.ndarray,
    iidx: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Ratings 1–5 of the pairs: ``round(3 + 1.5·(z − 1.25) + noise)``, clipped."""
    aff = np.empty(len(uidx), dtype=np.float32)
    for start in range(0, len(uidx), _BATCH):
        sl = slice(start, start + _BATCH)
        aff[sl] = np.einsum("ij,ij->i", P[uidx[sl]], Q[iidx[sl]]) * scale
    noisy = 1.5 * (aff - _THRESHOLD) + rng.normal(0.0, 0.5, size=len(aff))
    return np.clip(np.rint(3.0 + noisy), 1, 5).astype(np.float64)


def random_rating_matrix(
    n_users: int,
    n_items: int,
    sparsity_p: float,
    seed: int = 0,
    rating_scale: tuple[int, int] = (1, 5),
) -> sp.csr_matrix:
    """A users × items matrix of uniform random integer ratings with sparsity ``p``.

    Each cell is empty with probability ``sparsity_p`` and otherwise holds a rating drawn
    uniformly from ``rating_scale`` (inclusive). No structure: a baseline of pure noise.

    Parameters
    ----------
    n_users, n_items:
        Shape.
    sparsity_p:
        Probability that a cell is empty, in [0, 1].
    seed:
        Random seed.
    rating_scale:
        Lowest and highest rating.

    Returns
    -------
    scipy.sparse.csr_matrix
        float32, sorted indices, no explicit zeros.
    """
    if not 0.0 <= sparsity_p <= 1.0:
        raise ValueError(f"sparsity_p must be in [0, 1], not {sparsity_p!r}")
    lo, hi = rating_scale
    rng = np.random.default_rng(seed)
    rows_per_block = max(1, 4_000_000 // max(n_items, 1))
    blocks = []
    for start in range(0, n_users, rows_per_block):
        stop = min(n_users, start + rows_per_block)
        mask = rng.random((stop - start, n_items)) >= sparsity_p
        r, c = np.nonzero(mask)
        vals = rng.integers(lo, hi + 1, size=len(r)).astype(np.float32)
        blocks.append(
            sp.csr_matrix((vals, (r, c)), shape=(stop - start, n_items), dtype=np.float32)
        )
    if not blocks:
        return sp.csr_matrix((n_users, n_items), dtype=np.float32)
    out = sp.vstack(blocks, format="csr")
    out.sort_indices()
    return out
