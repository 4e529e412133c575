"""Training jobs for the pages, over :mod:`recolab.jobs`: the job spec of a dataset, submit,
poll, cancel, stage lines, wall time, job labels for pickers and the jobs table, and where a
job's bundle, result and spec live.

Training runs as a background job whose folder holds ``model.zip`` and ``result.json``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from recolab.data.interactions import InteractionData
from recolab.errors import JobSpecError, RecolabError
from recolab.jobs.progress import StageProgress, current_stage, stages_from_events
from recolab.studio.datasets import _check_id, get_dataset

log = logging.getLogger(__name__)


#: Task run by the worker for a training job (the registered name, :mod:`recolab.jobs.tasks`).
TRAINING_TASK = "train"


#: The metric that names a job's quality in pickers and tables (at the served λ, on test).
KEY_METRIC = "ndcg@10"


#: The test splits a training job on an uploaded file can ask for, one line of help each
#: (the ``split`` of :func:`recolab.pipeline.load_split`, as ``recolab train --split``).
SPLIT_HELP = {
    "auto": "temporal for a behaviour log with timestamps, random otherwise",
    "temporal": "one cut in time: test is the last 20 % of interactions, train all before",
    "random": "each user's interactions held out at random (20 %, seeded)",
    "last-basket": "each user's last basket (rows sharing a timestamp) is their test",
}
#: Splits that need a timestamp on every interaction.
TIMED_SPLITS = ("temporal", "last-basket")


def split_choices(data: InteractionData) -> dict[str, str]:
    """The splits a dataset allows, each with its line of help: the time splits only when
    every interaction has a timestamp; ``auto`` says what it becomes for these data."""
    from recolab.tuning.validation import is_timed_log

    frame = data.frame
    timed = "timestamp" in frame.columns and not frame["timestamp"].isna().any()
    auto = "temporal" if is_timed_log(data) else "random"
    reason = "a behaviour log with timestamps" if auto == "temporal" else "no behaviour log in time"
    out = {"auto": f"{auto} here ({reason})"}
    out.update((k, v) for k, v in SPLIT_HELP.items() if k != "auto")
    if not timed:
        for key in TIMED_SPLITS:
            del out[key]
    return out


def job_split(spec: Mapping[str, Any], result: Mapping[str, Any] | None = None) -> str:
    """The split a job was asked for and, once it ran, the test set it made (the
    protocol's ``split``), e.g. ``"temporal · log[temporal:test]"``."""
    if spec.get("sample"):
        asked = "the sample's own split"
    elif spec.get("test"):
        asked = "given test file"
    else:
        asked = str(spec.get("split") or "auto")
    made = ((result or {}).get("protocol") or {}).get("split")
    return f"{asked} · {made}" if made else asked


def training_spec(
    root: Path, dataset_id: str, config: Mapping[str, Any], *, split: str = "auto"
) -> dict[str, Any]:
    """The job spec for training on a dataset with a :class:`~recolab.training.TrainConfig`
    dict (validated here, so a bad option fails before a job is queued) and the test
    ``split`` of an uploaded file (:data:`SPLIT_HELP`; a sample keeps its own split)."""
    from recolab.training import TrainConfig

    cfg = TrainConfig.from_dict(dict(config))
    info = get_dataset(root, dataset_id)
    spec: dict[str, Any] = {"dataset": info.id, "config": cfg.to_dict()}
    if split not in SPLIT_HELP:
        raise RecolabError(f"split must be one of {', '.join(SPLIT_HELP)}, got {split!r}")
    if info.kind == "sample":
        if split != "auto":
            raise RecolabError(f"the sample {info.id} has its own split; {split!r} is for uploads")
        spec["sample"] = info.id
    else:
        spec["train"] = str(info.interactions)
        spec["split"] = split
        if info.items is not None:
            spec["items"] = str(info.items)
        if info.users is not None:
            spec["users"] = str(info.users)
            if info.users_mapping:
                spec["users_mapping"] = dict(info.users_mapping)
        if info.mapping:
            spec["mapping"] = dict(info.mapping)
    return spec


def submit_training(
    root: Path,
    dataset_id: str,
    config: Mapping[str, Any],
    *,
    split: str = "auto",
    start_worker: bool = True,
) -> str:
    """Queue a training job on ``dataset_id`` (test ``split`` as in :func:`training_spec`)
    and make sure a worker runs; returns the job id.

    Raises
    ------
    RecolabError
        A bad option or split, or a dataset that is unknown or was deleted meanwhile
        (then nothing is queued and the message says so).
    """
    from recolab.jobs import JobStore, ensure_worker

    spec = training_spec(root, dataset_id, config, split=split)
    try:
        job_id = JobStore(root).submit(TRAINING_TASK, spec)
    except JobSpecError as exc:
        try:
            get_dataset(root, dataset_id)
        except RecolabError:
            raise RecolabError(
                f"dataset {dataset_id} was deleted while the job was being queued: nothing "
                "was queued; choose another dataset"
            ) from exc
        raise
    if start_worker:
        ensure_worker(root)
    return job_id


@dataclass
class JobStatus:
    """What the Train page shows about one job.

    Attributes
    ----------
    id, state, done:
        Job id, state (queued/running/succeeded/failed/cancelled), whether it is final.
    epoch, epochs:
        Last finished epoch and the maximum (``None`` before the first epoch).
    elapsed_s, eta_s:
        Seconds spent and estimated seconds left (``None`` when unknown).
    progress:
        One row per progress event (epoch, loss, val_* …) for the training curves.
    notes:
        Messages of the job (``"no GPU found: training on CPU"``…), oldest first.
    error:
        Why it failed or was cancelled.
    device, dataset:
        Device of the job and the dataset id of its spec.
    result:
        What the task returned, once succeeded.
    stages:
        The stages the job went through, with their own progress and ETA
        (:func:`recolab.jobs.progress.stages_from_events`).
    created:
        When the job was queued (Unix seconds).
    name:
        The name the job was given (``None``: it is shown by its id).
    """

    id: str
    state: str
    done: bool
    epoch: int | None
    epochs: int | None
    elapsed_s: float | None
    eta_s: float | None
    progress: pd.DataFrame
    notes: list[str]
    error: str | None
    device: str | None
    dataset: str | None
    result: dict[str, Any] | None
    stages: list[StageProgress] = field(default_factory=list)
    created: float | None = None
    name: str | None = None

    @property
    def stage(self) -> StageProgress | None:
        """The stage running now (``None`` before the first or once the job ended)."""
        return current_stage(self.stages) if not self.done else None

    @property
    def fraction(self) -> float:
        """Share of epochs done, in [0, 1] (1 once succeeded)."""
        if self.state == "succeeded":
            return 1.0
        if not self.epoch or not self.epochs:
            return 0.0
        return max(0.0, min(1.0, self.epoch / self.epochs))


def job_dataset(spec: Mapping[str, Any]) -> str:
    """A short name for the data a job trains on."""
    if spec.get("dataset"):
        return str(spec["dataset"])
    if spec.get("sample"):
        return str(spec["sample"])
    return Path(str(spec.get("train", "?"))).name


def poll_job(root: Path, job_id: str) -> JobStatus:
    """Read a job and its events from the store (cheap enough to call every second).

    Raises
    ------
    recolab.jobs.UnknownJobError
        When no job has that id.
    """
    from recolab.jobs import JobStore

    store = JobStore(root)
    job = store.get(job_id)
    events = store.events(job_id)
    progress = [e for e in events if e.get("kind") == "progress" and "epoch" in e]
    notes = [str(e.get("message", "")) for e in events if e.get("kind") == "note"]
    table = pd.DataFrame(progress)
    last = progress[-1] if progress else (job.progress or {})
    epoch = last.get("epoch")
    epochs = last.get("epochs") or (job.spec.get("config") or {}).get("epochs")
    stages = stages_from_events(events, finished=job.finished)
    running = current_stage(stages)
    eta = running.eta_s(time.time()) if running is not None else None
    elapsed = job.elapsed_s  # measured: the store's start to end (or now)
    if job.done:
        eta = 0.0 if job.state == "succeeded" else None
    return JobStatus(
        id=job.id,
        state=job.state,
        done=job.done,
        epoch=int(epoch) if epoch is not None else None,
        epochs=int(epochs) if epochs is not None else None,
        elapsed_s=float(elapsed) if elapsed is not None else None,
        eta_s=float(eta) if eta is not None else None,
        progress=table,
        notes=notes,
        error=job.error,
        device=job.device,
        dataset=job_dataset(job.spec),
        result=job.result,
        stages=stages,
        created=job.created,
        name=job.name,
    )


def stage_lines(status: JobStatus, now: float | None = None) -> list[tuple[str, float | None, str]]:
    """``(label, fraction or None, text)`` per stage of a job, in order, for the Train page:
    e.g. ``("Tuning the base (trials)", 0.2, "12/60 · 41 s left")``. A stage that was
    running when the job failed or was cancelled says so."""
    now = time.time() if now is None else now
    out = []
    for i, stage in enumerate(status.stages):
        text = stage.text(now)
        last = i == len(status.stages) - 1
        if last and status.done and status.state != "succeeded":
            text = f"{status.state} after {stage.seconds(now):.1f} s"
        out.append((stage.label, stage.fraction, text))
    return out


def job_wall_seconds(root: Path, job_id: str) -> float | None:
    """Measured wall time of a finished job: the store's start to end (``None`` unknown)."""
    from recolab.jobs import JobStore, UnknownJobError

    try:
        job = JobStore(root).get(job_id)
    except UnknownJobError:
        return None
    if job.started is None or job.finished is None:
        return None
    return float(job.finished - job.started)


def job_label(
    job_id: str,
    dataset: str,
    created: float,
    state: str,
    metrics: Mapping[str, Any] | None,
    name: str | None = None,
) -> str:
    """What a picker shows for a job: name (or id), dataset, date, state and key metric,
    e.g. ``"3f2a9c1b0d4e · ml-100k · 2025-05-01 14:02 · succeeded · ndcg@10 0.412"``."""
    when = pd.Timestamp(created, unit="s").strftime("%Y-%m-%d %H:%M")
    parts = [name or job_id, dataset, when, state]
    value = (metrics or {}).get(KEY_METRIC)
    if isinstance(value, int | float) and math.isfinite(value):
        parts.append(f"{KEY_METRIC} {value:.3f}")
    return " · ".join(parts)


def job_labels(root: Path, limit: int = 100) -> dict[str, str]:
    """Job id → :func:`job_label` for the newest ``limit`` jobs: the name the job was given
    (else its id) and the name of its dataset (else the dataset id)."""
    from recolab.jobs import JobStore
    from recolab.studio.datasets import list_datasets

    names = {d.id: d.name for d in list_datasets(root)}
    return {
        j.id: job_label(
            j.id,
            names.get(job_dataset(j.spec), job_dataset(j.spec)),
            j.created,
            j.state,
            (j.result or {}).get("metrics"),
            name=j.name,
        )
        for j in JobStore(root).list(limit=limit)
    }


def cancel_job(root: Path, job_id: str) -> str:
    """Ask a job to stop; returns its state afterwards."""
    from recolab.jobs import JobStore

    return JobStore(root).request_cancel(job_id).state


def jobs_table(root: Path, limit: int = 50) -> pd.DataFrame:
    """Past and current jobs, newest first: id, state, dataset, created, seconds, device,
    recall@20 at λ = 0, error."""
    from recolab.jobs import JobStore

    rows = []
    for job in JobStore(root).list(limit=limit):
        metrics = (job.result or {}).get("metrics") or {}
        rows.append(
            {
                "id": job.id,
                "state": job.state,
                "dataset": job_dataset(job.spec),
                "created": pd.Timestamp(job.created, unit="s").strftime("%Y-%m-%d %H:%M:%S"),
                "seconds": round(job.elapsed_s, 1) if job.elapsed_s is not None else None,
                "device": job.device,
                "recall@20": metrics.get("recall@20"),
                "error": job.error,
            }
        )
    columns = ["id", "state", "dataset", "created", "seconds", "device", "recall@20", "error"]
    return pd.DataFrame(rows, columns=columns)


def finished_jobs(root: Path, limit: int = 100) -> list[str]:
    """Ids of succeeded jobs whose bundle exists, newest first."""
    from recolab.jobs import JobStore

    return [
        j.id
        for j in JobStore(root).list(limit=limit, state="succeeded")
        if bundle_path(root, j.id).is_file()
    ]


def bundle_path(root: Path, job_id: str) -> Path:
    """``<workspace>/jobs/<job_id>/model.zip``."""
    _check_id(job_id)
    return Path(root) / "jobs" / job_id / "model.zip"


def job_result(root: Path, job_id: str) -> dict[str, Any]:
    """The job's ``result.json`` (front, references, sparsity curve, history…); ``{}`` if
    absent or unreadable."""
    _check_id(job_id)
    path = Path(root) / "jobs" / job_id / "result.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        log.info("no readable result for job %s: %s", job_id, exc)
        return {}


def job_spec(root: Path, job_id: str) -> dict[str, Any]:
    """The spec a job was submitted with."""
    from recolab.jobs import JobStore

    return dict(JobStore(root).get(job_id).spec)
