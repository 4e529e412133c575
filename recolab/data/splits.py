"""Train/test splits. Each returns ``(train, test)`` sharing the same vocabularies.

Every split partitions the interactions of its input exactly: each (user, item) row goes to
exactly one half. Seeded splits are reproducible: the same data and seed give the same halves.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from recolab.data.interactions import InteractionData
from recolab.data.io import fill_report_stats, load_interactions
from recolab.errors import DataError

logger = logging.getLogger(__name__)


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), not {value!r}")


def _halves(
    data: InteractionData, test_mask: np.ndarray, label: str
) -> tuple[InteractionData, InteractionData]:
    frame = data.frame
    base = data.name or "data"
    train = data.with_frame(frame[~test_mask], name=f"{base}[{label}:train]")
    test = data.with_frame(frame[test_mask], name=f"{base}[{label}:test]")
    return train, test


def _need_timestamps(data: InteractionData, split: str) -> np.ndarray:
    if "timestamp" not in data.frame.columns:
        raise DataError(
            f"{split} needs timestamps, but {data.name or 'the data'} has no timestamp column",
            file=data.report.source if data.report else None,
        )
    ts = data.frame["timestamp"].to_numpy(dtype="datetime64[ns]")
    if np.isnat(ts).any():
        raise DataError(f"{split} needs a timestamp on every interaction; some are missing")
    return ts.astype(np.int64)


def random_holdout(
    data: InteractionData, test_fraction: float = 0.2, seed: int = 0
) -> tuple[InteractionData, InteractionData]:
    """Per-user random holdout.

    Each user with ``n ≥ 2`` interactions puts ``max(1, round(test_fraction · n))`` of them
    (at most ``n - 1``) in test, chosen at random; users with a single interaction stay in
    train.

    Parameters
    ----------
    data:
        Interactions to split.
    test_fraction:
        Share of each user's interactions held out, in (0, 1).
    seed:
        Random seed; the same seed gives the same split.

    Returns
    -------
    tuple of InteractionData
        ``(train, test)`` sharing ``data``'s vocabularies.
    """
    _check_fraction("test_fraction", test_fraction)
    users = data.frame["user_idx"].to_numpy()
    n = len(users)
    rng = np.random.default_rng(seed)
    key = rng.random(n)
    order = np.lexsort((key, users))
    sorted_users = users[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_users)) + 1]
    counts = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, counts)
    n_test = np.where(
        counts >= 2,
        np.minimum(np.maximum(1, np.rint(test_fraction * counts)), counts - 1),
        0,
    ).astype(np.int64)
    test_sorted = rank < np.repeat(n_test, counts)
    mask = np.zeros(n, dtype=bool)
    mask[order] = test_sorted
    return _halves(data, mask, f"holdout{test_fraction:g}/seed{seed}")


#: The ``--split`` choices of ``train`` and ``evaluate`` for a single file.
SPLIT_CHOICES = ("random", "temporal", "last-basket")


def temporal_split(
    data: InteractionData,
    test_fraction: float | None = 0.2,
    *,
    cutoff: str | datetime | pd.Timestamp | None = None,
    by: str = "interactions",
) -> tuple[InteractionData, InteractionData]:
    """Global temporal split: interactions at or after a cutoff time ``T`` go to test.

    Every test timestamp is ≥ ``T`` and every training timestamp < ``T``, so no test
    interaction happens at or before any training one.

    Parameters
    ----------
    data:
        Interactions with a ``timestamp`` column.
    test_fraction:
        Without ``cutoff``: with ``by="interactions"`` the cutoff is the timestamp of the
        interaction at position ``⌊(1 - test_fraction) · n⌋`` in time order, so about this
        share of interactions goes to test (interactions tied with the cutoff all go to
        test); with ``by="time"`` it is ``t_min + (1 - test_fraction) · (t_max - t_min)``,
        the last ``test_fraction`` of the time span.
    cutoff:
        Explicit cutoff time (anything :func:`pandas.Timestamp` accepts); overrides
        ``test_fraction``.
    by:
        ``"interactions"`` (default) or ``"time"``: what ``test_fraction`` is a share of.

    Returns
    -------
    tuple of InteractionData
        ``(train, test)``; train strictly before the cutoff. Their names say the cutoff.

    Raises
    ------
    DataError
        The data have no timestamps, or the cutoff leaves train or test empty.
    """
    ts = _need_timestamps(data, "temporal_split")
    if cutoff is not None:
        cut = pd.Timestamp(cutoff)
        if cut.tzinfo is not None:
            cut = cut.tz_convert("UTC").tz_localize(None)
        cut_ns = int(cut.as_unit("ns").value)
        how = "given date"
    else:
        if test_fraction is None:
            raise ValueError("temporal_split needs test_fraction or cutoff")
        _check_fraction("test_fraction", test_fraction)
        if by == "interactions":
            pos = min(len(ts) - 1, int(np.floor((1.0 - test_fraction) * len(ts))))
            cut_ns = int(np.partition(ts, pos)[pos])
        elif by == "time":
            lo, hi = int(ts.min()), int(ts.max())
            cut_ns = lo + int(np.ceil((1.0 - test_fraction) * (hi - lo)))
        else:
            raise ValueError(f"by must be 'interactions' or 'time', not {by!r}")
        how = f"last {test_fraction:.0%} of {by}"
    mask = ts >= cut_ns
    if mask.all() or not mask.any():
        side = "training" if mask.all() else "test"
        raise DataError(
            f"temporal split at {pd.Timestamp(cut_ns)} leaves no {side} interactions "
            f"({data.name or 'the data'} spans {pd.Timestamp(int(ts.min()))} to "
            f"{pd.Timestamp(int(ts.max()))})"
        )
    return _halves(data, mask, f"temporal: test from {pd.Timestamp(cut_ns)} ({how})")


def leave_last_basket(
    data: InteractionData, *, basket: str | None = None
) -> tuple[InteractionData, InteractionData]:
    """Per user, the last basket goes to test: leave-last-basket.

    A basket is the rows sharing a timestamp, or, with ``basket`` (an invoice or basket
    column of the frame), the rows sharing that column's value. The user's last basket is
    the one holding their latest row; every row of the user at or after the basket's first
    timestamp goes to test, so within each user no test timestamp is ≤ a training one.
    Users with a single basket stay entirely in train (they have no history to predict
    from); their number is logged.

    Raises
    ------
    DataError
        The data have no timestamps, or the basket column is missing or has empty cells.
    """
    ts = _need_timestamps(data, "leave_last_basket")
    users = data.frame["user_idx"].to_numpy()
    latest = pd.Series(ts).groupby(users).transform("max").to_numpy()
    if basket is None:
        start = latest
        label = "leave-last-basket (basket: rows sharing a timestamp)"
    else:
        if basket not in data.frame.columns:
            raise DataError(f"leave_last_basket: no column {basket!r} in {data.name or 'the data'}")
        keys = data.frame[basket]
        if keys.isna().any():
            row = int(np.flatnonzero(keys.isna().to_numpy())[0])
            raise DataError(f"leave_last_basket: empty {basket!r} at row {row}")
        pairs = pd.MultiIndex.from_arrays([users, keys.to_numpy()])
        in_last = pairs.isin(pairs[ts == latest])
        first = np.where(in_last, ts, np.iinfo(np.int64).max)
        start = pd.Series(first).groupby(users).transform("min").to_numpy()
        label = f"leave-last-basket (basket: column {basket!r})"
    test = ts >= start
    only_test = pd.Series(test).groupby(users).transform("all").to_numpy()
    single = int(np.unique(users[only_test]).size)
    logger.info("leave_last_basket: %d users with a single basket stay in train", single)
    return _halves(data, test & ~only_test, label)


def time_split(
    data: InteractionData, split: str, test_fraction: float = 0.2
) -> tuple[InteractionData, InteractionData]:
    """The ``--split`` of a timed file: ``"temporal"`` (:func:`temporal_split`, the last
    ``test_fraction`` of interactions) or ``"last-basket"`` (:func:`leave_last_basket`)."""
    if split == "temporal":
        return temporal_split(data, test_fraction)
    if split == "last-basket":
        return leave_last_basket(data)
    raise ValueError(f"time_split: split must be 'temporal' or 'last-basket', not {split!r}")


def merge_pairs(data: InteractionData) -> InteractionData:
    """Merge the rows of one (user, item) pair, as :func:`~recolab.data.io.load_interactions`
    does by default (its ``duplicate_policy``; timestamp = latest), keeping the
    vocabularies. Used on each half of a log loaded with ``merge=False`` and split in time,
    so a pair bought before and after the cut is in both halves (a repeat purchase)."""
    from recolab.data.io import _merge_duplicates

    policy = data.report.duplicate_policy if data.report is not None else None
    policy = policy or ("last" if data.kind == "explicit" else "sum")
    columns = [c for c in data.frame.columns if c not in ("user_idx", "item_idx")]
    frame, n_merged = _merge_duplicates(data.frame[columns], policy, data.kind)
    frame["user_idx"] = data.users.index(frame["user"]).astype(np.int64)
    frame["item_idx"] = data.items.index(frame["item"]).astype(np.int64)
    out = data.with_frame(frame)
    if data.report is not None:
        report = copy.deepcopy(data.report)
        report.duplicates_merged = n_merged
        report.rows_kept = len(frame)
        report.notes.append(
            f"{data.name}: split in time before merging; {n_merged} repeat rows merged "
            f"into {len(frame)} (user, item) pairs"
        )
        fill_report_stats(out, report)
        out = replace(out, report=report)
    return out


def leave_last_n(data: InteractionData, n: int = 1) -> tuple[InteractionData, InteractionData]:
    """Per user, the ``n`` latest interactions go to test.

    Users with ``n`` interactions or fewer stay entirely in train. Ties in time are broken
    by row order (later rows count as later).

    Raises
    ------
    DataError
        The data have no timestamps.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    return _latest_per_user(
        data, lambda counts: np.where(counts > n, n, 0), "leave_last_n", f"last{n}"
    )


