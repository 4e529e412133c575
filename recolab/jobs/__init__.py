"""Background jobs: a SQLite job store and a worker that runs each job in its own process.

Submit from anywhere (app, CLI), run in a worker started on demand, follow progress by
polling events; every job ends ``succeeded``, ``failed`` (with a reason) or ``cancelled``,
whatever happens to the processes involved.

Examples
--------
>>> from recolab.jobs import JobStore, ensure_worker, workspace_root   # doctest: +SKIP
>>> root = workspace_root()
>>> store = JobStore(root)
>>> job_id = store.submit("train", {"train": "ratings.csv"})  # a registered task name
>>> ensure_worker(root)
>>> store.events(job_id, after_seq=0)       # poll; pass the last seq seen next time
>>> store.wait(job_id, timeout=600).state
'succeeded'
"""

from __future__ import annotations

from recolab.jobs import tasks
from recolab.jobs.store import (
    CANCELLED,
    DEFAULT_STALE_S,
    FAILED,
    FINAL_STATES,
    QUEUED,
    RUNNING,
    STATES,
    SUCCEEDED,
    Cancelled,
    Job,
    JobStore,
    JobStoreError,
    UnknownJobError,
    pid_alive,
)
from recolab.jobs.tasks import JobSpecError, UnknownTaskError
from recolab.jobs.worker import (
    AUTO_IDLE_EXIT_S,
    TRAINING_TASK,
    JobContext,
    ensure_worker,
    live_worker_pid,
    resolve_device,
    run_worker,
)
from recolab.jobs.workspace import atomic_path, job_dir, workspace_root

__all__ = [
    "AUTO_IDLE_EXIT_S",
    "CANCELLED",
    "DEFAULT_STALE_S",
    "FAILED",
    "FINAL_STATES",
    "QUEUED",
    "RUNNING",
    "STATES",
    "SUCCEEDED",
    "TRAINING_TASK",
    "Cancelled",
    "Job",
    "JobContext",
    "JobSpecError",
    "JobStore",
    "JobStoreError",
    "UnknownJobError",
    "UnknownTaskError",
    "atomic_path",
    "ensure_worker",
    "job_dir",
    "live_worker_pid",
    "pid_alive",
    "resolve_device",
    "run_worker",
    "tasks",
    "workspace_root",
]
