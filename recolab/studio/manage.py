"""Renaming and deleting what the workspace holds: uploaded datasets and training jobs.

Every change is atomic on disk: a dataset's name is one atomic rewrite of its ``meta.json``;
a deleted dataset's folder is renamed aside in one step before it is removed; a job's name
and its deletion are transactions of the job store (:meth:`recolab.jobs.JobStore.rename`,
:meth:`~recolab.jobs.JobStore.delete`). A crash half-way leaves the old or the new state.

What may not be deleted is refused with a :class:`InUseError` that says what to do first: a
queued or running job (cancel it), a dataset that jobs were trained on (their evaluation
split is read from it: delete those jobs first). The shipped samples cannot be changed.
A dataset's delete and a job submitted on it at the same moment never both succeed (see
:func:`delete_dataset`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from recolab.errors import RecolabError
from recolab.jobs.store import MAX_NAME_LENGTH, Job
from recolab.studio.datasets import DatasetInfo, _check_id, _write_atomic, get_dataset

log = logging.getLogger(__name__)

__all__ = [
    "MAX_NAME_LENGTH",
    "InUseError",
    "dataset_in_use",
    "delete_dataset",
    "delete_job",
    "jobs_using_dataset",
    "rename_dataset",
    "rename_job",
]


class InUseError(RecolabError):
    """The dataset or job cannot be deleted now; the message says what to do first."""


def _clean_name(name: str, what: str) -> str:
    """``name`` with its white space collapsed; refused when blank, too long or with control
    characters."""
    clean = " ".join(str(name).split())
    if not clean:
        raise RecolabError(f"a {what} name cannot be empty")
    if len(clean) > MAX_NAME_LENGTH:
        raise RecolabError(f"a {what} name has at most {MAX_NAME_LENGTH} characters")
    if any(not ch.isprintable() for ch in clean):
        raise RecolabError(f"a {what} name cannot hold control characters")
    return clean


def _upload(root: Path, dataset_id: str, doing: str) -> DatasetInfo:
    """The uploaded dataset ``dataset_id``; a sample is refused (it ships with recolab)."""
    info = get_dataset(root, dataset_id)
    if info.kind != "upload":
        raise RecolabError(f"{info.id} is a sample shipped with recolab: it cannot be {doing}")
    return info


def rename_dataset(root: Path, dataset_id: str, name: str) -> DatasetInfo:
    """Give an uploaded dataset a new name (its id, and so its jobs and links, stay).

    Raises
    ------
    RecolabError
        A sample, an unknown dataset, or a blank, too long or odd name.
    """
    _upload(root, dataset_id, "renamed")
    clean = _clean_name(name, "dataset")
    meta_path = Path(root) / "datasets" / dataset_id / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["name"] = clean
    _write_atomic(meta_path, json.dumps(meta, indent=2).encode())
    log.info("dataset %s renamed to %r", dataset_id, clean)
    return get_dataset(root, dataset_id)


def _uses(spec: dict, dataset_id: str, folder: Path) -> bool:
    """Whether a job spec trains on the dataset (by id, or by a file in its folder)."""
    if spec.get("dataset") == dataset_id:
        return True
    files = [spec.get(key) for key in ("train", "items", "users")]
    return any(f and Path(str(f)).parent == folder for f in files)


def jobs_using_dataset(root: Path, dataset_id: str) -> list[str]:
    """Ids of the jobs (any state) trained or training on ``dataset_id``, newest first."""
    from recolab.jobs import JobStore

    _check_id(dataset_id)
    folder = (Path(root) / "datasets" / dataset_id).absolute()
    jobs = JobStore(root).list(limit=1_000_000)
    return [j.id for j in jobs if _uses(j.spec, dataset_id, folder)]


def _job_names(jobs: list[Job], most: int = 5) -> str:
    """``id (state)`` of the first ``most`` jobs (their name first where they have one)."""
    shown = [f"{j.name} ({j.id}, {j.state})" if j.name else f"{j.id} ({j.state})" for j in jobs]
    more = len(shown) - most
    return ", ".join(shown[:most]) + (f" and {more} more" if more > 0 else "")


def delete_dataset(root: Path, dataset_id: str) -> None:
    """Delete an uploaded dataset and its files.

    The check that no job uses it and the removal are one step for a job submitted at the
    same moment (:meth:`recolab.jobs.JobStore.remove_unless_used`): that job is either
    queued first, and the delete is refused naming it, or its submit is refused because
    the files are gone; a job is never left queued on a deleted dataset.

    Raises
    ------
    InUseError
        Jobs were trained, are training or are queued to train on it: they read their
        data or evaluation split from its files, so they are named (with their state) and
        the dataset stays.
    RecolabError
        A sample or an unknown dataset.
    """
    from recolab.jobs import JobStore

    _upload(root, dataset_id, "deleted")
    folder = (Path(root) / "datasets" / dataset_id).absolute()
    users = JobStore(root).remove_unless_used(folder, lambda j: _uses(j.spec, dataset_id, folder))
    if users:
        raise InUseError(_in_use(dataset_id, users))
    log.info("dataset %s deleted", dataset_id)


def _in_use(dataset_id: str, users: list[Job]) -> str:
    """Why ``dataset_id`` cannot be deleted while ``users`` use it, and what to do first."""
    first = "cancel the queued or running one(s), then " if any(not j.done for j in users) else ""
    return (
        f"dataset {dataset_id} is used by {len(users)} job(s) ({_job_names(users)}): "
        f"{first}delete those jobs first"
    )


def dataset_in_use(root: Path, dataset_id: str) -> str | None:
    """Why :func:`delete_dataset` would refuse ``dataset_id`` now (the jobs using it, with
    their state, and what to do first); ``None`` while no job uses it."""
    from recolab.jobs import JobStore

    _check_id(dataset_id)
    folder = (Path(root) / "datasets" / dataset_id).absolute()
    users = [j for j in JobStore(root).list(limit=1_000_000) if _uses(j.spec, dataset_id, folder)]
    return _in_use(dataset_id, users) if users else None


def rename_job(root: Path, job_id: str, name: str) -> None:
    """Give a job a name shown in the pickers and tables (a blank name goes back to the id).

    Raises
    ------
    recolab.jobs.UnknownJobError
        No job has that id.
    RecolabError
        A too long or odd name.
    """
    from recolab.jobs import JobStore

    clean = " ".join(str(name).split())
    if clean:
        clean = _clean_name(clean, "job")
    JobStore(root).rename(job_id, clean or None)


def delete_job(root: Path, job_id: str) -> None:
    """Delete a finished job: its record, events, model and result.

    Raises
    ------
    InUseError
        The job is queued or running: cancel it first.
    recolab.jobs.UnknownJobError
        No job has that id.
    """
    from recolab.jobs import JobStore
    from recolab.jobs.store import JobActiveError

    try:
        JobStore(root).delete(job_id)
    except JobActiveError as exc:
        raise InUseError(str(exc)) from exc