def per_user_latest(
    data: InteractionData, fraction: float = 0.2
) -> tuple[InteractionData, InteractionData]:
    """Per user, the latest ``max(1, round(fraction · n))`` of the user's ``n ≥ 2``
    interactions (at most ``n − 1``) go to test; users with one interaction stay in train.

    The time-aware twin of :func:`random_holdout`: what a log's validation split should be,
    since the model is asked to predict each user's next purchases, not random past ones.
    Ties in time are broken by row order (later rows count as later).

    Raises
    ------
    DataError
        The data have no timestamps.
    """
    _check_fraction("fraction", fraction)

    def held(counts: np.ndarray) -> np.ndarray:
        share = np.minimum(np.maximum(1, np.rint(fraction * counts)), counts - 1)
        return np.where(counts >= 2, share, 0).astype(np.int64)

    return _latest_per_user(data, held, "per_user_latest", f"latest{fraction:g}")


def _latest_per_user(
    data: InteractionData,
    n_held: Callable[[np.ndarray], np.ndarray],
    split: str,
    label: str,
) -> tuple[InteractionData, InteractionData]:
    """Each user's ``n_held(counts)`` latest interactions go to test."""
    ts = _need_timestamps(data, split)
    users = data.frame["user_idx"].to_numpy()
    size = len(users)
    order = np.lexsort((ts, users))  # stable: ties in time keep row order
    sorted_users = users[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_users)) + 1]
    counts = np.diff(np.r_[starts, size])
    from_end = np.repeat(starts + counts, counts) - np.arange(size)  # 1 for the latest
    test_sorted = from_end <= np.repeat(n_held(counts), counts)
    mask = np.zeros(size, dtype=bool)
    mask[order] = test_sorted
    return _halves(data, mask, label)


