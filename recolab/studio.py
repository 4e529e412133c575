"""Plain functions behind the dashboard (no streamlit here).

The pages of the app stay thin: they read widget state, call one of these functions and draw
the result. Everything that touches the disk, the job store, a model or a metric lives here,
so it can be unit-tested without a browser.

Datasets live in ``<workspace>/datasets/<id>/`` (``meta.json`` plus the uploaded files, each
written atomically); the shipped samples are datasets too, under their own names. Training
runs as a background job (:mod:`recolab.jobs`) whose folder holds ``model.zip`` and
``result.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recolab.data.interactions import InteractionData
from recolab.data.io import detect_user_id_column  # noqa: F401  (the Data page's)
from recolab.errors import DataError, RecolabError
from recolab.features.users import user_attribute_summary  # noqa: F401  (the Data page's)
from recolab.jobs.progress import StageProgress, current_stage, stages_from_events

log = logging.getLogger(__name__)

#: Task run by the worker for a training job (the registered name, :mod:`recolab.jobs.tasks`).
TRAINING_TASK = "train"
#: The metric that names a job's quality in pickers and tables (at the served λ, on test).
KEY_METRIC = "ndcg@10"
#: The Train page's names of the models ``TrainConfig.model`` can ask for.
MODEL_LABELS = {
    "auto": "Tuned base + trade-off re-ranker (default)",
    "weighted": "λ-conditioned network",
}

#: Roles offered in the column-mapping selectboxes of the Data page.
MAPPING_ROLES = (
    "user",
    "item",
    "rating",
    "timestamp",
    "quantity",
    "price",
    "event",
    "invoice",
    "title",
)

#: Metric cards of the Trade-offs page: (label, column template) — ``{k}`` is the cut-off.
CARD_METRICS = (
    ("Precision", "precision@{k}"),
    ("Recall", "recall@{k}"),
    ("F1", "f1@{k}"),
    ("NDCG", "ndcg@{k}"),
    ("Coverage", "coverage@{k}"),
    ("Novelty", "novelty@{k}"),
    ("Diversity", "diversity@{k}"),
)

_ID_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


# ----------------------------------------------------------------------------------------
# Workspace and datasets
# ----------------------------------------------------------------------------------------


def workspace(home: str | Path | None = None) -> Path:
    """The workspace root (``$RECOLAB_HOME`` or ``./workspace``), created if missing."""
    from recolab.jobs.workspace import workspace_root

    return workspace_root(home)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset the app can train on.

    Attributes
    ----------
    id:
        ``"ml-100k"`` / ``"retail-sample"`` for the samples, ``"up-<hash>"`` for uploads.
    name:
        What the user sees (the uploaded file name, or the sample name).
    kind:
        ``"sample"`` or ``"upload"``.
    interactions, items, users:
        Paths of the uploaded files (``None`` for samples; ``items`` (item texts) and
        ``users`` (user attributes) optional).
    mapping:
        Column role → column name chosen for the upload (empty: detection).
    created:
        Unix time of the upload (0 for samples).
    users_mapping:
        ``{"user": COLUMN}`` when the user id column of the users file was chosen by hand
        (empty: detection, see :func:`recolab.data.io.load_users`).
    """

    id: str
    name: str
    kind: str
    interactions: Path | None = None
    items: Path | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    created: float = 0.0
    users: Path | None = None
    users_mapping: dict[str, str] = field(default_factory=dict)


def _check_id(dataset_id: str) -> None:
    if not isinstance(dataset_id, str) or not _ID_SAFE.match(dataset_id):
        raise RecolabError(f"invalid dataset id {dataset_id!r}")


def _safe_name(name: str, default: str) -> str:
    """A file name without folders or odd characters, keeping the extension."""
    base = Path(str(name)).name
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", base).lstrip(".")
    return clean or default


def _write_atomic(path: Path, data: bytes) -> None:
    from recolab.fileio import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@dataclass(frozen=True)
class _UploadFile:
    """One uploaded file: its name in the dataset folder, its original name and bytes."""

    stored: str
    original: str
    data: bytes


def _upload_files(
    name: str,
    data: bytes,
    items: tuple[str | None, bytes | None],
    users: tuple[str | None, bytes | None],
) -> dict[str, _UploadFile]:
    """The files of an upload by role (interactions, items, users), named as stored."""
    files = {
        "interactions": _UploadFile("interactions-" + _safe_name(name, "data.csv"), name, data)
    }
    for role, (fname, blob) in (("items", items), ("users", users)):
        if blob:
            original = fname or f"{role}.csv"
            files[role] = _UploadFile(
                f"{role}-" + _safe_name(original, f"{role}.csv"), original, blob
            )
    return files


def _renamed(exc: DataError, folder: Path, files: Mapping[str, _UploadFile]) -> DataError:
    """``exc`` naming the uploaded file as the user called it, not its staging path."""
    text = str(exc)
    for f in files.values():
        text = text.replace(str(folder / f.stored), f.original)
    out = DataError(text)
    out.file = next(
        (f.original for f in files.values() if exc.file == str(folder / f.stored)), exc.file
    )
    out.row, out.column = exc.row, exc.column
    return out


