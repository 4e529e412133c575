"""Time-aware protocol for logs: temporal and leave-last-basket splits never leak, repeat
purchases survive the split, the protocol counts cold users and items, recency metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recolab.bundle.loader import load as load_bundle
from recolab.cli import main
from recolab.data.interactions import InteractionData, build_interactions
from recolab.data.splits import leave_last_basket, temporal_split
from recolab.errors import DataError
from recolab.evaluation import Protocol, evaluate
from recolab.metrics import recent_share
from recolab.models.popularity import PopularityRecommender
from recolab.pipeline import load_split
from recolab.tuning.validation import is_forward_split, validation_split

ML = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "ml-100k"


def log(rows: list[tuple[str, str, str]], **extra: list[object]) -> InteractionData:
    """A tiny implicit log of (user, item, timestamp)."""
    frame = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    frame["value"] = 1.0
    for name, values in extra.items():
        frame[name] = values
    return build_interactions(frame, kind="implicit")


def triples(d: InteractionData) -> set[tuple[str, str]]:
    return set(zip(d.frame["user"], d.frame["item"], strict=True))


TINY = [
    ("a", "x", "2024-01-01"),
    ("a", "y", "2024-01-02"),
    ("b", "x", "2024-01-03"),
    ("b", "z", "2024-01-04"),
    ("a", "z", "2024-01-09"),
    ("c", "y", "2024-01-10"),
    ("b", "y", "2024-01-10"),
    ("a", "w", "2024-01-11"),
]


def test_temporal_split_known_answers() -> None:
    data = log(TINY)
    # by interactions: position floor(0.75 · 8) = 6 in time order is 2024-01-10 (tied twice)
    train, test = temporal_split(data, 0.25)
    assert triples(test) == {("c", "y"), ("b", "y"), ("a", "w")}
    # by time: span 01-01 … 01-11 (10 days), cut at 01-01 + 0.5 · 10 days = 01-06
    train, test = temporal_split(data, 0.5, by="time")
    assert triples(test) == {("a", "z"), ("c", "y"), ("b", "y"), ("a", "w")}
    assert "2024-01-06" in test.name
    # a given date
    train, test = temporal_split(data, cutoff="2024-01-04")
    assert triples(train) == {("a", "x"), ("a", "y"), ("b", "x")}
    with pytest.raises(DataError, match="leaves no training"):
        temporal_split(data, cutoff="2023-12-31")
    with pytest.raises(ValueError, match="by must be"):
        temporal_split(data, 0.2, by="days")


def test_leave_last_basket_known_answers() -> None:
    rows = [
        ("a", "x", "2024-01-01"),
        ("a", "y", "2024-01-05"),
        ("a", "z", "2024-01-05"),  # a's last basket: y and z share its timestamp
        ("b", "x", "2024-01-02"),
        ("b", "y", "2024-01-02"),  # b has a single basket: stays in train
        ("c", "x", "2024-01-01"),
        ("c", "w", "2024-01-03"),
    ]
    train, test = leave_last_basket(log(rows))
    assert triples(test) == {("a", "y"), ("a", "z"), ("c", "w")}
    assert {"b"} <= set(train.frame["user"])
    # an invoice column: a's last invoice i3 spans two timestamps, both go to test
    invoices = ["i1", "i3", "i3", "j1", "j1", "k1", "k2"]
    rows[1] = ("a", "y", "2024-01-04")
    _, test = leave_last_basket(log(rows, invoice=invoices), basket="invoice")
    assert triples(test) == {("a", "y"), ("a", "z"), ("c", "w")}
    with pytest.raises(DataError, match="no column 'basket'"):
        leave_last_basket(log(rows), basket="basket")


def random_log(rng: np.random.Generator, n: int) -> InteractionData:
    """A log with many ties in time (timestamps drawn from 15 days)."""
    users = rng.integers(0, 12, n).astype(str)
    items = rng.integers(0, 30, n).astype(str)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 15, n), unit="D")
    frame = pd.DataFrame({"user": users, "item": items, "timestamp": days, "value": 1.0})
    return build_interactions(frame.drop_duplicates(["user", "item"]), kind="implicit")


@pytest.mark.parametrize("seed", range(25))
def test_temporal_splits_never_leak(seed: int) -> None:
    """No test timestamp ≤ any train timestamp: globally for the temporal split, per user
    for leave-last-basket; and each split keeps every interaction."""
    rng = np.random.default_rng(seed)
    data = random_log(rng, int(rng.integers(20, 200)))
    fraction = float(rng.uniform(0.05, 0.6))
    for by in ("interactions", "time"):
        try:
            train, test = temporal_split(data, fraction, by=by)
        except DataError:  # every timestamp tied with the cut: nothing to train on
            continue
        assert test.frame["timestamp"].min() > train.frame["timestamp"].max()
        assert train.n_interactions + test.n_interactions == data.n_interactions
    train, test = leave_last_basket(data)
    assert train.n_interactions + test.n_interactions == data.n_interactions
    last_train = train.frame.groupby("user")["timestamp"].max()
    first_test = test.frame.groupby("user")["timestamp"].min()
    assert len(first_test) > 0
    assert (first_test > last_train.reindex(first_test.index)).all()


def write_log(path: Path) -> Path:
    """A purchase log (InvoiceNo, StockCode, Quantity, InvoiceDate, UnitPrice, CustomerID)
    in which u1 buys P1 again after the cut and u9 and item P9 appear only after it."""
    rows = [
        ("1", "P1", 2, "2024-01-01 10:00", 1.0, "u1"),
        ("1", "P2", 1, "2024-01-01 10:00", 2.0, "u1"),
        ("2", "P1", 1, "2024-01-02 10:00", 1.0, "u2"),
        ("2", "P3", 1, "2024-01-02 10:00", 3.0, "u2"),
        ("3", "P2", 1, "2024-01-03 10:00", 2.0, "u2"),
        ("4", "P3", 1, "2024-01-04 10:00", 3.0, "u1"),
        ("5", "P1", 5, "2024-01-09 10:00", 1.0, "u1"),  # repeat purchase after the cut
        ("6", "P9", 1, "2024-01-10 10:00", 4.0, "u9"),  # cold user, cold item
    ]
    cols = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
    pd.DataFrame(rows, columns=cols).to_csv(path / "log.csv", index=False)
    return path / "log.csv"


def test_load_split_cuts_rows_before_merging(tmp_path: Path) -> None:
    train, test = load_split(write_log(tmp_path), test_fraction=0.25)  # auto: timed log
    assert "temporal" in (test.name or "")
    assert triples(test) == {("u1", "P1"), ("u9", "P9")}
    assert ("u1", "P1") in triples(train)  # the earlier purchase stays in train
    a = train.frame.set_index(["user", "item"]).loc[("u1", "P1")]
    assert a["quantity"] == 2  # train merges only train rows
    assert test.frame["timestamp"].min() > train.frame["timestamp"].max()
    counts = Protocol().describe(train, test)
    assert counts["n_test_interactions_repeat"] == 1
    assert counts["n_test_users_unseen"] == 1 and counts["n_test_items_unseen"] == 1
    assert counts["n_test_interactions_unseen_users"] == 1
    assert counts["n_test_interactions"] == 2 and counts["n_train_interactions"] == 6
    assert "temporal" in counts["split"]


def test_load_split_last_basket_and_random(tmp_path: Path) -> None:
    path = write_log(tmp_path)
    _, test = load_split(path, split="last-basket")
    assert triples(test) == {("u1", "P1"), ("u2", "P2")}  # u9's only basket stays in train
    _, test = load_split(path, split="random", seed=1)
    assert "holdout" in (test.name or "")
    with pytest.raises(ValueError, match="split must be"):
        load_split(path, split="weekly")


def test_ratings_keep_the_random_split() -> None:
    _, test = load_split(ML / "u.data")
    assert "holdout" in (test.name or "")


def test_repeat_counts_a_rebought_item_as_a_hit(tmp_path: Path) -> None:
    train, test = load_split(write_log(tmp_path), test_fraction=0.25)
    model = PopularityRecommender().fit(train)
    fresh = evaluate(model, train, test, ks=(3,))
    repeat = evaluate(model, train, test, protocol=Protocol(ks=(3,), exclude_seen=False))
    # u1's test item P1 is its own training item: reachable only with repeats allowed
    assert fresh.metrics["hit_rate@3"] == 0.0
    assert repeat.metrics["hit_rate@3"] == 0.5
    assert repeat.protocol["exclude_seen"] is False
    assert "Repeat purchases allowed" in " ".join(repeat.protocol["rules"])


def test_recent_share_known_answer() -> None:
    recent = np.array([True, False, True, False])
    topk = np.array([[0, 1], [2, -1], [3, 1]])
    got = recent_share(topk, recent, (1, 2))
    assert got["recent_share@1"] == pytest.approx(2 / 3)
    assert got["recent_share@2"] == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)


def test_evaluate_reports_recency_on_timed_data() -> None:
    # item x last bought 2024-01-01, more than 30 days before the last training day
    train = log([("a", "x", "2024-01-01"), ("b", "x", "2024-01-01"), ("b", "y", "2024-03-01")])
    frame = pd.DataFrame({"user": ["a"], "item": ["y"], "value": 1.0})
    test = build_interactions(frame, kind="implicit", users=train.users, items=train.items)
    result = evaluate(PopularityRecommender().fit(train), train, test, ks=(1,))
    assert result.metrics["recent_share@1"] == 1.0  # a is offered y, bought on 03-01
    assert result.protocol["n_recent_items"] == 1
    untimed = build_interactions(
        train.frame[["user", "item", "value"]],
        kind="implicit",
        users=train.users,
        items=train.items,
    )
    result = evaluate(PopularityRecommender().fit(untimed), untimed, test, ks=(1,))
    assert "recent_share@1" not in result.metrics


def test_validation_comes_before_test_in_time(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = random_log(rng, 400)
    train, test = temporal_split(data, 0.2)
    for forward in (False, True):
        split = validation_split(train, forward=forward)
        assert split.valid.frame["timestamp"].max() < test.frame["timestamp"].min()
    assert split.method == "global time cut"


def test_train_on_a_log_validates_forward_in_time(tmp_path: Path) -> None:
    """`recolab train --split temporal` (the dashboard's default for a timed log) tests on
    the last weeks, so the model is chosen on a global time cut of training: validation
    asks what test asks."""
    rng = np.random.default_rng(0)
    n = 1500
    frame = pd.DataFrame(
        {
            "user": rng.integers(0, 60, n),
            "item": rng.zipf(1.3, n) % 40,
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, n), "D"),
        }
    )
    frame.to_csv(tmp_path / "log.csv", index=False)
    train, test = load_split(tmp_path / "log.csv")
    assert is_forward_split(train, test)
    out = tmp_path / "m.zip"
    args = ["train", "--train", str(tmp_path / "log.csv"), "--out", str(out), "--no-text"]
    assert main([*args, "--split", "temporal", "--trials", "2"]) == 0
    validation = load_bundle(out).config["selection"]["validation"]
    assert validation.startswith("the last 20% of training interactions in time")


def test_cli_evaluate_split_and_repeat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_log(tmp_path)
    out = tmp_path / "r.json"
    args = ["evaluate", "--train", str(path), "--model", "popularity", "--k", "3"]
    assert main([*args, "--repeat", "--json", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "temporal: test from" in shown and "1 not in train" in shown
    payload = json.loads(out.read_text())
    assert payload["protocol"]["exclude_seen"] is False
    assert "recent_share@3" in payload["metrics"]
    assert main([*args, "--split", "last-basket", "--json", str(out)]) == 0
    assert "leave-last-basket" in json.loads(out.read_text())["protocol"]["split"]
    assert main([*args, "--split", "u2"]) == 2  # a data error
