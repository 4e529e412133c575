"""The job store on its own: state machine, events, cancel, reaping (no processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from recolab.errors import RecolabError
from recolab.jobs import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    UnknownJobError,
    atomic_path,
    pid_alive,
    workspace_root,
)
from recolab.jobs.tasks import JobSpecError, UnknownTaskError

TASK = "test.count"


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_cancelled_is_the_one_from_errors():
    import recolab.errors
    import recolab.jobs

    assert recolab.jobs.Cancelled is recolab.errors.Cancelled  # training raises this one


def test_workspace_root_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("RECOLAB_HOME", str(tmp_path / "home"))
    root = workspace_root()
    assert root == (tmp_path / "home").resolve()
    assert {p.name for p in root.iterdir()} >= {"datasets", "jobs", "models"}
    assert workspace_root(tmp_path / "other") == (tmp_path / "other").resolve()


def test_submit_get_list(store):
    a = store.submit(TASK, {"n": 1})
    b = store.submit(TASK, {"n": 2})
    assert len(a) == 12 and a != b
    job = store.get(a)
    assert job.state == QUEUED and job.spec == {"n": 1} and job.task == TASK
    assert job.attempts == 0 and not job.cancel_requested and not job.done
    assert [j.id for j in store.list()] == [b, a]  # newest first
    assert [j.id for j in store.list(state=QUEUED, limit=1)] == [b]
    assert store.list(state=RUNNING) == []
    assert store.events(a) == []
    with pytest.raises(RecolabError):
        store.list(state="bogus")


def test_unknown_job_is_a_clear_error(store):
    for call in (
        lambda: store.get("nope"),
        lambda: store.events("nope"),
        lambda: store.append_event("nope", {"x": 1}),
        lambda: store.request_cancel("nope"),
        lambda: store.finish("nope", FAILED),
        lambda: store.last_events("nope"),
    ):
        with pytest.raises(UnknownJobError, match="no job with id 'nope'"):
            call()


def test_bad_submissions(store):
    for task in ("no_colon", "builtins:print", "os:system", "tests.jobs.tasks:count", None):
        with pytest.raises(UnknownTaskError, match=r"registered tasks only .*never a module path"):
            store.submit(task, {})
    with pytest.raises(JobSpecError, match="must be a JSON object"):
        store.submit(TASK, ["not", "a", "dict"])
    with pytest.raises(RecolabError, match="JSON"):
        store.submit(TASK, {"x": object()})
    with pytest.raises(RecolabError, match="JSON"):
        store.submit(TASK, {"x": float("nan")})
    assert store.list() == []


def test_claim_respects_order_and_max_parallel(store):
    a = store.submit(TASK, {})
    b = store.submit(TASK, {})
    c = store.submit(TASK, {})
    job = store.claim_next(worker_pid=111, max_parallel=1)
    assert job is not None and job.id == a
    assert job.state == RUNNING and job.worker_pid == 111 and job.attempts == 1
    assert job.started is not None and job.heartbeat is not None
    assert store.claim_next(worker_pid=111, max_parallel=1) is None
    job2 = store.claim_next(worker_pid=111, max_parallel=2)
    assert job2 is not None and job2.id == b
    assert store.claim_next(worker_pid=111, max_parallel=2) is None
    assert store.running_count() == 2
    assert store.get(c).state == QUEUED


def test_events_seq_and_progress(store):
    a = store.submit(TASK, {})
    store.claim_next(1, 1)
    seqs = [store.append_event(a, {"kind": "progress", "epoch": i}) for i in range(1, 4)]
    store.append_event(a, {"kind": "note", "message": "hi"})
    events = store.events(a)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert seqs == [e["seq"] for e in events if e["kind"] == "progress"]
    assert store.get(a).progress == {"kind": "progress", "epoch": 3}
    assert [e["seq"] for e in store.events(a, after_seq=seqs[1])] == [seqs[2], seqs[2] + 1]
    assert store.last_events(a, 2)[-1]["message"] == "hi"
    with pytest.raises(RecolabError):
        store.append_event(a, {"bad": object()})


def test_concurrent_appends_from_threads_keep_seq_unique(store):
    a = store.submit(TASK, {})
    got: list[int] = []
    lock = threading.Lock()

    def writer() -> None:
        for i in range(50):
            seq = store.append_event(a, {"kind": "progress", "i": i})
            with lock:
                got.append(seq)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(got) == list(range(1, 201))
    assert [e["seq"] for e in store.events(a)] == list(range(1, 201))


def test_finish_is_once_only(store):
    a = store.submit(TASK, {})
    store.claim_next(1, 1)
    assert store.finish(a, SUCCEEDED, result={"bundle": "x.zip"})
    assert not store.finish(a, FAILED, error="late")
    job = store.get(a)
    assert job.state == SUCCEEDED and job.result == {"bundle": "x.zip"} and job.error is None
    assert job.finished is not None and job.done
    last = store.events(a)[-1]
    assert last["kind"] == "state" and last["state"] == SUCCEEDED
    with pytest.raises(RecolabError, match="final state"):
        store.finish(a, RUNNING)
    assert not store.heartbeat(a)


def test_request_cancel_in_each_state(store):
    queued = store.submit(TASK, {})
    running = store.submit(TASK, {})
    store.finish(queued, FAILED, error="x")  # make `running` the first queued
    store.claim_next(1, 1)
    assert store.get(running).state == RUNNING
    job = store.request_cancel(running)
    assert job.state == RUNNING and job.cancel_requested and store.cancel_requested(running)

    fresh = store.submit(TASK, {})
    job = store.request_cancel(fresh)
    assert job.state == CANCELLED and job.finished is not None
    assert store.claim_next(1, 5) is None  # a cancelled job is never claimed

    before = store.get(queued)
    after = store.request_cancel(queued)  # already final: unchanged
    assert after.state == FAILED and after.error == before.error


def test_reap_stale_dead_worker_and_stale_heartbeat(store):
    a = store.submit(TASK, {})
    b = store.submit(TASK, {})
    c = store.submit(TASK, {})
    pid = dead_pid()
    assert not pid_alive(pid)
    store.claim_next(pid, 3)  # a: worker is dead
    store.claim_next(os.getpid(), 3)  # b: live worker
    store.claim_next(os.getpid(), 3)  # c: live worker, fresh beat
    store._write(  # b's heartbeat is old
        lambda c: c.execute("UPDATE jobs SET heartbeat = ? WHERE id = ?", (time.time() - 100, b)),
        "age a heartbeat in",
    )
    reaped = store.reap_stale(timeout_s=30)
    assert sorted(reaped) == sorted([a, b])
    ja, jb, jc = store.get(a), store.get(b), store.get(c)
    assert ja.state == FAILED and ja.error.startswith(f"worker died (pid {pid}) — no heartbeat")
    assert jb.state == FAILED and "no heartbeat for 100 s" in jb.error
    assert jc.state == RUNNING
    assert store.reap_stale(timeout_s=30) == []


def test_fail_orphans_spares_own_jobs(store):
    a = store.submit(TASK, {})
    b = store.submit(TASK, {})
    store.claim_next(12345, 2)
    store.claim_next(os.getpid(), 2)
    assert store.fail_orphans(os.getpid()) == [a]
    assert store.get(a).error.startswith("worker died (pid 12345)")
    assert store.get(b).state == RUNNING


def test_resubmit_copies_task_and_spec(store):
    a = store.submit(TASK, {"n": 3})
    b = store.resubmit(a)
    assert b != a and store.get(b).spec == {"n": 3} and store.get(b).state == QUEUED


def test_wait_times_out_and_returns_job(store):
    a = store.submit(TASK, {})
    job = store.wait(a, timeout=0.3, poll_s=0.05)
    assert job.state == QUEUED and not job.done


def test_atomic_path(tmp_path):
    target = tmp_path / "out" / "model.bin"
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"abc")
        assert not target.exists() and tmp.parent == target.parent
    assert target.read_bytes() == b"abc"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"new but broken")
        raise RuntimeError("fail mid-write")
    assert target.read_bytes() == b"abc"  # old content kept
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.bin"]