def _validate_upload(
    folder: Path,
    files: Mapping[str, _UploadFile],
    mapping: Mapping[str, str],
    users_mapping: Mapping[str, str],
) -> InteractionData:
    """Load the staged files as :func:`load_dataset` would (read, map, clean)."""
    from recolab.data.io import load_interactions, load_users

    items = folder / files["items"].stored if "items" in files else None
    try:
        data = load_interactions(
            folder / files["interactions"].stored, mapping or None, items=items
        )
        if "users" in files:
            data.user_meta = load_users(folder / files["users"].stored, users_mapping or None)
    except DataError as exc:
        raise _renamed(exc, folder, files) from exc
    return data


def save_upload(
    root: Path,
    name: str,
    data: bytes,
    *,
    items_name: str | None = None,
    items_data: bytes | None = None,
    users_name: str | None = None,
    users_data: bytes | None = None,
    mapping: Mapping[str, str] | None = None,
    users_mapping: Mapping[str, str] | None = None,
) -> DatasetInfo:
    """Check an uploaded interactions file (and optional item and user files) and save it as
    a workspace dataset.

    The files are written to a staging folder and loaded there exactly as
    :func:`load_dataset` loads them (read, map columns, clean); only when that succeeds do
    they move into the dataset folder. A file that cannot be used (an image, one column, a
    mapping naming a missing column, no usable rows …) leaves the workspace as it was. The id
    is derived from the content, so uploading the same files twice gives the same dataset;
    files are written atomically.

    Parameters
    ----------
    root:
        Workspace root.
    name, data:
        Original file name and bytes of the interactions file.
    items_name, items_data:
        Same for the optional item catalogue (titles, descriptions, genres).
    users_name, users_data:
        Same for the optional user attributes (a user id column, then attribute columns such
        as age, gender, occupation; or MovieLens ``u.user``).
    mapping:
        Role → column of the interactions file (empty values ignored); ``None``: detection,
        or the mapping stored for the same files before.
    users_mapping:
        ``{"user": COLUMN}`` for the users file; ``None``: detection (or as stored).

    Returns
    -------
    DatasetInfo
        The saved dataset.

    Raises
    ------
    DataError
        The files cannot be loaded; the message names the uploaded file (as the user named
        it), and the row and column where they apply. Nothing is written then.
    """
    if not data:
        raise DataError("the uploaded file is empty", file=name)
    digest = hashlib.sha256(data)
    if items_data:
        digest.update(b"\0items\0" + items_data)
    if users_data:
        digest.update(b"\0users\0" + users_data)
    dataset_id = "up-" + digest.hexdigest()[:12]
    files = _upload_files(name, data, (items_name, items_data), (users_name, users_data))
    datasets = Path(root) / "datasets"
    folder = datasets / dataset_id
    old = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").is_file() else {}
    chosen = _clean_mapping(mapping if mapping is not None else old.get("mapping") or {})
    users_chosen = _clean_mapping(
        users_mapping if users_mapping is not None else old.get("users_mapping") or {}
    )
    if not users_data:
        users_chosen = {}
    datasets.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=datasets))
    try:
        for f in files.values():
            _write_atomic(staging / f.stored, f.data)
        _validate_upload(staging, files, chosen, users_chosen)
        folder.mkdir(parents=True, exist_ok=True)
        for f in files.values():
            os.replace(staging / f.stored, folder / f.stored)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    meta = {
        "id": dataset_id,
        "name": str(name),
        "interactions": files["interactions"].stored,
        "items": files["items"].stored if "items" in files else None,
        "items_name": items_name,
        "users": files["users"].stored if "users" in files else None,
        "users_name": users_name if users_data else None,
        "mapping": chosen,
        "users_mapping": users_chosen,
        "created": time.time(),
    }
    _write_atomic(folder / "meta.json", json.dumps(meta, indent=2).encode())
    log.info("saved upload %s as dataset %s", name, dataset_id)
    return get_dataset(root, dataset_id)


def _clean_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """Role → column without the empty choices."""
    return {str(k): str(v) for k, v in mapping.items() if v}


def upload_columns(root: Path, name: str, data: bytes) -> tuple[list[str], dict[str, str]]:
    """The columns of an uploaded file not yet saved, and the roles detected for them (as
    :func:`detect_mapping`), read from a staging copy that is removed afterwards.

    Raises
    ------
    DataError
        If the file cannot be read as a table (naming the file as the user called it).
    """
    if not data:
        raise DataError("the uploaded file is empty", file=name)
    datasets = Path(root) / "datasets"
    datasets.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=datasets))
    files = {"interactions": _UploadFile("upload-" + _safe_name(name, "data.csv"), name, data)}
    try:
        _write_atomic(staging / files["interactions"].stored, data)
        return detect_mapping(staging / files["interactions"].stored)
    except DataError as exc:
        raise _renamed(exc, staging, files) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _upload_meta(root: Path, dataset_id: str) -> tuple[Path, dict[str, Any]]:
    """The meta.json path and content of an uploaded dataset."""
    _check_id(dataset_id)
    meta_path = Path(root) / "datasets" / dataset_id / "meta.json"
    if not meta_path.is_file():
        raise RecolabError(f"no uploaded dataset {dataset_id!r} in {root}")
    return meta_path, json.loads(meta_path.read_text())


