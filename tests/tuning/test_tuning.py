"""Tuning chooses on a validation split carved from train and never reads the test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from recolab.data import build_interactions
from recolab.data.interactions import InteractionData
from recolab.data.splits import random_holdout, temporal_split
from recolab.errors import DataError
from recolab.models.linear import LinearParams
from recolab.tuning import (
    TuneBudget,
    TuneResult,
    is_forward_split,
    tune_linear,
    tune_score,
    validation_split,
)
from recolab.tuning.fronts import most_accurate_lam
from recolab.tuning.select import candidate_bases, near_best_trials
from recolab.tuning.study import EASE_TRIAL, START_TRIALS, mean_gram_diagonal
from recolab.tuning.validation import judged_sample
from tests.models._ml100k import ml100k_u1


def synthetic(timed: bool, kind: str = "implicit") -> InteractionData:
    rng = np.random.default_rng(0)
    n_users, n_items = 60, 25
    pop = 1.0 / np.arange(1, n_items + 1)
    rows = []
    for u in range(n_users):
        items = rng.choice(n_items, size=8, replace=False, p=pop / pop.sum())
        rows += [(f"u{u}", f"i{i}", t) for t, i in enumerate(items)]
    frame = pd.DataFrame(rows, columns=["user", "item", "t"])
    frame["value"] = 1.0
    if timed:
        frame["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["t"], unit="D")
    return build_interactions(frame.drop(columns="t"), kind=kind)


def test_validation_of_a_timed_log_is_each_users_latest() -> None:
    data = synthetic(timed=True)
    split = validation_split(data)
    assert split.method == "per-user latest by time"
    fit_t = split.fit.frame.groupby("user_idx")["timestamp"].max()
    valid_t = split.valid.frame.groupby("user_idx")["timestamp"].min()
    assert (valid_t > fit_t.reindex(valid_t.index)).all()
    assert split.fit.n_interactions + split.valid.n_interactions == data.n_interactions


def test_validation_halves_carry_no_string_ids_and_the_same_interactions() -> None:
    for data, forward in ((synthetic(timed=False), False), (synthetic(timed=True), True)):
        split = validation_split(data, forward=forward)
        for half in (split.fit, split.valid):
            assert not {"user", "item"} & set(half.frame.columns)
            assert half.users is data.users and half.items is data.items
        rule = temporal_split if forward else random_holdout
        with_ids = rule(data, 0.2) if forward else rule(data, 0.2, seed=0)
        for half, full in zip((split.fit, split.valid), with_ids, strict=True):
            kept = [c for c in full.frame.columns if c not in ("user", "item")]
            assert half.frame.equals(full.frame[kept])


def test_a_test_set_after_training_is_told_apart() -> None:
    data = synthetic(timed=True)
    train, test = temporal_split(data, 0.2)
    assert is_forward_split(train, test)
    assert not is_forward_split(*random_holdout(data, 0.2, seed=0))
    assert not is_forward_split(train, None)
    assert not is_forward_split(synthetic(timed=False), synthetic(timed=False))
    # one test interaction at the training's last moment: not after it
    tied = test.with_frame(pd.concat([test.frame, train.frame.tail(1)]))
    assert not is_forward_split(train, tied)


def test_forward_validation_is_a_global_time_cut_of_train() -> None:
    data = synthetic(timed=True)
    split = validation_split(data, forward=True)
    assert split.method == "global time cut"
    # every validation interaction is at or after the cut, every fit one before it
    assert split.fit.frame["timestamp"].max() < split.valid.frame["timestamp"].min()
    assert split.fit.n_interactions + split.valid.n_interactions == data.n_interactions
    share = split.valid.n_interactions / data.n_interactions
    assert 0.2 <= share < 0.35  # 8 days per user: the last 2 days, ties at the cut included
    # the same data without `forward` is validated per user
    assert validation_split(data).method == "per-user latest by time"
    # forward needs time: data without timestamps are refused by name
    with pytest.raises(DataError, match="timestamp"):
        validation_split(synthetic(timed=False), forward=True)


def test_validation_of_untimed_or_rated_data_is_random() -> None:
    assert validation_split(synthetic(timed=False)).method == "per-user random"
    assert validation_split(synthetic(timed=True, kind="explicit")).method == "per-user random"


def test_given_validation_is_used_as_is() -> None:
    data = synthetic(timed=False)
    fit, valid = validation_split(data).fit, validation_split(data, seed=1).valid
    split = validation_split(fit, valid=valid)
    assert split.method == "given" and split.valid is valid and split.fit is fit


def test_validation_is_judged_on_a_seeded_sample_of_its_users() -> None:
    data = synthetic(timed=False)
    whole = validation_split(data, seed=0)
    held = set(whole.valid.frame["user_idx"])
    assert len(held) == 60
    split = validation_split(data, seed=0, max_users=20)
    judged = set(split.valid.frame["user_idx"])
    assert len(judged) == 20 and judged <= held
    # a judged user keeps every validation interaction; the fit half is the same
    kept = whole.valid.frame[whole.valid.frame["user_idx"].isin(judged)]
    assert split.valid.frame[["user_idx", "item_idx"]].equals(
        kept[["user_idx", "item_idx"]].reset_index(drop=True)
    )
    assert split.fit.frame.equals(whole.fit.frame)
    assert "sample of 20 of its 60 validation users" in split.description

    # seeded: the same seed draws the same users, another seed others
    def drawn(seed: int) -> set[int]:
        return set(judged_sample(whole, 20, seed=seed).valid.frame["user_idx"])

    assert drawn(0) == judged and drawn(1) != judged
    # no more users than the bound: the split as it was
    assert judged_sample(whole, 60) is whole
    with pytest.raises(ValueError, match="max_users"):
        judged_sample(whole, 0)


def test_single_interaction_users_leave_nothing_to_validate() -> None:
    frame = pd.DataFrame({"user": ["a", "b"], "item": ["x", "y"], "value": 1.0})
    with pytest.raises(DataError, match="validation"):
        validation_split(build_interactions(frame, kind="implicit"))


def test_score_is_geometric_mean() -> None:
    assert tune_score({"recall@20": 0.4, "ndcg@10": 0.1}) == pytest.approx(0.2)


def test_mean_gram_diagonal_by_hand() -> None:
    # users with 4 and 1 interactions over 5 items, β = 0.5: (4^0.5 + 1^0.5) / 5 = 0.6
    data = build_interactions(
        pd.DataFrame({"user": ["a"] * 4 + ["b"], "item": ["1", "2", "3", "4", "5"], "value": 1.0}),
        kind="implicit",
    )
    assert mean_gram_diagonal(data.matrix(binary=True), 0.5) == pytest.approx(0.6)


class _Untouchable:
    """A test set that fails the test whenever anything reads it."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the test set was read ({name})")


