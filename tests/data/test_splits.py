"""Splits partition the interactions exactly, share vocabularies and are reproducible."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recolab.data.interactions import InteractionData, build_interactions
from recolab.data.io import load_interactions
from recolab.data.splits import (
    cold_item_split,
    given_files,
    leave_last_n,
    per_user_latest,
    random_holdout,
    temporal_split,
)
from recolab.errors import DataError

ML = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "ml-100k"


@pytest.fixture(scope="module")
def ml() -> InteractionData:
    return load_interactions(ML / "u.data")


def pairs(d: InteractionData) -> set[tuple[str, str]]:
    return set(zip(d.frame["user"], d.frame["item"], strict=True))


def assert_partition(data: InteractionData, train: InteractionData, test: InteractionData) -> None:
    assert train.users is data.users and test.users is data.users
    assert train.items is data.items and test.items is data.items
    assert train.n_interactions + test.n_interactions == data.n_interactions
    assert not pairs(train) & pairs(test)
    assert pairs(train) | pairs(test) == pairs(data)
    for half in (train, test):
        # indices still agree with the shared vocabularies
        assert (half.users.index(half.frame["user"]) == half.frame["user_idx"]).all()
        assert half.user_items.shape == (data.n_users, data.n_items)


SPLITS: list[Callable[[InteractionData], tuple[InteractionData, InteractionData]]] = [
    lambda d: random_holdout(d, 0.2, seed=3),
    lambda d: temporal_split(d, 0.2),
    lambda d: leave_last_n(d, 2),
    lambda d: cold_item_split(d, 0.1, seed=3),
    lambda d: per_user_latest(d, 0.25),
]


SPLIT_IDS = ["holdout", "temporal", "last2", "cold_items", "latest"]


@pytest.mark.parametrize("split", SPLITS, ids=SPLIT_IDS)
def test_partition_and_reproducible(ml: InteractionData, split) -> None:
    train, test = split(ml)
    assert_partition(ml, train, test)
    _train2, test2 = split(ml)
    assert pairs(test2) == pairs(test)


def test_random_holdout_per_user_counts(ml: InteractionData) -> None:
    _train, test = random_holdout(ml, 0.2, seed=0)
    n = ml.frame.groupby("user").size()
    t = test.frame.groupby("user").size().reindex(n.index, fill_value=0)
    expected = np.minimum(np.maximum(1, np.rint(0.2 * n)), n - 1)
    assert (t == expected).all()
    other = random_holdout(ml, 0.2, seed=1)[1]
    assert pairs(other) != pairs(test)


def test_random_holdout_single_interaction_users_stay_in_train() -> None:
    frame = pd.DataFrame({"user": ["a", "b", "b", "b", "b", "b"], "item": list("xxyzvw")})
    frame["value"] = 1.0
    data = build_interactions(frame, kind="implicit")
    train, test = random_holdout(data, 0.2, seed=0)
    assert "a" in set(train.frame["user"]) and "a" not in set(test.frame["user"])
    assert len(test.frame) == 1  # round(0.2 * 5) = 1 of b's five


def test_temporal_split_cutoff(ml: InteractionData) -> None:
    cutoff = pd.Timestamp("1998-03-01")
    train, test = temporal_split(ml, cutoff=cutoff)
    assert (train.frame["timestamp"] < cutoff).all()
    assert (test.frame["timestamp"] >= cutoff).all()
    assert_partition(ml, train, test)
    _, by_fraction = temporal_split(ml, 0.2)
    assert by_fraction.n_interactions == pytest.approx(20_000, abs=50)


def test_leave_last_n_takes_latest() -> None:
    frame = pd.DataFrame(
        {
            "user": ["a", "a", "a", "b"],
            "item": ["x", "y", "z", "x"],
            "value": 1.0,
            "timestamp": pd.to_datetime(["2020-01-03", "2020-01-01", "2020-01-02", "2020-01-01"]),
        }
    )
    data = build_interactions(frame, kind="implicit")
    _train, test = leave_last_n(data, 1)
    assert pairs(test) == {("a", "x")}  # b has a single interaction: stays in train
    _train, test = leave_last_n(data, 2)
    assert pairs(test) == {("a", "x"), ("a", "z")}


def test_ties_in_time_are_broken_by_row_order() -> None:
    # every row of a at one moment: the later rows count as later
    frame = pd.DataFrame(
        {
            "user": ["a", "b", "a", "a", "b"],
            "item": ["x", "x", "y", "z", "y"],
            "value": 1.0,
            "timestamp": pd.Timestamp("2020-01-01"),
        }
    )
    data = build_interactions(frame, kind="implicit")
    assert pairs(leave_last_n(data, 1)[1]) == {("a", "z"), ("b", "y")}
    assert pairs(leave_last_n(data, 2)[1]) == {("a", "y"), ("a", "z")}  # b keeps its 2
    assert pairs(per_user_latest(data, 0.34)[1]) == {("a", "z"), ("b", "y")}


def test_per_user_latest_takes_latest_share() -> None:
    # a: 4 interactions → round(0.5·4) = 2 latest (x on the 4th, w on the 3rd) held out;
    # b: 2 → 1 (y); c: a single interaction stays in train.
    frame = pd.DataFrame(
        {
            "user": ["a", "a", "a", "a", "b", "b", "c"],
            "item": ["x", "y", "z", "w", "x", "y", "x"],
            "value": 1.0,
            "timestamp": pd.to_datetime(
                [
                    *("2020-01-04", "2020-01-01", "2020-01-02", "2020-01-03"),
                    *("2020-01-01", "2020-01-02", "2020-01-05"),
                ]
            ),
        }
    )
    data = build_interactions(frame, kind="implicit")
    _train, test = per_user_latest(data, 0.5)
    assert pairs(test) == {("a", "x"), ("a", "w"), ("b", "y")}


def test_splits_need_timestamps() -> None:
    frame = pd.DataFrame({"user": ["a"], "item": ["x"], "value": [1.0]})
    data = build_interactions(frame, kind="implicit")
    with pytest.raises(DataError, match="timestamp"):
        temporal_split(data)
    with pytest.raises(DataError, match="timestamp"):
        leave_last_n(data)
    with pytest.raises(DataError, match="timestamp"):
        per_user_latest(data)


def test_cold_item_split_items_disjoint(ml: InteractionData) -> None:
    train, test = cold_item_split(ml, 0.1, seed=0)
    train_items = set(train.frame["item"])
    test_items = set(test.frame["item"])
    assert not train_items & test_items
    assert len(test_items) == round(0.1 * 1682)


def test_given_files_unions_vocabularies(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("user,item,rating\nu1,a,5\nu2,b,3\n")
    (tmp_path / "test.csv").write_text("user,item,rating\nu1,b,4\nu3,c,2\n")
    train, test = given_files(tmp_path / "train.csv", tmp_path / "test.csv")
    assert list(train.users.ids) == ["u1", "u2", "u3"]
    assert list(train.items.ids) == ["a", "b", "c"]
    assert test.users is train.users and test.items is train.items
    assert test.frame["user_idx"].tolist() == [0, 2]
    assert test.frame["item_idx"].tolist() == [1, 2]
    assert test.user_items[0, 1] == 4.0


def test_given_files_ml100k_u1() -> None:
    train, test = given_files(ML / "u1.base", ML / "u1.test", items=ML / "u.item")
    assert (train.n_interactions, test.n_interactions) == (80_000, 20_000)
    assert train.n_users == test.n_users == 943 and train.n_items == 1682
    assert test.item_meta is not None and len(test.item_meta) == 1682


def test_without_ids_drops_only_the_string_ids_and_shares_the_matrices(ml: InteractionData) -> None:
    built = ml.matrix(binary=True)
    lean = ml.without_ids()
    assert list(lean.frame.columns) == [c for c in ml.frame.columns if c not in ("user", "item")]
    assert lean.frame.equals(ml.frame[list(lean.frame.columns)])
    assert lean.users is ml.users and lean.items is ml.items and lean.kind == ml.kind
    assert lean.matrix(binary=True) is built
    assert lean.without_ids() is lean
    # splits of it hold the same interactions as splits of the data with ids
    halves = random_holdout(lean, 0.2, seed=3), random_holdout(ml, 0.2, seed=3)
    for half, full in zip(*halves, strict=True):
        assert (half.matrix() != full.matrix()).nnz == 0