def set_mapping(root: Path, dataset_id: str, mapping: Mapping[str, str]) -> DatasetInfo:
    """Store the column mapping chosen for an uploaded dataset (empty values are dropped),
    once the log loads with it; a mapping that fails raises :class:`DataError` and the stored
    one stays."""
    meta_path, meta = _upload_meta(root, dataset_id)
    info = get_dataset(root, dataset_id)
    chosen = _clean_mapping(mapping)
    assert info.interactions is not None
    from recolab.data.io import load_interactions

    load_interactions(info.interactions, chosen or None, items=info.items)  # refuse a bad one
    meta["mapping"] = chosen
    _write_atomic(meta_path, json.dumps(meta, indent=2).encode())
    return get_dataset(root, dataset_id)


def set_users_mapping(root: Path, dataset_id: str, user_column: str | None) -> DatasetInfo:
    """Store the user id column chosen for the users file of an uploaded dataset (``None`` or
    empty: back to detection)."""
    meta_path, meta = _upload_meta(root, dataset_id)
    if not meta.get("users"):
        raise RecolabError(f"dataset {dataset_id!r} has no user attributes file")
    meta["users_mapping"] = {"user": str(user_column)} if user_column else {}
    _write_atomic(meta_path, json.dumps(meta, indent=2).encode())
    return get_dataset(root, dataset_id)


def get_dataset(root: Path, dataset_id: str) -> DatasetInfo:
    """The dataset ``dataset_id`` (a sample name or an upload id).

    Raises
    ------
    RecolabError
        If there is no such dataset.
    """
    from recolab.data.samples import SAMPLES

    if dataset_id in SAMPLES:
        return DatasetInfo(id=dataset_id, name=dataset_id, kind="sample")
    _check_id(dataset_id)
    folder = Path(root) / "datasets" / dataset_id
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise RecolabError(f"no dataset {dataset_id!r} in the workspace {root}")
    meta = json.loads(meta_path.read_text())
    return DatasetInfo(
        id=dataset_id,
        name=str(meta.get("name", dataset_id)),
        kind="upload",
        interactions=folder / meta["interactions"],
        items=folder / meta["items"] if meta.get("items") else None,
        mapping=dict(meta.get("mapping") or {}),
        created=float(meta.get("created", 0.0)),
        users=folder / meta["users"] if meta.get("users") else None,
        users_mapping=dict(meta.get("users_mapping") or {}),
    )


def list_datasets(root: Path) -> list[DatasetInfo]:
    """The samples, then the uploads (newest first)."""
    from recolab.data.samples import available_samples

    out = [DatasetInfo(id=s, name=s, kind="sample") for s in available_samples()]
    uploads = []
    for meta in sorted((Path(root) / "datasets").glob("*/meta.json")):
        try:
            uploads.append(get_dataset(root, meta.parent.name))
        except (RecolabError, KeyError, ValueError) as exc:
            log.warning("skipping unreadable dataset %s: %s", meta.parent, exc)
    uploads.sort(key=lambda d: -d.created)
    return out + uploads


def detect_mapping(path: str | Path) -> tuple[list[str], dict[str, str]]:
    """The columns of a table and the roles detected for them.

    Returns
    -------
    (columns, mapping)
        Column names (``col1``, ``col2``… for a headerless file) and role → column as
        loading would assign them without a mapping.

    Raises
    ------
    DataError
        If the file cannot be read (empty, binary, malformed).
    """
    from recolab.data.columns import detect_columns
    from recolab.data.io import HEADERLESS_ROLES, read_table

    raw = read_table(path)
    columns = [str(c) for c in raw.frame.columns]
    if raw.header:
        return columns, detect_columns(columns)
    roles = HEADERLESS_ROLES.get(len(columns), ())
    return columns, {role: f"col{j + 1}" for j, role in enumerate(roles)}


def preview(path: str | Path, n: int = 20) -> pd.DataFrame:
    """The first ``n`` rows of a table as read (strings)."""
    from recolab.data.io import read_table

    return read_table(path).frame.head(n)


def load_dataset(root: Path, dataset_id: str) -> InteractionData:
    """Load and validate a dataset (its report is on ``.report``; user attributes, when the
    dataset has them, on ``.user_meta``).

    Raises
    ------
    DataError
        With the file, row and column when the data (interactions, items or users) are bad.
    """
    from recolab.data.io import load_interactions, load_users
    from recolab.data.samples import load_sample

    info = get_dataset(root, dataset_id)
    if info.kind == "sample":
        return load_sample(info.id)
    assert info.interactions is not None
    data = load_interactions(info.interactions, info.mapping or None, items=info.items)
    if info.users is not None:
        data.user_meta = load_users(info.users, info.users_mapping or None)
    data.name = info.name
    return data


def dataset_stats(data: InteractionData) -> dict[str, Any]:
    """Users, items, interactions, density, kind and the users per item (``item_counts``)."""
    counts = np.diff(data.user_items.tocsc().indptr).astype(float)
    return {
        "users": int(data.n_users),
        "items": int(data.n_items),
        "interactions": int(data.n_interactions),
        "density": float(data.density()),
        "kind": data.kind,
        "item_counts": counts,
    }