def test_tiny_study_runs_end_to_end_and_never_reads_test(tmp_path: Path) -> None:
    train, _test = ml100k_u1()
    test = _Untouchable()
    split = validation_split(train, seed=0)
    db = tmp_path / "study.sqlite"
    result = tune_linear(split, budget=TuneBudget(n_trials=4, seconds=3600), seed=0, storage=db)
    assert db.exists()
    assert len(result.trials) == 4
    # the first trials are the fixed start points (plain EASE first); the best is at least
    # as good as EASE on validation
    starts = [{k: t[k] for k in EASE_TRIAL} for t in result.trials]
    assert starts == list(START_TRIALS[:4]) and starts[0] == EASE_TRIAL
    assert result.score >= result.trials[0]["score"]
    assert result.score == max(t["score"] for t in result.trials)
    assert result.metrics["ndcg@10"] > 0.2
    # resuming the stored study adds only the missing trials
    again = tune_linear(split, budget=TuneBudget(n_trials=6, seconds=3600), seed=0, storage=db)
    assert len(again.trials) == 6
    (summary,) = optuna.get_all_study_summaries(storage=f"sqlite:///{db}")
    assert summary.n_trials == 6
    # other data start a study of their own in the same file
    other = validation_split(train, seed=1)
    third = tune_linear(other, budget=TuneBudget(n_trials=2, seconds=3600), seed=0, storage=db)
    assert len(third.trials) == 2
    assert len(optuna.get_all_study_summaries(storage=f"sqlite:///{db}")) == 2
    del test  # never passed anywhere, never read


def test_same_seed_same_trials() -> None:
    train, _ = ml100k_u1()
    split = validation_split(train, seed=0)
    a = tune_linear(split, budget=TuneBudget(n_trials=3, seconds=3600), seed=5)
    b = tune_linear(split, budget=TuneBudget(n_trials=3, seconds=3600), seed=5)
    assert [t["l2_scale"] for t in a.trials] == [t["l2_scale"] for t in b.trials]


def _trial(number: int, score: float, dropout: float = 0.0) -> dict:
    return {
        "number": number,
        "l2_scale": float(number),
        "dropout": dropout,
        "user_norm": 0.0,
        "item_norm": 0.0,
        "score": score,
    }


def _result(trials: list[dict]) -> TuneResult:
    best = max(trials, key=lambda t: t["score"])
    values = {k: best[k] for k in EASE_TRIAL}
    return TuneResult(LinearParams(), 0.0, best["score"], {}, values=values, trials=trials)


