"""The validation split every training carves out of its training data (never the test set)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from recolab.data.interactions import InteractionData
from recolab.data.splits import merge_pairs, per_user_latest, random_holdout, temporal_split
from recolab.errors import DataError

logger = logging.getLogger(__name__)

#: Share of each user's training interactions held out for validation.
VALID_FRACTION = 0.2

#: Validation users the selection judges at most; beyond this, a seeded sample of them. The
#: mechanisms' fronts keep every judged user's 400 candidates with their scores,
#: standardised relevance and lookup keys (36 bytes a candidate, about 290 MB for 20,000
#: users), and every trial, neighbour count and λ evaluated scores the judged users once.
#: ML-100K, the retail log and the scaling benchmark up to 10^6 interactions have fewer
#: users and are judged whole; at 10^7 (200,000 users) one evaluation of the sparse base
#: over every validation user took 239 s.
MAX_JUDGED_USERS = 20_000


@dataclass(frozen=True)
class ValidationSplit:
    """Training data split into the part models are fitted on and the part they are judged on.

    Attributes
    ----------
    fit, valid:
        The two halves, sharing the training data's vocabularies.
    method:
        ``"per-user random"``, ``"per-user latest by time"``, ``"global time cut"`` or
        ``"given"``.
    description:
        One line for reports and model cards.
    fit_purchases:
        For repeat purchases (``rows`` given to :func:`validation_split`): users × items
        counts of the purchases in ``fit``, on its pairs; else ``None``.
    """

    fit: InteractionData
    valid: InteractionData
    method: str
    description: str
    fit_purchases: sp.csr_matrix | None = None


def is_timed_log(data: InteractionData) -> bool:
    """Whether ``data`` is a behaviour log in time: implicit feedback with a timestamp on
    every interaction. Ratings (explicit data) are validated at random even when timed."""
    frame = data.frame
    timed = "timestamp" in frame.columns and not frame["timestamp"].isna().any()
    return timed and data.kind == "implicit"


def _timestamps(data: InteractionData) -> np.ndarray | None:
    frame = data.frame
    if "timestamp" not in frame.columns or len(frame) == 0:
        return None
    ts = frame["timestamp"].to_numpy(dtype="datetime64[ns]")
    return None if np.isnat(ts).any() else ts


def is_forward_split(train: InteractionData, test: InteractionData | None) -> bool:
    """Whether ``test`` lies after ``train`` in time: both carry a timestamp on every
    interaction and every test interaction is later than every training one, as in a
    global temporal split (:func:`~recolab.data.splits.temporal_split`).

    Validation should then look forward in time too (:func:`validation_split`'s
    ``forward``). On the Online Retail log's temporal split, each user's latest purchases
    as validation read a popularity penalty as free (ndcg@10 × 1.00 at λ = 0.22 and 1),
    while test lost 5 % and 9 %; a global time cut of training read 0.92 and 0.89.
    """
    if test is None:
        return False
    train_ts, test_ts = _timestamps(train), _timestamps(test)
    if train_ts is None or test_ts is None:
        return False
    return bool(test_ts.min() > train_ts.max())


Halves = tuple[InteractionData, InteractionData]


def _cut(
    train: InteractionData, rows: InteractionData | None, rule: Callable[[InteractionData], Halves]
) -> tuple[InteractionData, InteractionData, sp.csr_matrix | None]:
    """``rule`` applied to ``train``, or to its unmerged ``rows`` with each half merged; and
    the purchase counts of the first half (``None`` without ``rows``). The halves carry no
    string ids (:meth:`~recolab.data.interactions.InteractionData.without_ids`)."""
    if rows is None:
        return *rule(train.without_ids()), None
    _check_rows(train, rows)
    fit, held = rule(rows)
    return merge_pairs(fit).without_ids(), merge_pairs(held).without_ids(), fit.matrix(binary=True)


def _check_rows(train: InteractionData, rows: InteractionData) -> None:
    if rows.n_users != train.n_users or rows.n_items != train.n_items:
        raise ValueError("validation_split: rows must share the training data's vocabularies")


def _repeats(rows: InteractionData | None) -> str:
    return "" if rows is None else ", cut before merging repeat purchases"


def validation_split(
    train: InteractionData,
    *,
    fraction: float = VALID_FRACTION,
    seed: int = 0,
    valid: InteractionData | None = None,
    forward: bool = False,
    rows: InteractionData | None = None,
    max_users: int = MAX_JUDGED_USERS,
) -> ValidationSplit:
    """Carve validation out of ``train``.

    - ``valid`` given: it is the validation set and ``train`` is fitted on whole.
    - ``forward`` (the test set lies after training in time, :func:`is_forward_split`): a
      global time cut of ``train``, its last ``fraction`` of interactions in time
      (:func:`~recolab.data.splits.temporal_split`), so validation asks what test asks.
    - ``train`` is a timed behaviour log (:func:`is_timed_log`): each user's latest
      ``fraction`` of interactions (:func:`~recolab.data.splits.per_user_latest`), since a
      log asks for the next purchases.
    - otherwise a seeded per-user random holdout of ``fraction``.

    ``rows``: the unmerged rows ``train`` was merged from (one per purchase, same
    vocabularies), for repeat purchases. The two time rules then cut the rows and merge each
    half (:func:`~recolab.data.splits.merge_pairs`), so a pair bought before and after the
    cut is in both halves, as a repeat purchase is in a time-split test set; the split keeps
    the fit half's purchase counts (``fit_purchases``).

    Validation is then judged on at most ``max_users`` of its users, a sample seeded by
    ``seed`` (:func:`judged_sample`); the fit half is the same either way.

    Neither half carries the frame's string ids (the vocabularies hold them): at 10^7
    interactions they were 26 of a row's 58 bytes.

    Raises
    ------
    DataError
        No user keeps an interaction for validation (every user has a single one).
    """
    if valid is not None:
        if rows is not None:
            _check_rows(train, rows)
        counts = None if rows is None else rows.matrix(binary=True)
        text = f"given validation set ({valid.name})"
        split = ValidationSplit(train.without_ids(), valid.without_ids(), "given", text, counts)
    elif forward:
        fit, held, counts = _cut(train, rows, lambda d: temporal_split(d, fraction))
        cut = held.frame["timestamp"].min()
        text = f"the last {fraction:.0%} of training interactions in time (from {cut})"
        split = ValidationSplit(fit, held, "global time cut", text + _repeats(rows), counts)
    elif is_timed_log(train):
        fit, held, counts = _cut(train, rows, lambda d: per_user_latest(d, fraction))
        text = f"each user's latest {fraction:.0%} of training interactions by time"
        split = ValidationSplit(fit, held, "per-user latest by time", text + _repeats(rows), counts)
    else:
        fit, held = random_holdout(train.without_ids(), test_fraction=fraction, seed=seed)
        text = f"per-user random {fraction:.0%} of training interactions (seed {seed})"
        split = ValidationSplit(fit, held, "per-user random", text)
    if split.valid.n_interactions == 0:
        raise DataError(
            "no validation interactions: every user has a single training interaction, so "
            "none can be held out; give a validation file (--valid)"
        )
    split = judged_sample(split, max_users, seed)
    logger.info(
        "validation: %s (%d fit, %d valid interactions)",
        split.description,
        split.fit.n_interactions,
        split.valid.n_interactions,
    )
    return split


def judged_sample(split: ValidationSplit, max_users: int, seed: int = 0) -> ValidationSplit:
    """``split`` with validation kept for at most ``max_users`` of its users, drawn at random
    (seeded by ``seed``); ``split`` itself when it has no more. The other users' validation
    interactions are left out of the judgement, not moved into the fit half, which stays
    as it is."""
    if max_users < 1:
        raise ValueError(f"max_users must be ≥ 1, got {max_users}")
    users = split.valid.frame["user_idx"].to_numpy()
    held = np.unique(users)
    if held.size <= max_users:
        return split
    chosen = np.random.default_rng(seed).choice(held, size=max_users, replace=False)
    keep = np.isin(users, chosen)
    valid = split.valid.with_frame(split.valid.frame[keep])
    text = (
        f"{split.description}; judged on a seeded sample of {max_users:,} of its "
        f"{held.size:,} validation users"
    )
    logger.info("validation judged on %d of %d users (seed %d)", max_users, held.size, seed)
    return replace(split, valid=valid, description=text)
