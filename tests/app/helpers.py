"""Helpers shared by the dashboard tests: a real finished training job in a workspace."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from recolab.config import TrainConfig
from recolab.jobs import SUCCEEDED, JobContext, JobStore, live_worker_pid, pid_alive
from recolab.jobs.workspace import job_dir
from recolab.pipeline import run_training_job
from recolab.studio import TRAINING_TASK

#: The app's entry file and how long one AppTest run may take.
APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 120

#: Small and quick: the default model with a 4-trial study on the ML-100K u1 split, no texts.
TINY_CONFIG = TrainConfig(tune_trials=4, use_text=False, device="cpu", seed=0)
#: The λ-conditioned network: two epochs of a narrow model.
TINY_WEIGHTED = TrainConfig(model="weighted", epochs=2, dim=8, use_text=False, device="cpu", seed=0)


def make_finished_job(
    root: Path, sample: str = "ml-100k", config: TrainConfig = TINY_CONFIG
) -> str:
    """Queue a training job, run the real worker task in this process, record success.

    Returns the job id; ``<root>/jobs/<id>/model.zip`` and ``result.json`` exist afterwards.
    """
    store = JobStore(root)
    spec = {"sample": sample, "dataset": sample, "config": config.to_dict()}
    job_id = store.submit(TRAINING_TASK, spec)
    job = store.claim_next(worker_pid=os.getpid())
    assert job is not None and job.id == job_id
    store.mark_started(job_id, child_pid=os.getpid(), device="cpu")
    ctx = JobContext(job_id, store, job_dir(root, job_id), "cpu")
    result = run_training_job(spec, ctx)
    store.finish(job_id, SUCCEEDED, result=result)
    return job_id


def stop_worker(root: Path) -> None:
    """SIGTERM the worker of ``root`` (live, or still starting) and wait until it is gone."""
    pids = set()
    live = live_worker_pid(root)
    if live is not None:
        pids.add(live)
    starting = root / "worker.starting"  # written by ensure_worker before the lock is taken
    if starting.is_file():
        pids.add(int(starting.read_text().split()[0]))
    for pid in pids:
        if not pid_alive(pid):
            continue
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not pid_alive(pid):
                break
            time.sleep(0.1)


def run_app(**query: str) -> AppTest:
    """The app run once with these URL query parameters (``job=…``, ``dataset=…``)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def no_exception(at: AppTest) -> None:
    """Fail with the messages of any exception the page showed."""
    assert not at.exception, [e.value for e in at.exception]