def test_near_best_trials_by_hand() -> None:
    # best 0.300; within 0.5 %: ≥ 0.2985 → trials 0, 1, 3 (best first), not 2 (0.298)
    trials = [_trial(0, 0.300), _trial(1, 0.299), _trial(2, 0.298), _trial(3, 0.2986)]
    assert [v["l2_scale"] for v in near_best_trials(_result(trials))] == [0.0, 1.0, 3.0]


def test_near_best_trials_keep_at_most_five() -> None:
    trials = [_trial(n, 0.300 - n * 1e-5) for n in range(8)]
    assert [v["l2_scale"] for v in near_best_trials(_result(trials))] == [0, 1, 2, 3, 4]


def test_candidate_bases_add_the_best_plain_ease_by_hand() -> None:
    # near-best (within 0.5 % of 0.300): trials 0, 4 and 1, averaged into the first base;
    # the best plain EASE (no dropout, no normalisation) is trial 3 (0.290 > trial 2's
    # 0.280), far below: it is the second base, alone
    trials = [
        _trial(0, 0.300, 0.5),
        _trial(1, 0.299, 0.4),
        _trial(2, 0.280, 0.0),
        _trial(3, 0.290, 0.0),
        _trial(4, 0.2995, 0.3),
    ]
    bases = candidate_bases(_result(trials))
    assert [[v["l2_scale"] for v in base] for base in bases] == [[0.0, 4.0, 1.0], [3.0]]
    # a plain EASE among the near-best trials is averaged with them and weighed alone too
    trials[1]["dropout"] = 0.0
    bases = candidate_bases(_result(trials))
    assert [[v["l2_scale"] for v in base] for base in bases] == [[0.0, 4.0, 1.0], [1.0]]
    # when the best plain EASE is the whole first base, it is not weighed twice
    trials = [_trial(0, 0.300), _trial(1, 0.250, 0.5)]
    assert [[v["l2_scale"] for v in b] for b in candidate_bases(_result(trials))] == [[0.0]]


def test_most_accurate_lam_by_hand() -> None:
    # scores √(R·N): λ=0 √(0.30·0.50)=0.387, λ=1 √(0.32·0.52)=0.408, λ=2 √(0.33·0.48)=0.398
    rows = pd.DataFrame(
        {"lam": [0.0, 1.0, 2.0], "recall@20": [0.30, 0.32, 0.33], "ndcg@10": [0.50, 0.52, 0.48]}
    )
    assert most_accurate_lam(rows) == 1.0
    # a tie keeps the smallest λ; a falling front keeps λ = 0
    assert most_accurate_lam(rows.assign(**{"recall@20": 0.3, "ndcg@10": 0.5})) == 0.0
    falling = rows.assign(**{"ndcg@10": [0.5, 0.4, 0.3], "recall@20": [0.3, 0.3, 0.3]})
    assert most_accurate_lam(falling) == 0.0


def test_every_registered_mechanism_has_candidate_lengths() -> None:
    # train --mechanism NAME measures NAME's front over CANDIDATE_GRID[NAME]
    from recolab.rerank import RERANKERS
    from recolab.tuning.fronts import CANDIDATE_GRID

    assert set(CANDIDATE_GRID) == set(RERANKERS)
    assert all(lengths and min(lengths) >= 1 for lengths in CANDIDATE_GRID.values())


def test_fronts_sharing_the_base_row_equal_fronts_measured_alone() -> None:
    """The fronts over one base share their row at λ = 0 (``ZeroRow``): every front, its
    calibrated λ range and its rows equal those measured without sharing, point by point."""
    from recolab.models.linear import LinearAutoencoder
    from recolab.rerank import ReRankedRecommender, make_reranker
    from recolab.tuning.fronts import calibrate_lam_high, choose_mechanism, measure_front

    split = validation_split(synthetic(timed=True), seed=0)
    base = LinearAutoencoder(l2=20.0).fit(split.fit)
    names = ["popularity", "exposure", "conditioned"]
    _, fronts = choose_mechanism(base, split.fit, split.valid, names=names)
    for front in fronts:
        model = ReRankedRecommender(base, make_reranker(front.name), front.n_candidates)
        model.fit(split.fit)
        assert calibrate_lam_high(model, split.fit, split.valid) == front.lam_high
        alone = measure_front(model, split.fit, split.valid, front.rows["lam"].tolist())
        pd.testing.assert_frame_equal(front.rows, alone)
    # the shared row is the base's own lists: the same in every front
    first_rows = [f.rows.iloc[0] for f in fronts]
    assert all(row.equals(first_rows[0]) for row in first_rows)
