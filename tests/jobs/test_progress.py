"""Stages and ETAs read back from a job's events (known answers by hand)."""

from __future__ import annotations

import pytest

from recolab.jobs.progress import STAGE_LABELS, current_stage, stage_of, stages_from_events


def _stage(ts: float, stage: str, done: float = 0, total: float | None = None, **kw: object):
    return {"kind": "stage", "stage": stage, "done": done, "total": total, "ts": ts, **kw}


def _trial(ts: float, n: int, of: int) -> dict:
    return {"kind": "progress", "trial": n, "trials": of, "epoch": n, "epochs": of, "ts": ts}


def test_stage_of_each_kind_of_event() -> None:
    assert stage_of({"kind": "stage", "stage": "embed"}) == "embed"
    assert stage_of({"kind": "progress", "trial": 1, "epoch": 1}) == "tune"
    assert stage_of({"kind": "progress", "epoch": 3}) == "epochs"
    assert stage_of({"kind": "note", "message": "x"}) is None
    assert stage_of({"kind": "state", "state": "running"}) is None


def test_stages_end_where_the_next_begins() -> None:
    events = [
        {"kind": "state", "state": "running", "ts": 99.0},
        _stage(100.0, "read"),
        _stage(102.0, "embed", 0, None, detail="loading the text model"),
        _stage(105.0, "embed", 0, 1000),
        _stage(107.0, "embed", 400, 1000),
    ]
    read, embed = stages_from_events(events)
    assert (read.key, read.label, read.started, read.ended) == ("read", "Reading data", 100, 102)
    assert read.seconds(now=200.0) == 2.0 and read.eta_s(now=200.0) == 0.0
    assert embed.running and current_stage([read, embed]) is embed
    # 400 texts in the 2 s after the model loaded: 200/s, 600 left → 3 s, 1 s of it gone
    assert embed.rate == pytest.approx(200.0)
    assert embed.eta_s(now=108.0) == pytest.approx(2.0)
    assert embed.fraction == pytest.approx(0.4)
    assert embed.text(now=108.0) == "400/1,000 · 2 s left"
    assert embed.text(now=120.0) == "400/1,000 · finishing"  # past the estimate


def test_estimating_until_two_progress_points() -> None:
    one = stages_from_events([_stage(10.0, "tune", 0, 60)])
    assert one[0].eta_s(now=20.0) is None
    assert one[0].text(now=20.0) == "0/60 · estimating"
    two = stages_from_events([_stage(10.0, "tune", 0, 60), _trial(14.0, 2, 60)])
    # 2 trials in 4 s: 58 left at 0.5/s = 116 s, from t = 14
    assert two[0].eta_s(now=14.0) == pytest.approx(116.0)
    assert two[0].text(now=14.0) == "2/60 · 116 s left"


def test_a_budget_caps_the_estimate() -> None:
    events = [_stage(0.0, "tune", 0, 100, budget_s=30.0), _trial(10.0, 1, 100)]
    (tune,) = stages_from_events(events)
    # the rate says 990 s; the 30 s budget has 20 s left at t = 10
    assert tune.eta_s(now=10.0) == pytest.approx(20.0)


def test_a_finished_job_ends_its_last_stage() -> None:
    events = [_stage(0.0, "read"), _stage(1.0, "report")]
    read, report = stages_from_events(events, finished=4.5)
    assert report.ended == 4.5 and not report.running
    assert report.text(now=100.0) == "done in 3.5 s"
    assert current_stage([read, report]) is None


def test_epochs_count_from_the_training_loop_events() -> None:
    events = [
        _stage(0.0, "epochs", 0, 10),
        {"kind": "progress", "epoch": 1, "epochs": 10, "loss": 1.0, "ts": 3.0},
        {"kind": "progress", "epoch": 2, "epochs": 10, "loss": 0.9, "ts": 6.0},
    ]
    (epochs,) = stages_from_events(events)
    assert (epochs.done, epochs.total) == (2, 10)
    assert epochs.eta_s(now=6.0) == pytest.approx(24.0)


def test_every_stage_has_a_label() -> None:
    assert list(STAGE_LABELS) == ["read", "embed", "tune", "fronts", "base", "epochs", "report"]


def test_setup_time_leaves_the_rate_once_three_points_exist() -> None:
    # epoch 1 took 90 s (inputs, network), epochs 2 and 3 took 5 s each
    events = [
        _stage(0.0, "epochs", 0, 10),
        {"kind": "progress", "epoch": 1, "epochs": 10, "ts": 90.0},
    ]
    (two,) = stages_from_events(events)
    assert two.eta_s(now=90.0) == pytest.approx(810.0)  # 90 s per epoch, the best it knows
    events += [
        {"kind": "progress", "epoch": 2, "epochs": 10, "ts": 95.0},
        {"kind": "progress", "epoch": 3, "epochs": 10, "ts": 100.0},
    ]
    (three,) = stages_from_events(events)
    assert three.rate == pytest.approx(0.2)  # epochs 1 → 3 in 10 s
    assert three.eta_s(now=100.0) == pytest.approx(35.0)
