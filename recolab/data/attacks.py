"""Profile-injection (shilling) attacks, to test the detector and the defence.

Two classic push attacks (Lam & Riedl 2004; Mobasher et al. 2007), each fake profile made of
the **target** items at the top of the scale plus **filler** items:

- **random**: filler items drawn uniformly from the items with an interaction; on rating data
  each filler rating is drawn from N(global mean, global σ), rounded to the scale and clipped.
- **average**: on rating data, filler drawn uniformly and rated N(item mean, item σ), rounded
  and clipped (the attacker knows each item's mean); on implicit logs, where there is no
  rating to imitate, filler drawn with probability ∝ item popularity (the attacker imitates
  what people do) — harder to tell from real users than the random attack.

Targets get the data's highest rating (rating data) or the median interaction value
(implicit logs). The fakes get new user ids (``shill-0``, ``shill-1`` …, numbered on after
any earlier fakes) appended to the user vocabulary, so every existing index is unchanged.
With timestamps, ``timing`` says how a fake profile's interactions are stamped, each instant
uniform over the data's span:

- ``"spread"`` (default): every interaction at its own instant (the attacker spreads its
  activity so burst detection is not a free win; it leaves no session structure);
- ``"sessions"``: the profile's interactions fall in ``s`` sessions (baskets), ``s`` drawn
  from the genuine profiles' numbers of distinct timestamps — an attacker imitating how
  people shop, which defeats timing statistics;
- ``"burst"``: the whole profile at one instant (a bot placing one order).

Everything is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from recolab.data.interactions import InteractionData
from recolab.data.prices import ITEM_PRICE
from recolab.data.vocab import Vocabulary

#: Attack models :func:`inject_attack` knows.
ATTACKS = ("random", "average")

#: How fake interactions are stamped (see the module docstring).
TIMINGS = ("spread", "sessions", "burst")


@dataclass
class InjectedAttack:
    """The attacked data and what was planted.

    Attributes
    ----------
    data:
        The data with the fake profiles (same item vocabulary, user vocabulary extended).
    fake_users:
        User indices of the fake profiles (the last ones of the vocabulary).
    targets:
        Item indices pushed.
    """

    data: InteractionData
    fake_users: np.ndarray
    targets: np.ndarray


def choose_targets(data: InteractionData, n: int = 5, seed: int = 0) -> np.ndarray:
    """``n`` item indices drawn (seeded) among items whose interaction count lies between the
    25th and 75th percentile of the items with any: neither head items (already
    recommended everywhere) nor items too rare to matter."""
    counts = np.bincount(data.frame["item_idx"].to_numpy(), minlength=data.n_items)
    seen = counts > 0
    lo, hi = np.percentile(counts[seen], [25, 75])
    pool = np.flatnonzero(seen & (counts >= lo) & (counts <= hi))
    if len(pool) < n:
        raise ValueError(f"only {len(pool)} mid-popularity items to target, {n} asked")
    return np.sort(np.random.default_rng(seed).choice(pool, size=n, replace=False))


def _filler_items(
    data: InteractionData,
    kind: str,
    n_fakes: int,
    filler: int,
    targets: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """``n_fakes × filler`` item indices, no target and no repeat within a profile."""
    counts = np.bincount(data.frame["item_idx"].to_numpy(), minlength=data.n_items)
    counts = counts.astype(np.float64)
    counts[targets] = 0.0
    pool = np.flatnonzero(counts > 0)
    weights = None
    if kind == "average" and data.kind != "explicit":
        weights = counts[pool] / counts[pool].sum()
    filler = min(filler, len(pool))
    return np.stack(
        [rng.choice(pool, size=filler, replace=False, p=weights) for _ in range(n_fakes)]
    )


def _filler_ratings(
    data: InteractionData, kind: str, items: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Ratings of the filler items under the attack model (rating data only)."""
    f = data.frame
    r = f["rating"].to_numpy(np.float64)
    idx = f["item_idx"].to_numpy()
    lo, hi = float(np.nanmin(r)), float(np.nanmax(r))
    if kind == "random":
        mu, sd = np.full(items.shape, np.nanmean(r)), np.full(items.shape, np.nanstd(r))
    else:
        g = pd.DataFrame({"i": idx, "r": r}).groupby("i")["r"]
        mean = g.mean().reindex(range(data.n_items)).to_numpy()
        std = g.std(ddof=0).reindex(range(data.n_items)).fillna(0.0).to_numpy()
        mu, sd = mean[items], std[items]
    return np.clip(np.round(rng.normal(mu, sd)), lo, hi)


