"""A folder of input files removed while jobs are submitted on it (issue 14: the delete /
submit race), and a job whose input vanished after it was queued or while it ran."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from recolab.errors import JobSpecError
from recolab.jobs import FAILED, JobStore, run_worker, tasks
from recolab.jobs.specs import check_input_file
from recolab.jobs.tasks import TRAINING_TASK

T = "test."
WAIT_S = 20  # a stuck thread fails the test instead of hanging it


def _folder(root: Path, name: str = "data") -> tuple[Path, Path]:
    folder = root / "datasets" / name
    folder.mkdir(parents=True)
    (folder / "log.csv").write_text("user,item\nu1,a\n")
    return folder, folder / "log.csv"


def _uses(folder: Path):
    return lambda job: Path(str(job.spec.get("train", ""))).parent == folder


_hooks: dict[str, Any] = {}


def _validate_files(spec: dict[str, Any]) -> dict[str, Any]:
    """The ``test.files`` check: ``train`` is a readable file; then calls the test's hook
    (after the check, so a test that waits for it knows the check is over)."""
    checked = {**spec, "train": check_input_file(spec.get("train"), "train")}
    hook = _hooks.get("on_validate")
    if hook is not None:
        hook()
    return checked


@pytest.fixture
def files_task():
    """``test.files``: the ``count`` task with a file check that a test can pause."""
    from tests.jobs.tasks import count

    tasks.register(T + "files", count, validate=_validate_files)
    yield T + "files"
    _hooks.clear()


def test_a_folder_a_job_uses_is_kept_and_the_jobs_are_named(store, root, files_task):
    folder, log = _folder(root)
    other, _ = _folder(root, "other")
    job_id = store.submit(files_task, {"train": str(log)})
    users = store.remove_unless_used(folder, _uses(folder))
    assert [j.id for j in users] == [job_id] and users[0].state == "queued"
    assert log.is_file()
    assert store.remove_unless_used(other, _uses(other)) == []  # nobody uses that one
    assert not other.exists()
    store.request_cancel(job_id)
    store.delete(job_id)
    assert store.remove_unless_used(folder, _uses(folder)) == []
    assert sorted(p.name for p in (root / "datasets").iterdir()) == []  # nothing left aside


def test_a_submit_checked_before_a_removal_is_refused_after_it(store, root, files_task):
    """The submit checks its file (present), then waits for the lock the removal holds; when
    it gets the lock the folder is gone, and its second check refuses it: nothing queued.
    (Checked only before the lock, the job was queued on a deleted folder.)"""
    folder, log = _folder(root)
    store.submit(T + "count", {"n": 1})  # any job, so the removal's check runs its callback
    removal_in_lock = threading.Event()
    submit_checked = threading.Event()
    outcome: dict[str, Any] = {}

    def waits_for_the_submit(job) -> bool:
        removal_in_lock.set()
        assert submit_checked.wait(WAIT_S)
        return _uses(folder)(job)

    def remove() -> None:
        outcome["users"] = JobStore(root).remove_unless_used(folder, waits_for_the_submit)

    def submit() -> None:
        try:
            outcome["job"] = JobStore(root).submit(files_task, {"train": str(log)})
        except JobSpecError as exc:
            outcome["error"] = str(exc)

    def first_check_done() -> None:
        _hooks.pop("on_validate")  # only the first check (before the lock) signals
        submit_checked.set()

    remover = threading.Thread(target=remove)
    remover.start()
    assert removal_in_lock.wait(WAIT_S)
    _hooks["on_validate"] = first_check_done
    submitter = threading.Thread(target=submit)
    submitter.start()
    remover.join(WAIT_S)
    submitter.join(WAIT_S)
    assert outcome["users"] == [] and not folder.exists()
    assert "job" not in outcome
    assert outcome["error"] == f"job spec: train file not found: {log.resolve()}"
    assert [j.task for j in store.list()] == [T + "count"]  # the submit queued nothing


def test_a_file_removed_between_its_stat_and_its_open_reads_not_found(root, monkeypatch):
    """The file is there when stat'ed and gone when opened (a removal in between): the
    message says "not found", not "permission denied" (CI once saw the latter)."""
    _, log = _folder(root)
    real_open = Path.open

    def open_after_removal(self: Path, *args: Any, **kwargs: Any):
        if self == log.absolute():
            log.unlink()
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_after_removal)
    with pytest.raises(JobSpecError, match=r"^job spec: train file not found: "):
        check_input_file(str(log), "train")


def test_a_removal_racing_submits_never_leaves_a_job_on_a_gone_folder(store, root, files_task):
    """Each round starts a submit and a removal together: whichever wins, either the job is
    queued and the folder kept (the removal names it), or nothing is queued and it is gone."""
    outcomes = set()
    for i in range(12):
        folder, log = _folder(root, f"d{i}")
        result: dict[str, Any] = {}
        go = threading.Barrier(2, timeout=WAIT_S)

        def submit(log: Path = log, result: dict = result, go: threading.Barrier = go) -> None:
            go.wait()
            try:
                result["job"] = JobStore(root).submit(files_task, {"train": str(log)})
            except JobSpecError:
                result["job"] = None

        def remove(folder: Path = folder, result: dict = result, go=go) -> None:
            go.wait()
            result["users"] = [
                j.id for j in JobStore(root).remove_unless_used(folder, _uses(folder))
            ]

        threads = [threading.Thread(target=submit), threading.Thread(target=remove)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT_S)
        if result["job"] is None:
            assert result["users"] == [] and not folder.exists()
            outcomes.add("removed")
        else:
            assert result["users"] == [result["job"]] and log.is_file()
            outcomes.add("kept")
    assert outcomes  # every round ended in one of the two consistent states


def test_a_job_whose_dataset_vanished_before_it_started_fails_in_words(store, root):
    folder, log = _folder(root, "up-0123456789ab")
    job_id = store.submit(
        TRAINING_TASK, {"train": str(log), "dataset": "up-0123456789ab", "config": {}}
    )
    shutil.rmtree(folder)  # removed by hand, past recolab's checks
    run_worker(root, once=True, poll_s=0.05)
    job = store.get(job_id)
    assert job.state == FAILED
    assert job.error == (
        f"cannot start: its train file {log.resolve()} is gone (dataset up-0123456789ab was "
        "deleted or moved after the job was queued); nothing was trained"
    )
    assert not (root / "jobs" / job_id / "model.zip").exists()


def test_a_job_whose_input_vanished_while_it_ran_says_so(store, root):
    _, log = _folder(root)
    job_id = store.submit(T + "lose_input", {"train": str(log), "device": "cpu"})
    run_worker(root, once=True, poll_s=0.05)
    job = store.get(job_id)
    assert job.state == FAILED
    assert job.error.startswith(
        f"its train file {log} is gone (the file was deleted or moved while the job ran): "
        "FileNotFoundError:"
    )