def _hold_out_entirely(
    data: InteractionData, side: str, fraction: float, seed: int
) -> tuple[InteractionData, InteractionData]:
    """Hold out a random share of the users or items (``side``) with interactions, with all
    their interactions (the cold-start splits)."""
    _check_fraction(f"{side}_fraction", fraction)
    ids = data.frame[f"{side}_idx"].to_numpy()
    present = np.unique(ids)
    k = max(1, round(fraction * len(present)))
    if k >= len(present):
        raise ValueError(f"cold_{side}_split would hold out every {side}")
    rng = np.random.default_rng(seed)
    held = rng.choice(present, size=k, replace=False)
    label = f"cold{side.capitalize()}s{fraction:g}/seed{seed}"
    return _halves(data, np.isin(ids, held), label)


def cold_item_split(
    data: InteractionData, item_fraction: float = 0.1, seed: int = 0
) -> tuple[InteractionData, InteractionData]:
    """Hold out a random share of items entirely: all their interactions go to test.

    Used to evaluate cold-start through item text: test items never appear in train.
    ``round(item_fraction · m)`` items are held out (at least one), where ``m`` is the number
    of items with interactions.
    """
    return _hold_out_entirely(data, "item", item_fraction, seed)


def cold_user_split(
    data: InteractionData, user_fraction: float = 0.1, seed: int = 0
) -> tuple[InteractionData, InteractionData]:
    """Hold out a random share of users entirely: all their interactions go to test.

    Used to evaluate recommendations for new users from their attributes alone: test users
    never appear in train. ``round(user_fraction · n)`` users are held out (at least one),
    where ``n`` is the number of users with interactions.

    Parameters
    ----------
    data:
        Interactions to split.
    user_fraction:
        Share of the users with interactions that is held out, in (0, 1).
    seed:
        Random seed; the same seed gives the same split.

    Returns
    -------
    tuple of InteractionData
        ``(train, test)`` sharing ``data``'s vocabularies.

    Raises
    ------
    ValueError
        ``user_fraction`` outside (0, 1), or it would hold out every user.
    """
    return _hold_out_entirely(data, "user", user_fraction, seed)