def inject_attack(
    data: InteractionData,
    kind: str,
    size: float,
    *,
    targets: np.ndarray | None = None,
    n_targets: int = 5,
    filler: int | None = None,
    timing: str = "spread",
    seed: int = 0,
) -> InjectedAttack:
    """Add ``round(size × n_users)`` fake profiles pushing ``targets`` (see the module docstring).

    Parameters
    ----------
    kind:
        ``"random"`` or ``"average"``.
    size:
        Fake profiles as a share of the current user count (0.03 = 3 %).
    targets:
        Item indices to push (default: :func:`choose_targets` with ``n_targets`` and ``seed``).
    filler:
        Filler items per profile (default: the median profile size of the real users, so
        profile length gives nothing away).
    """
    if kind not in ATTACKS:
        raise ValueError(f"attack must be one of {', '.join(ATTACKS)}, got {kind!r}")
    if timing not in TIMINGS:
        raise ValueError(f"timing must be one of {', '.join(TIMINGS)}, got {timing!r}")
    if not 0.0 < size < 1.0:
        raise ValueError(f"size must be in (0, 1), got {size}")
    rng = np.random.default_rng(seed)
    targets = choose_targets(data, n_targets, seed) if targets is None else np.asarray(targets)
    per_user = np.bincount(data.frame["user_idx"].to_numpy(), minlength=data.n_users)
    filler = int(np.median(per_user[per_user > 0])) if filler is None else int(filler)
    n_fakes = max(1, round(size * data.n_users))
    fill = _filler_items(data, kind, n_fakes, filler, targets, rng)
    items = np.concatenate([fill, np.tile(targets, (n_fakes, 1))], axis=1)
    users = np.repeat(np.arange(n_fakes) + data.n_users, items.shape[1])
    rows = pd.DataFrame({"user_idx": users, "item_idx": items.ravel()})
    # numbered after any earlier injection's fakes, so attacks can be stacked
    first = int(pd.Series(data.users.ids, dtype=str).str.startswith("shill-").sum())
    rows["user"] = [f"shill-{first + u - data.n_users}" for u in users]
    rows["item"] = data.items.ids[rows["item_idx"].to_numpy()].astype(str)
    rows["value"] = _fake_values(data, kind, fill, len(targets), rng)
    if "rating" in data.frame.columns:
        rows["rating"] = rows["value"] if data.kind == "explicit" else np.nan
    _copy_item_columns(data, rows, timing, rng)
    vocab = Vocabulary(np.concatenate([data.users.ids, rows["user"].unique().astype(object)]))
    frame = pd.concat([data.frame, rows[[c for c in data.frame.columns if c in rows]]])
    attacked = replace(data.with_frame(frame), users=vocab)
    fakes = np.arange(data.n_users, data.n_users + n_fakes, dtype=np.int64)
    return InjectedAttack(data=attacked, fake_users=fakes, targets=np.sort(targets))


def _fake_values(
    data: InteractionData, kind: str, fill: np.ndarray, n_targets: int, rng: np.random.Generator
) -> np.ndarray:
    """Values row by row (each profile: its filler, then its targets)."""
    if data.kind == "explicit" and "rating" in data.frame.columns:
        top = float(data.frame["rating"].max())
        ratings = _filler_ratings(data, kind, fill, rng)
        tops = np.full((fill.shape[0], n_targets), top)
        return np.concatenate([ratings, tops], axis=1).ravel()
    median = float(data.frame["value"].median())
    return np.full(fill.shape[0] * (fill.shape[1] + n_targets), median)


def _copy_item_columns(
    data: InteractionData, rows: pd.DataFrame, timing: str, rng: np.random.Generator
) -> None:
    """Timestamps drawn over the data's span (per ``timing``); each item's price as the real
    rows carry it."""
    f = data.frame
    if "timestamp" in f.columns and f["timestamp"].notna().any():
        rows["timestamp"] = pd.to_datetime(_fake_times(f, rows, timing, rng))
    if ITEM_PRICE in f.columns:
        price = f.groupby("item_idx")[ITEM_PRICE].first()
        rows[ITEM_PRICE] = price.reindex(rows["item_idx"]).to_numpy()


def _fake_times(
    f: pd.DataFrame, rows: pd.DataFrame, timing: str, rng: np.random.Generator
) -> np.ndarray:
    """Nanosecond stamps of the fake rows (grouped by profile, as ``rows`` is)."""
    lo, hi = f["timestamp"].min().value, f["timestamp"].max().value
    if timing == "spread":
        return rng.integers(lo, hi + 1, size=len(rows))
    user = rows["user_idx"].to_numpy()
    starts = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
    sizes = np.diff(np.r_[starts, len(user)])
    if timing == "burst":
        sessions = np.ones(len(sizes), dtype=np.int64)
    else:
        real = f.groupby("user_idx")["timestamp"].nunique().to_numpy()
        sessions = np.minimum(rng.choice(real, size=len(sizes)), sizes)
    out = np.empty(len(rows), dtype=np.int64)
    for start, n, s in zip(starts, sizes, sessions, strict=True):
        instants = rng.integers(lo, hi + 1, size=int(s))
        # every session gets one row, the rest fall in sessions at random
        pick = np.concatenate([np.arange(s), rng.integers(0, s, size=n - s)])
        out[start : start + n] = instants[rng.permutation(pick)]
    return out
