"""A real training job reports its stages; JobContext.stage records them, throttled."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recolab import studio
from recolab.jobs import JobContext, JobStore
from recolab.jobs import worker as worker_module
from recolab.jobs.progress import stages_from_events
from recolab.jobs.worker import TRAINING_TASK, run_worker
from tests.jobs.test_training_job import _write_log


def test_default_training_job_reports_its_stages(root: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    _write_log(log)
    store = JobStore(root)
    config = {"tune_trials": 3, "use_text": False, "device": "cpu"}
    job_id = store.submit(TRAINING_TASK, {"train": str(log), "config": config})
    run_worker(root, once=True, poll_s=0.1)
    job = store.get(job_id)
    assert job.state == "succeeded", job.error
    stages = stages_from_events(store.events(job_id), finished=job.finished)
    assert [s.key for s in stages] == ["read", "tune", "fronts", "base", "report"]
    tune, fronts = stages[1], stages[2]
    assert (tune.done, tune.total) == (3, 3)
    assert fronts.total is not None and fronts.done == fronts.total >= 1
    assert fronts.points[0][1] == 0  # the start of the stage is a point: ETA after one front
    assert all(not s.running for s in stages)
    assert stages[0].started >= job.started and stages[-1].ended == job.finished
    status = studio.poll_job(root, job_id)
    assert status.stage is None and status.elapsed_s == pytest.approx(job.finished - job.started)
    lines = studio.stage_lines(status)
    assert [label for label, _, _ in lines][1] == "Tuning the base (trials)"
    assert lines[1][2].startswith("3/3 · done in ")
    assert studio.job_wall_seconds(root, job_id) == pytest.approx(job.finished - job.started)


def test_stage_points_are_throttled_but_first_and_last_kept(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = JobStore(root)
    job_id = store.submit("test.count", {})
    store.claim_next(worker_pid=os.getpid())
    ctx = JobContext(job_id, store, root / "jobs" / job_id, "cpu")
    now = [0.0]
    monkeypatch.setattr(worker_module.time, "monotonic", lambda: now[0])
    recorded = []
    for t, done in ((0.0, 0), (0.1, 10), (0.2, 20), (0.7, 30), (0.8, 100)):
        now[0] = t
        recorded.append(ctx.stage("embed", done, 100))
    # 0 (first), 10 and 20 within 0.5 s of it (skipped), 30 after 0.7 s, 100 (last)
    assert [r is not None for r in recorded] == [True, False, False, True, True]
    kept = [e["done"] for e in store.events(job_id) if e.get("kind") == "stage"]
    assert kept == [0, 30, 100]
