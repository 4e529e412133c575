"""Renaming and deleting jobs in the store: state rules, atomicity, older stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from recolab.errors import RecolabError, WorkspaceError
from recolab.jobs import CANCELLED, SUCCEEDED, JobStore, UnknownJobError
from recolab.jobs.store import JobActiveError
from recolab.jobs.workspace import job_dir, remove_tree

TASK = "test.count"


def _finished(store: JobStore, root: Path) -> str:
    """A succeeded job with a file in its folder and two events."""
    job_id = store.submit(TASK, {})
    store.claim_next(worker_pid=1)
    (job_dir(root, job_id) / "model.zip").write_bytes(b"zip")
    store.finish(job_id, SUCCEEDED, result={"ok": 1})
    return job_id


def test_rename_sets_and_clears_the_name(store):
    job_id = store.submit(TASK, {})
    assert store.get(job_id).name is None
    job = store.rename(job_id, "  first   try ")
    assert job.name == "first try" and store.list()[0].name == "first try"
    assert store.rename(job_id, "").name is None  # back to the id
    with pytest.raises(RecolabError, match="at most 80"):
        store.rename(job_id, "x" * 81)
    with pytest.raises(UnknownJobError):
        store.rename("nope", "a name")


def test_delete_refuses_a_queued_or_running_job(store):
    running = store.submit(TASK, {})
    store.claim_next(worker_pid=1)
    assert store.get(running).state == "running"
    with pytest.raises(JobActiveError, match="is running: cancel it first"):
        store.delete(running)
    assert store.get(running).state == "running" and store.events(running)
    fresh = store.submit(TASK, {})
    with pytest.raises(JobActiveError, match="is queued: cancel it first"):
        store.delete(fresh)
    assert store.request_cancel(fresh).state == CANCELLED  # a queued job: at once
    store.delete(fresh)
    with pytest.raises(UnknownJobError):
        store.get(fresh)


def test_delete_removes_row_events_and_folder_only_of_that_job(store, root):
    keep = _finished(store, root)
    gone = _finished(store, root)
    store.delete(gone)
    with pytest.raises(UnknownJobError):
        store.get(gone)
    with pytest.raises(UnknownJobError):
        store.events(gone)
    assert not job_dir(root, gone, create=False).exists()
    assert [j.id for j in store.list()] == [keep]
    assert (job_dir(root, keep, create=False) / "model.zip").read_bytes() == b"zip"
    assert store.events(keep)
    assert not list((root / "jobs").glob(".deleted-*"))
    with pytest.raises(UnknownJobError):
        store.delete(gone)


def test_a_delete_that_fails_in_its_transaction_leaves_the_job_whole(store, root):
    job_id = _finished(store, root)
    n_events = len(store.events(job_id))
    conn = sqlite3.connect(root / "jobs.sqlite")
    conn.execute(
        "CREATE TRIGGER boom BEFORE DELETE ON jobs BEGIN SELECT RAISE(ABORT, 'disk gone'); END"
    )
    conn.commit()
    with pytest.raises(WorkspaceError, match="disk gone"):
        store.delete(job_id)
    # the events were deleted first in the same transaction: rolled back with it
    assert store.get(job_id).state == SUCCEEDED
    assert len(store.events(job_id)) == n_events
    assert (job_dir(root, job_id, create=False) / "model.zip").is_file()
    conn.execute("DROP TRIGGER boom")
    conn.commit()
    conn.close()
    store.delete(job_id)
    assert store.list() == []


def test_remove_tree_renames_aside_and_sweeps_leftovers(tmp_path):
    parent = tmp_path / "jobs"
    (parent / "a").mkdir(parents=True)
    (parent / "a" / "f").write_text("x")
    leftover = parent / ".deleted-old-12345678"  # a removal cut short by a crash
    (leftover / "sub").mkdir(parents=True)
    (parent / "keep").mkdir()
    remove_tree(parent / "a")
    assert sorted(p.name for p in parent.iterdir()) == ["keep"]
    remove_tree(parent / "missing")  # nothing to do, no error
    assert sorted(p.name for p in parent.iterdir()) == ["keep"]


def test_a_store_without_the_name_column_is_read_and_upgraded(root):
    root.mkdir(parents=True)
    conn = sqlite3.connect(root / "jobs.sqlite")
    conn.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, task TEXT NOT NULL, spec TEXT NOT NULL,"
        " state TEXT NOT NULL, created REAL NOT NULL, started REAL, finished REAL,"
        " heartbeat REAL, worker_pid INTEGER, child_pid INTEGER, device TEXT, error TEXT,"
        " result TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
        " cancel_requested INTEGER NOT NULL DEFAULT 0, progress TEXT)"
    )
    conn.execute(
        "INSERT INTO jobs (id, task, spec, state, created) VALUES"
        " ('abcdef012345', 'test.count', '{}', 'succeeded', 1.0)"
    )
    conn.commit()
    conn.close()
    store = JobStore(root)
    assert store.get("abcdef012345").name is None  # read-only: no column yet
    assert store.rename("abcdef012345", "old run").name == "old run"
    assert JobStore(root).get("abcdef012345").name == "old run"