def given_files(
    train_path: str | Path,
    test_path: str | Path,
    *more_paths: str | Path,
    items: str | Path | None = None,
    mapping: Mapping[str, str] | None = None,
    **load_options: object,
) -> tuple[InteractionData, ...]:
    """Load a split that comes as two files (or more: train, validation, test); vocabularies
    are united so indices agree; one :class:`InteractionData` per file, in order.

    Train ids get the first indices (train's own order); test users and items unseen in
    train get the following ones, so they keep an index. Each half keeps its own
    :class:`~recolab.data.report.DataReport` (its size counts refer to the shared
    vocabularies).

    Parameters
    ----------
    train_path, test_path, *more_paths:
        The files (read with :func:`~recolab.data.io.load_interactions`).
    items:
        Optional item catalogue attached to both halves.
    mapping:
        Column mapping applied to both files.
    **load_options:
        Passed on to :func:`~recolab.data.io.load_interactions` (``duplicate_policy``,
        ``kind``, ``rating_range``).
    """
    train = load_interactions(train_path, mapping, items=items, **load_options)  # type: ignore[arg-type]
    others = [
        load_interactions(path, mapping, **load_options)  # type: ignore[arg-type]
        for path in (test_path, *more_paths)
    ]
    users, items_vocab = train.users, train.items
    for other in others:
        users, items_vocab = users.union(other.users), items_vocab.union(other.items)
    halves = []
    for part in (train, *others):
        frame = part.frame.copy()
        frame["user_idx"] = pd.Index(users.ids).get_indexer(frame["user"]).astype(np.int64)
        frame["item_idx"] = pd.Index(items_vocab.ids).get_indexer(frame["item"]).astype(np.int64)
        out = replace(part, users=users, items=items_vocab, frame=frame, item_meta=train.item_meta)
        if out.report is not None:
            fill_report_stats(out, out.report)
        halves.append(out)
    return tuple(halves)
