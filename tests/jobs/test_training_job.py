"""The real training task run by a spawned worker: progress, a bundle, `jobs show`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import recolab
from recolab.jobs import JobStore
from recolab.jobs.worker import TRAINING_TASK, run_worker
from tests.jobs.conftest import child_env


def _write_log(path: Path) -> None:
    rng = np.random.default_rng(0)
    users = rng.integers(0, 60, 1500)
    items = (users % 6) * 5 + rng.integers(0, 8, 1500)  # a little structure
    pd.DataFrame({"user_id": users, "item_id": items}).to_csv(path, index=False)


def test_default_training_job_tunes_on_validation(root: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    _write_log(log)
    store = JobStore(root)
    config = {"tune_trials": 4, "use_text": False, "device": "cpu"}
    job_id = store.submit(TRAINING_TASK, {"train": str(log), "config": config})
    run_worker(root, once=True, poll_s=0.1)
    job = store.get(job_id)
    assert job.state == "succeeded", job.error
    progress = [e for e in store.events(job_id) if e.get("kind") == "progress"]
    assert [e["trial"] for e in progress] == [1, 2, 3, 4]
    assert all(e["best"] >= e["score"] for e in progress)
    assert (root / "jobs" / job_id / "model.study.sqlite").is_file()  # trials stay inspectable
    loaded = recolab.load(Path(job.result["bundle"]))
    assert loaded.config["model_type"] == "linear-rerank"
    assert loaded.config["selection"]["validation"].startswith("per-user random 20%")
    assert len([r for r in loaded.config["front"] if r["model"] == "recolab"]) == 11
    assert len(loaded.recommend([loaded.model.users_.ids[0]], k=5, lam=loaded.lambda_range[1])) == 5


def test_training_job_leaves_a_bundle(root: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    _write_log(log)
    store = JobStore(root)
    config = {"model": "weighted", "epochs": 3, "dim": 8, "use_text": False, "device": "auto"}
    job_id = store.submit(TRAINING_TASK, {"train": str(log), "config": config})
    run_worker(root, once=True, poll_s=0.1)
    job = store.get(job_id)
    assert job.state == "succeeded", job.error
    progress = [e for e in store.events(job_id) if e.get("kind") == "progress"]
    assert [e["epoch"] for e in progress] == [1, 2, 3]
    assert all("eta_s" in e and "loss" in e for e in progress)
    notes = [e["message"] for e in store.events(job_id) if e.get("kind") == "note"]
    # the note about falling back to the CPU is there exactly when there is no GPU
    assert any("CPU" in n for n in notes) == (job.device == "cpu")
    assert job.device == ("cuda" if torch.cuda.is_available() else "cpu")
    bundle = Path(job.result["bundle"])
    assert bundle.is_file() and bundle.parent == root / "jobs" / job_id
    loaded = recolab.load(bundle)
    assert len(loaded.recommend([loaded.model.users_.ids[0]], k=5)) == 5
    # the front over λ (per-user holdout of the log) is stored with the model
    assert len([r for r in loaded.config["front"] if r["model"] == "recolab"]) == 11
    shown = subprocess.run(
        [sys.executable, "-m", "recolab", "jobs", "show", job_id, "--home", str(root)],
        capture_output=True,
        text=True,
        env=child_env(root),
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert str(bundle) in shown.stdout


def test_training_job_with_a_validation_file(root: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    _write_log(log)
    frame = pd.read_csv(log)
    valid = tmp_path / "valid.csv"
    extra = pd.DataFrame({"user_id": [999_999], "item_id": [frame["item_id"].iloc[0]]})
    pairs = frame.drop_duplicates().sample(150, random_state=1)  # unique: nothing merged
    pd.concat([pairs, extra]).to_csv(valid, index=False)
    store = JobStore(root)
    config = {"model": "weighted", "epochs": 2, "dim": 8, "use_text": False}
    job_id = store.submit(TRAINING_TASK, {"train": str(log), "valid": str(valid), "config": config})
    run_worker(root, once=True, poll_s=0.1)
    job = store.get(job_id)
    assert job.state == "succeeded", job.error
    events = store.events(job_id)
    progress = [e for e in events if e.get("kind") == "progress"]
    assert all("val_recall" in e for e in progress) and len(progress) >= 1
    notes = [e["message"] for e in events if e.get("kind") == "note"]
    assert any("validation: 1 of 151 rows" in n for n in notes), notes