def training_spec(root: Path, dataset_id: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The job spec for training on a dataset with a :class:`~recolab.training.TrainConfig`
    dict (validated here, so a bad option fails before a job is queued)."""
    from recolab.training import TrainConfig

    cfg = TrainConfig.from_dict(dict(config))
    info = get_dataset(root, dataset_id)
    spec: dict[str, Any] = {"dataset": info.id, "config": cfg.to_dict()}
    if info.kind == "sample":
        spec["sample"] = info.id
    else:
        spec["train"] = str(info.interactions)
        if info.items is not None:
            spec["items"] = str(info.items)
        if info.users is not None:
            spec["users"] = str(info.users)
            if info.users_mapping:
                spec["users_mapping"] = dict(info.users_mapping)
        if info.mapping:
            spec["mapping"] = dict(info.mapping)
    return spec


# ----------------------------------------------------------------------------------------
# Jobs
# ----------------------------------------------------------------------------------------


def submit_training(
    root: Path, dataset_id: str, config: Mapping[str, Any], *, start_worker: bool = True
) -> str:
    """Queue a training job on ``dataset_id`` and make sure a worker runs; returns the job id."""
    from recolab.jobs import JobStore, ensure_worker

    spec = training_spec(root, dataset_id, config)
    job_id = JobStore(root).submit(TRAINING_TASK, spec)
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
    """Job id → :func:`job_label` for the newest ``limit`` jobs."""
    from recolab.jobs import JobStore

    return {
        j.id: job_label(
            j.id, job_dataset(j.spec), j.created, j.state, (j.result or {}).get("metrics")
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


# ----------------------------------------------------------------------------------------
# Trade-offs
# ----------------------------------------------------------------------------------------


@dataclass
class EvalContext:
    """What evaluating a model at a new λ needs: the split of its job and the item vectors
    diversity is measured on (the same as at training time)."""

    train: InteractionData
    test: InteractionData
    item_vectors: np.ndarray | None


def eval_context(spec: Mapping[str, Any]) -> EvalContext:
    """Rebuild the (train, test) split of a job from its spec, as the worker did."""
    from recolab.pipeline import item_features, split_from_spec
    from recolab.training import TrainConfig

    cfg = TrainConfig.from_dict(dict(spec.get("config") or {}))
    train, test = split_from_spec(dict(spec), cfg.seed)
    features = item_features(train, cfg.use_text, "cpu")
    return EvalContext(train, test, features.diversity)


def metrics_at(
    model: Any, ctx: EvalContext, lam: float, weights: dict[str, float] | None = None
) -> dict[str, float]:
    """Every metric of the model at ``lam`` (and per-objective ``weights``, see
    :func:`recolab.pipeline.objective_lambdas`) on the job's test split (one forward pass)."""
    from recolab.pipeline import lambda_front

    row = lambda_front(
        model,
        ctx.train,
        ctx.test,
        [float(lam)],
        item_vectors=ctx.item_vectors,
        weights=weights,
    )
    out = row.iloc[0].drop(["model"]).to_dict()
    return {k: float(v) for k, v in out.items()}


def front_frames(config: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The λ curve (rows of model ``recolab``) and the references of a bundle's front."""
    front = pd.DataFrame(list(config.get("front") or []))
    if front.empty or "model" not in front.columns:
        return pd.DataFrame(), pd.DataFrame()
    curve = front[front["model"] == "recolab"].reset_index(drop=True)
    refs = front[front["model"] != "recolab"].reset_index(drop=True)
    curve["lam"] = pd.to_numeric(curve["lam"], errors="coerce")
    return curve, refs


@dataclass
class CutoffChoice:
    """The list length α chose (:func:`alpha_cutoff`).

    Attributes
    ----------
    k:
        k* when α chose one, else the list length kept.
    lam:
        λ of the validation curve it was chosen on (``None`` without a curve).
    curve:
        That curve (columns k, precision, recall, f1); empty without one.
    message:
        Why α chose nothing (α all zero, or no curve stored); ``None`` when it chose.
    """

    k: int
    lam: float | None
    curve: pd.DataFrame
    message: str | None = None


def alpha_cutoff(
    config: Mapping[str, Any], lam: float, alpha: Sequence[float], current_k: int
) -> CutoffChoice:
    """k* = the list length in 1 … 50 with the largest α1·P@k + α2·R@k + α3·F1@k on the
    validation curve stored nearest ``lam`` (:mod:`recolab.tuning.cutoff`). With α all zero,
    or no curve in the bundle, ``current_k`` is kept and ``message`` says why."""
    from recolab.tuning.cutoff import best_cutoff, curves_from, nearest_curve

    near = nearest_curve(curves_from(config.get("cutoffs")), lam)
    if near is None:
        return CutoffChoice(
            current_k,
            None,
            pd.DataFrame(),
            "This model stores no validation curve over the list length (trained before "
            f"k* existed, or without a validation split): lists keep k = {current_k}.",
        )
    curve_lam, curve = near
    if not any(float(a) > 0 for a in alpha):
        return CutoffChoice(
            current_k,
            curve_lam,
            curve,
            f"α is all zero: there is nothing to weigh, so no list length is chosen; lists "
            f"keep k = {current_k}. Raise α1, α2 or α3.",
        )
    return CutoffChoice(best_cutoff(curve, alpha), curve_lam, curve)


#: Secondary objectives the constraint picker offers, when the validation front has them.
CONSTRAINT_OBJECTIVES = ("coverage@20", "novelty@20", "diversity@20", "revenue@20")


def validation_front(config: Mapping[str, Any]) -> pd.DataFrame:
    """The default mechanism's front measured on validation (one row per λ; empty for a
    model without one, e.g. the λ-conditioned network)."""
    selection = config.get("selection") or {}
    for mechanism in selection.get("mechanisms") or []:
        if mechanism.get("name") == selection.get("mechanism"):
            return pd.DataFrame(list(mechanism.get("front") or []))
    return pd.DataFrame()


def constraint_objectives(front: pd.DataFrame) -> list[str]:
    """The objectives of :data:`CONSTRAINT_OBJECTIVES` the validation front measured."""
    return [
        c
        for c in CONSTRAINT_OBJECTIVES
        if c in front.columns and pd.to_numeric(front[c], errors="coerce").notna().any()
    ]


def constrained_lambda(
    front: pd.DataFrame, objective: str, max_loss_pct: float
) -> dict[str, float]:
    """The λ of the validation front with the most ``objective`` at an ndcg@10 loss of at
    most ``max_loss_pct`` % of the front's best (:func:`recolab.pareto.best_within_loss`),
    with its ndcg@10, the loss and the objective's value."""
    from recolab.pareto import best_within_loss

    label = best_within_loss(front, objective, max_loss=float(max_loss_pct) / 100.0)
    row = front.loc[label]
    best = float(pd.to_numeric(front["ndcg@10"], errors="coerce").max())
    return {
        "lam": float(row["lam"]),
        "ndcg@10": float(row["ndcg@10"]),
        "loss_pct": 100.0 * (best - float(row["ndcg@10"])) / best if best else 0.0,
        objective: float(row[objective]),
    }


def metric_cards(
    metrics: Mapping[str, float],
    k: int,
    *,
    sparsity: float | None,
    size_bytes: int | None,
    train_seconds: float | None,
    baseline: Mapping[str, float] | None = None,
) -> list[tuple[str, str, str | None]]:
    """Cards of the Trade-offs page: (label, value, delta vs ``baseline``, or ``None`` without
    a baseline or when the change rounds to 0 at the shown precision). Values keep three
    significant decimals (:func:`card_value`) so that they fit a card at 1024 px."""
    cards: list[tuple[str, str, str | None]] = []
    for label, template in CARD_METRICS:
        col = template.format(k=k)
        value = metrics.get(col)
        delta = None
        if baseline is not None and value is not None and baseline.get(col) is not None:
            d = float(value) - float(baseline[col])
            # no arrow for a change that rounds to zero (it read "↑ +0.0000")
            delta = card_value(d, signed=True) if abs(d) >= 5e-4 else None
        cards.append((f"{label}@{k}", card_value(value), delta))
    cards.append(("Sparsity", f"{sparsity:.1%}" if sparsity is not None else "–", None))
    cards.append(("Size", format_bytes(size_bytes), None))
    cards.append(("Train time", _seconds(train_seconds), None))
    return cards


def card_value(value: float | None, signed: bool = False) -> str:
    """A metric card's value: 3 decimals below 10 (``0.312``), 2 below 100 (``12.70``),
    none above (``1,234``); ``"–"`` for None/NaN. ``signed`` adds the sign (deltas)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    v = float(value)
    digits = 3 if abs(v) < 10 else 2 if abs(v) < 100 else 0
    return f"{v:+,.{digits}f}" if signed else f"{v:,.{digits}f}"


def _seconds(value: float | None) -> str:
    if not value:
        return "–"
    return f"{value:.1f} s" if value < 100 else f"{value:,.0f} s"


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.4f}"


def format_bytes(n: int | float | None) -> str:
    """``1536`` → ``"1.5 KB"``."""
    if n is None:
        return "–"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover


def mechanism_table(config: Mapping[str, Any]) -> pd.DataFrame:
    """Every trade-off mechanism measured on validation for a tuned bundle (empty for other
    models): its λ range, its most accurate λ (the one served by default), candidates and
    hypervolumes, the default mechanism first."""
    selection = config.get("selection") or {}
    chosen = selection.get("mechanism")
    rows = [
        {
            "mechanism": m["name"] + (" (default)" if m["name"] == chosen else ""),
            "serves": m["objective"],
            "λ range": f"0 – {m['lambda_range'][1]:.3g}",
            "most accurate λ": m.get("lambda_default", 0.0),
            "candidates": m.get("n_candidates"),
            "HV ndcg@10 × coverage@20": m["hypervolumes"].get("ndcg@10|coverage@20"),
            "HV ndcg@10 × novelty@20": m["hypervolumes"].get("ndcg@10|novelty@20"),
        }
        for m in selection.get("mechanisms") or []
    ]
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values("mechanism", key=lambda c: ~c.str.endswith("(default)"), kind="stable")


def sparsity_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """The sparsity curve of a job's ``result.json`` (empty when absent)."""
    return pd.DataFrame(list(result.get("sparsity_curve") or []))


# ----------------------------------------------------------------------------------------
# Recommendations
# ----------------------------------------------------------------------------------------


def user_ids(loaded: Any, limit: int | None = None) -> list[str]:
    """External ids of the users the model knows (training users)."""
    ids = [str(u) for u in loaded.model.users_.ids]
    return ids[:limit] if limit else ids


def user_history(loaded: Any, user_id: str) -> list[int]:
    """Item indices of a known user's training history."""
    idx = int(loaded.model.users_.index([str(user_id)])[0])
    if idx < 0:
        raise RecolabError(f"unknown user {user_id!r}")
    m = loaded.model.train_
    return [int(i) for i in m.indices[m.indptr[idx] : m.indptr[idx + 1]]]


def item_label(loaded: Any, index: int) -> str:
    """``"title (id)"`` or the id when the model has no titles."""
    item = str(loaded.model.items_.ids[index])
    titles = loaded.model.item_titles_
    if titles is not None and str(titles[index]).strip():
        return f"{titles[index]} ({item})"
    return item


@dataclass
class HistoryMatch:
    """How one typed history entry was resolved.

    ``how`` is ``"id"``, ``"title"`` (the whole title, case-insensitive), ``"title
    without year"`` ("Heat" → "Heat (1995)"), ``"words"`` (every word of the entry is a whole
    word of exactly one title), ``"ambiguous"`` (several titles: ``options``, nothing taken)
    or ``"none"``.
    """

    entry: str
    how: str
    item: str | None = None
    options: list[str] = field(default_factory=list)
    label: str | None = None  # "title (id)" of the item taken


_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")


def match_history(loaded: Any, text: str) -> list[HistoryMatch]:
    """Resolve a typed history (ids or titles, separated by commas, semicolons or new lines)
    entry by entry: an item id first, then an exact title, then the title without its
    year, then whole words; an entry that fits several titles at the first level that
    matches is ambiguous and is not taken (never a substring: "Heat" is not "Theater")."""
    ids = [str(i) for i in loaded.model.items_.ids]
    titles = [str(t) for t in (loaded.model.item_titles_ or [])]
    levels = [
        ("title", [t.lower() for t in titles], lambda e, t: e == t),
        ("title without year", [_YEAR.sub("", t).lower() for t in titles], lambda e, t: e == t),
        ("words", [t.lower() for t in titles], _has_words),
    ]
    known = set(ids)
    out: list[HistoryMatch] = []
    for entry in (e.strip() for e in re.split(r"[,;\n]", text or "")):
        if not entry:
            continue
        match = HistoryMatch(entry, "id", entry) if entry in known else None
        out.append(match or _match_title(entry, ids, titles, levels))
    index = {item: n for n, item in enumerate(ids)}
    for match in out:
        if match.item is not None:
            match.label = item_label(loaded, index[match.item])
    return out


def _has_words(entry: str, title: str) -> bool:
    return all(re.search(rf"\b{re.escape(w)}\b", title) for w in entry.split())


def _match_title(
    entry: str, ids: list[str], titles: list[str], levels: list[tuple[str, list[str], Any]]
) -> HistoryMatch:
    needle = entry.lower()
    for how, keys, fits in levels:
        hits = [n for n, key in enumerate(keys) if fits(needle, key)]
        if len(hits) == 1:
            return HistoryMatch(entry, how, ids[hits[0]])
        if hits:
            return HistoryMatch(entry, "ambiguous", options=[titles[n] for n in hits[:8]])
    return HistoryMatch(entry, "none")


def parse_history(loaded: Any, text: str) -> tuple[list[str], list[str]]:
    """Item ids of a typed history (see :func:`match_history`), no repeats, and the entries
    that were not taken (matched nothing, or several titles)."""
    ids: list[str] = []
    unknown: list[str] = []
    for match in match_history(loaded, text):
        if match.item is None:
            unknown.append(match.entry)
        elif match.item not in ids:
            ids.append(match.item)
    return ids, unknown


def explain(
    loaded: Any, history: Sequence[int], items: Sequence[int], n: int = 2
) -> list[list[tuple[int, float]]]:
    """For each recommended item, the ``n`` history items behind it.

    A linear model (``contributions``) names the history items that add most to the item's
    score (``W[h, i]``); the weighted network names those whose item vectors (``phi_``) sit
    closest to it (cosine).

    Returns
    -------
    list
        One list per item of ``items``: ``(history item index, value)``, largest first.
    """
    model = loaded.model
    n_items = model.n_items if hasattr(model, "contributions") else model.phi_.shape[0]
    hist = np.asarray([h for h in history if 0 <= h < n_items], dtype=int)
    if hist.size == 0:
        return [[] for _ in items]
    if hasattr(model, "contributions"):
        sims = model.contributions(hist, list(items))
    else:
        phi = np.asarray(model.phi_, dtype=np.float64)
        norms = np.linalg.norm(phi, axis=1)
        norms[norms == 0] = 1.0
        unit = phi / norms[:, None]
        sims = unit[np.asarray(items, dtype=int)] @ unit[hist].T
    out = []
    for row in np.atleast_2d(sims):
        order = np.argsort(-row, kind="stable")[:n]
        out.append([(int(hist[j]), float(row[j])) for j in order])
    return out


def because_caption(loaded: Any) -> str:
    """What the "because" column of :func:`recommendations` means for this model."""
    if hasattr(loaded.model, "contributions"):
        return (
            "*because*: the items of the history that add most to the recommended item's "
            "score (their item-item weight)."
        )
    return (
        "*because*: the items of the history closest to the recommended item "
        "(cosine of the model's item vectors)."
    )


def recommendations(
    loaded: Any,
    lam: float | Mapping[str, float],
    k: int = 10,
    *,
    user_id: str | None = None,
    history_ids: Sequence[str] | None = None,
    n_reasons: int = 2,
) -> pd.DataFrame:
    """Top-``k`` list of a known user (``user_id``) or of a new user (``history_ids``) at
    ``lam`` (a trade-off λ, or per-objective λs from
    :func:`recolab.pipeline.objective_lambdas`), with titles, scores and a "because" column
    naming the closest history items.

    Returns
    -------
    pandas.DataFrame
        Columns rank, item, title, score, because.
    """
    if user_id is not None:
        frame = loaded.recommend([str(user_id)], k=k, lam=lam)
        history = user_history(loaded, str(user_id))
    elif history_ids:
        frame = loaded.recommend_for_history([str(i) for i in history_ids], k=k, lam=lam)
        idx = loaded.model.items_.index([str(i) for i in history_ids])
        history = [int(i) for i in idx if i >= 0]
    else:
        raise RecolabError("pick a user or type at least one item of a history")
    columns = ["rank", "item", "title", "score", "because"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    rec_idx = loaded.model.items_.index(frame["item"].astype(str).tolist())
    reasons = explain(loaded, history, [int(i) for i in rec_idx], n_reasons)
    titles = frame["title"] if "title" in frame.columns else frame["item"]
    out = pd.DataFrame(
        {
            "rank": frame["rank"].to_numpy(),
            "item": frame["item"].astype(str).to_numpy(),
            "title": titles.astype(str).to_numpy(),
            "score": frame["score"].round(4).to_numpy(),
            "because": [
                "; ".join(f"{item_label(loaded, h)} ({c:.2f})" for h, c in r) for r in reasons
            ],
        }
    )
    return out


# ----------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------


def pareto_position(
    curve: pd.DataFrame,
    lam: float,
    metrics: Mapping[str, float],
    x: str = "coverage@20",
    y: str = "recall@20",
) -> dict[str, Any]:
    """Where the chosen λ sits among the evaluated λ points (both objectives maximised).

    Returns
    -------
    dict
        ``on_front`` (the chosen point is not dominated by any evaluated λ), ``dominated_by``
        (how many λ points beat it on both), ``n_points``, the objectives and their values.
    """
    from recolab.pareto import front_table

    out: dict[str, Any] = {"x": x, "y": y, "lam": float(lam)}
    out["x_value"], out["y_value"] = metrics.get(x), metrics.get(y)
    if curve.empty or x not in curve.columns or y not in curve.columns:
        out.update(on_front=None, dominated_by=None, n_points=0)
        return out
    table = pd.concat(
        [curve[[x, y]], pd.DataFrame([{x: metrics.get(x), y: metrics.get(y)}])],
        ignore_index=True,
    )
    ranked = front_table(table, {x: True, y: True})
    mine = table.iloc[-1]
    others = table.iloc[:-1]
    beats = (
        (others[x] >= mine[x])
        & (others[y] >= mine[y])
        & ((others[x] > mine[x]) | (others[y] > mine[y]))
    )
    out.update(
        on_front=bool(ranked["on_front"].iloc[-1]),
        dominated_by=int(beats.sum()),
        n_points=len(others),
    )
    return out


def model_card(
    loaded: Any,
    lam: float,
    metrics: Mapping[str, float],
    *,
    alpha: Sequence[float] = (0.0, 0.0, 1.0),
    position: Mapping[str, Any] | None = None,
    job_id: str | None = None,
    dataset: str | None = None,
    size_bytes: int | None = None,
    k: int = 20,
    k_star: int | None = None,
) -> str:
    """A model card in markdown: data, training config, objectives, metrics at the chosen λ,
    position on the Pareto front, references and the evaluation protocol. ``k_star`` is the
    list length α chose on validation (the bundle's default ``k``)."""
    cfg = loaded.config
    tc = cfg.get("train_config") or _selection_options(cfg)
    lines = [
        "# recolab model card",
        "",
        f"- **Model**: {_model_line(cfg)}",
        f"- **Chosen λ**: {lam:.4g}  ·  **α** (P, R, F1): {tuple(round(a, 3) for a in alpha)}",
        "- **List length k\\***: "
        + (
            f"{k_star} (α's choice on validation; `recommend` serves it unless asked for k)"
            if k_star is not None
            else "not chosen (α all zero or no validation curve); `recommend` serves 10"
        ),
    ]
    if job_id:
        lines.append(f"- **Job**: `{job_id}`")
    if dataset:
        lines.append(f"- **Data**: {dataset}")
    dims = cfg.get("dimensions", {})
    shape = f"{dims.get('n_users')} × {dims.get('n_items')}"
    if cfg.get("model_type") == "linear-rerank":
        shape += f", item × item weights; {cfg.get('n_candidates')} candidates re-ranked"
    else:
        shape += (
            f", dim {dims.get('dim')}, text dim {dims.get('text_dim')}, "
            f"item-item memory {dims.get('item_item')}"
        )
    lines += [
        f"- **Users × items**: {shape}",
        f"- **Text model**: {cfg.get('text_model') or 'none (collaborative signal only)'}",
        f"- **Trained**: {cfg.get('created')} on {cfg.get('device')} in "
        f"{float(cfg.get('train_seconds') or 0):.1f} s",
        f"- **Sparsity**: {float(cfg.get('sparsity') or 0):.1%}  ·  **Size**: "
        f"{format_bytes(size_bytes)}",
        "",
        f"## Metrics at λ = {lam:.4g} (k = {k})",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    for label, template in CARD_METRICS:
        col = template.format(k=k)
        lines.append(f"| {label}@{k} | {_fmt(metrics.get(col))} |")
    for col in (f"hit_rate@{k}", f"exposure_equality@{k}"):
        if col in metrics:
            lines.append(f"| {col} | {_fmt(metrics.get(col))} |")
    if position:
        lines += ["", "## Pareto position", ""]
        if position.get("on_front") is None:
            lines.append("No front stored in the bundle.")
        else:
            verdict = (
                "on the front"
                if position["on_front"]
                else f"dominated by {position['dominated_by']} of {position['n_points']} λ points"
            )
            lines.append(
                f"On {position['y']} vs {position['x']} (both maximised) over the evaluated λ "
                f"grid, the chosen point is **{verdict}**."
            )
    _curve, refs = front_frames(cfg)
    if not refs.empty:
        lines += ["", "## References (same split)", "", f"| model | recall@{k} | coverage@{k} |"]
        lines.append("|---|---|---|")
        for _, r in refs.iterrows():
            lines.append(
                f"| {r['model']} | {_fmt(r.get(f'recall@{k}'))} | {_fmt(r.get(f'coverage@{k}'))} |"
            )
    lines += ["", "## Training configuration", "", "| option | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in tc.items()]
    protocol = cfg.get("protocol") or {}
    if protocol:
        lines += ["", "## Evaluation protocol", ""]
        lines += [f"- {key}: {value}" for key, value in protocol.items()]
    lines.append("")
    return "\n".join(lines)


def _model_line(cfg: Mapping[str, Any]) -> str:
    """What kind of model a bundle holds, in one line."""
    if cfg.get("model_type") == "linear-rerank":
        mechanism = (cfg.get("mechanism") or {}).get("name")
        return (
            f"linear autoencoder tuned on validation + serve-time re-ranker **{mechanism}** "
            f"(λ range {cfg.get('lambda_range')}, calibrated on validation)"
        )
    return (
        "weighted-objective recommender (one network conditioned on λ, "
        f"range {cfg.get('lambda_range')})"
    )


def _selection_options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The options a tuned bundle was chosen with: validation, base and mechanism."""
    selection = cfg.get("selection") or {}
    out: dict[str, Any] = {"validation": selection.get("validation")}
    out.update((cfg.get("base") or {}).get("params") or {})
    out["mechanism"] = (cfg.get("mechanism") or {}).get("name")
    out["candidates"] = cfg.get("n_candidates")
    for front in selection.get("mechanisms") or []:
        hv = front.get("hypervolumes", {}).get("ndcg@10|coverage@20")
        out[f"validation hypervolume ({front['name']})"] = None if hv is None else round(hv, 4)
    return out


def export_at(
    loaded: Any,
    lam: float,
    out: str | Path,
    *,
    alpha: Sequence[float] = (0.0, 0.0, 1.0),
    metrics: Mapping[str, float] | None = None,
    card: str | None = None,
    k: int | None = None,
) -> Path:
    """Write the loaded model as a bundle whose default λ is ``lam`` and default list length
    ``k`` (k* chosen by α; ``None``: unset), with the same weights, front, validation
    cut-off curves and protocol, and ``MODEL_CARD.md`` added to the zip; returns its path."""
    from recolab.bundle import export_bundle

    cfg = loaded.config
    path = export_bundle(
        loaded.model,
        out,
        lam=float(lam),
        alpha=tuple(float(a) for a in alpha),  # type: ignore[arg-type]
        metrics=dict(metrics or {}),
        front=list(cfg.get("front") or []),
        protocol=dict(cfg.get("protocol") or {}),
        text_model=cfg.get("text_model"),
        train_seconds=cfg.get("train_seconds"),
        device=cfg.get("device"),
        extra_files={"MODEL_CARD.md": card.encode()} if card is not None else None,
        k=k,
        cutoffs=cfg.get("cutoffs"),
    )
    return Path(path)


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a file (for a download button)."""
    with open(path, "rb") as fh:
        return fh.read()


def zip_members(data: bytes) -> list[str]:
    """Names inside a zip given as bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.namelist()


def objective_sliders(loaded: Any) -> list[tuple[str, float, float]]:
    """(objective, trained weight, largest weight the model was trained for) per objective
    the model is conditioned on: the range of each live weight slider."""
    from recolab.training import MULTIPLIER_HIGH

    names = loaded.config.get("conditioned_objectives") or []
    weights = loaded.config.get("objective_weights") or []
    return [(n, float(w), float(w) * MULTIPLIER_HIGH) for n, w in zip(names, weights, strict=True)]


def objective_lambdas(lam: float, weights: Mapping[str, float] | None) -> Any:
    """See :func:`recolab.pipeline.objective_lambdas` (re-exported for the pages)."""
    from recolab.pipeline import objective_lambdas as _objective_lambdas

    return _objective_lambdas(lam, dict(weights) if weights else None)
