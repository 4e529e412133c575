"""AppTest: the Train page follows a running job's stages; Compare runs overlays two jobs."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from recolab.jobs import SUCCEEDED, JobStore
from recolab.jobs.workspace import job_dir
from recolab.studio import TRAINING_TASK

from .helpers import no_exception, run_app


def test_train_page_shows_each_stage_with_its_progress(home: Path) -> None:
    store = JobStore(home)
    spec = {"sample": "ml-100k", "dataset": "ml-100k", "config": {"tune_trials": 60}}
    job_id = store.submit(TRAINING_TASK, spec)
    store.claim_next(worker_pid=os.getpid())
    store.append_event(job_id, {"kind": "stage", "stage": "read", "done": 0, "total": None})
    store.append_event(job_id, {"kind": "stage", "stage": "embed", "done": 0, "total": 1000})
    time.sleep(0.05)
    store.append_event(job_id, {"kind": "stage", "stage": "embed", "done": 250, "total": 1000})
    at = run_app(job=job_id)
    at.switch_page("pages/train.py").run()
    no_exception(at)
    shown = {m.label: m.value for m in at.metric}
    assert shown["State"] == "running" and shown["Stage"] == "250/1000"
    assert shown["ETA (this stage)"].endswith(" s")  # two points: an estimate, not "–"
    texts = [p.proto.text for p in at.get("progress")]
    assert any("Reading data" in t and "done in" in t for t in texts), texts
    assert any("Embedding texts" in t and "250/1,000" in t for t in texts), texts
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert f"`{job_id}` (running)" in sidebar  # the same store, the same state
    store.finish(job_id, "cancelled", error="test over")


def _second_job(root: Path, job_id: str) -> str:
    """A second succeeded job with a copy of ``job_id``'s bundle and result."""
    store = JobStore(root)
    new = store.submit(TRAINING_TASK, store.get(job_id).spec)
    store.claim_next(worker_pid=os.getpid())
    shutil.copytree(job_dir(root, job_id), job_dir(root, new), dirs_exist_ok=True)
    store.finish(new, SUCCEEDED, result=store.get(job_id).result)
    return new


def test_compare_page_overlays_two_runs(trained: tuple[Path, str]) -> None:
    root, job_id = trained
    other = _second_job(root, job_id)
    at = run_app(job=job_id)
    at.switch_page("pages/compare.py").run()
    no_exception(at)
    jobs = at.dataframe[0].value
    assert {job_id, other} <= set(jobs["id"]) and "mechanism" in jobs.columns
    picked = at.multiselect(key="compare_jobs")
    assert set(picked.value) == {job_id, other}
    assert "ml-100k" in picked.format_func(job_id)  # a label, not a bare id
    hv = at.dataframe[1].value
    assert {job_id, other} <= set(hv["curve"]) and (hv["hypervolume"] > 0).all()
    assert any(c.startswith(f"{job_id} · ") for c in hv["curve"])  # the peers are there
    at.radio(key="compare_source").set_value("validation").run()
    no_exception(at)
    assert (at.dataframe[1].value["kind"] == "peer").any()
    labels = [b.label for b in at.get("download_button")]
    assert "Download the fronts (CSV)" in labels and "Download the jobs table (CSV)" in labels
