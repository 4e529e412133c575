"""The worker end to end: real spawned job processes, crashes, cancels, killed workers."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from recolab.jobs import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    JobStore,
    ensure_worker,
    live_worker_pid,
    pid_alive,
    run_worker,
)
from tests.jobs.conftest import wait_for

T = "test."


def test_full_spawn_path_succeeds_with_events_result_and_no_streamlit(root, store):
    import streamlit  # noqa: F401 - loaded here so the check below means something

    job_id = store.submit(T + "count", {"n": 5, "sleep": 0.02, "device": "auto"})
    assert run_worker(root, once=True, poll_s=0.05) == 0
    job = store.get(job_id)
    assert job.state == SUCCEEDED, job.error
    assert job.result["n"] == 5
    assert job.result["streamlit_loaded"] is False
    assert job.result["pid"] != os.getpid() and job.child_pid == job.result["pid"]
    assert job.device in ("cpu", "cuda") and job.result["device"] == job.device
    events = store.events(job_id)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    progress = [e for e in events if e["kind"] == "progress"]
    assert [e["epoch"] for e in progress] == [1, 2, 3, 4, 5]
    assert all(e["elapsed_s"] >= 0 for e in progress)
    notes = [e["message"] for e in events if e["kind"] == "note"]
    assert ("no GPU found: training on CPU" in notes) == (job.device == "cpu")
    assert events[0]["state"] == RUNNING and events[-1]["state"] == SUCCEEDED
    assert job.progress["epoch"] == 5
    # the artifact landed under its final name, no temp file left; log written
    bundle = Path(job.result["bundle"])
    assert bundle.parent == root / "jobs" / job_id
    assert json.loads(bundle.read_text()) == {"epochs": 5}
    assert not [p for p in bundle.parent.iterdir() if p.name.endswith(".tmp")]
    assert f"job {job_id} started" in (bundle.parent / "log.txt").read_text()
    assert live_worker_pid(root) is None  # lock released


def _stored_job(store: JobStore, task: str) -> str:
    """A queued job written straight into the store, past :meth:`JobStore.submit`."""
    conn = sqlite3.connect(store.path)
    with conn:
        conn.execute(
            "INSERT INTO jobs (id, task, spec, state, created) VALUES (?, ?, ?, 'queued', ?)",
            ("feedfacecafe", task, '{"device": "cpu"}', time.time()),
        )
    conn.close()
    return "feedfacecafe"


def test_failures_are_recorded_with_reasons(root, store):
    boom = store.submit(T + "boom", {"device": "cpu"})
    crash = store.submit(T + "crash", {"device": "cpu"})
    bad_task = _stored_job(store, "builtins:print")  # as an older or tampered store holds
    not_json = store.submit(T + "not_json", {"device": "cpu"})
    bad_device = store.submit(T + "count", {"device": "tpu"})
    run_worker(root, once=True, poll_s=0.05, max_parallel=3)

    j = store.get(boom)
    assert j.state == FAILED and j.error == "ValueError: boom at epoch 1"
    assert "boom at epoch 1" in (root / "jobs" / boom / "log.txt").read_text()  # traceback
    j = store.get(crash)
    assert j.state == FAILED and "exited with code 3 before finishing the job" in j.error
    art = root / "jobs" / crash
    assert not (art / "model.zip").exists()  # the half-written artifact never got its name
    assert store.get(bad_task).error.startswith("unknown task 'builtins:print'")
    assert store.get(bad_task).child_pid is None  # refused before any process started
    assert "JSON" in store.get(not_json).error and store.get(not_json).state == FAILED
    assert "unknown device 'tpu'" in store.get(bad_device).error
    for job_id in (boom, crash, bad_task, not_json, bad_device):
        assert store.events(job_id)[-1]["state"] == FAILED


def test_cuda_oom_retries_once_with_half_batch_then_fails(root, store):
    ok = store.submit(T + "oom", {"device": "cpu", "fits": 32, "config": {"batch_size": 64}})
    never = store.submit(
        T + "oom", {"device": "cpu", "fits": 0, "torch": True, "config": {"batch_size": 64}}
    )
    no_batch = store.submit(T + "oom", {"device": "cpu", "fits": 0, "config": {}})
    run_worker(root, once=True, poll_s=0.05, max_parallel=3)
    j = store.get(ok)
    assert j.state == SUCCEEDED and j.result == {"batch_size": 32}
    retries = [e for e in store.events(ok) if e["kind"] == "retry"]
    assert len(retries) == 1 and retries[0]["batch_size"] == 32
    j = store.get(never)
    assert j.state == FAILED
    assert "CUDA out of memory" in j.error and "halving batch_size to 32" in j.error
    assert len([e for e in store.events(never) if e["kind"] == "retry"]) == 1
    j = store.get(no_batch)
    assert j.state == FAILED and "no config.batch_size to halve" in j.error


def test_concurrent_reader_sees_every_event_once(root, store):
    n = 400
    job_id = store.submit(T + "count", {"n": n, "device": "cpu"})
    out = root / "reader.json"
    ctx = multiprocessing.get_context("spawn")
    from tests.jobs.tasks import reader

    proc = ctx.Process(target=reader, args=(str(root), job_id, str(out), 60.0))
    proc.start()
    try:
        run_worker(root, once=True, poll_s=0.05)
        proc.join(60)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()
    assert proc.exitcode == 0
    seen = json.loads(out.read_text())
    assert seen["errors"] == []
    assert store.get(job_id).state == SUCCEEDED
    total = len(store.events(job_id))
    assert total >= n + 2  # running, n progress, succeeded
    assert seen["seqs"] == list(range(1, total + 1))
    assert seen["lists"] > 1


def test_cancel_cooperative_and_forced(root, store, start_worker):
    coop = store.submit(T + "count", {"n": 2000, "sleep": 0.05, "device": "cpu"})
    stubborn = store.submit(T + "stubborn", {"device": "cpu"})
    start_worker("--max-parallel", "2", "--cancel-grace", "1")
    for job_id in (coop, stubborn):
        wait_for(lambda j=job_id: store.get(j).progress, what=f"progress of {job_id}")
        store.request_cancel(job_id)
    j = store.wait(coop, timeout=20)
    assert j.state == CANCELLED and j.error == "cancelled on request"
    assert j.cancel_requested and j.finished is not None and j.result is None
    assert j.progress["epoch"] < 2000
    j = store.wait(stubborn, timeout=20)
    assert j.state == CANCELLED and "did not stop within 1 s" in j.error
    for job_id in (coop, stubborn):
        child = store.get(job_id).child_pid
        wait_for(lambda c=child: not pid_alive(c), timeout=10, what="job process to exit")
        states = [e["state"] for e in store.events(job_id) if e["kind"] == "state"]
        assert states == [RUNNING, CANCELLED]


def test_killed_worker_group_is_reaped_and_next_job_runs(root, store, start_worker):
    first = store.submit(T + "count", {"n": 2000, "sleep": 0.05, "device": "cpu"})
    second = store.submit(T + "count", {"n": 2, "device": "cpu"})
    worker = start_worker()
    wait_for(lambda: store.get(first).progress, what="first job running")
    assert store.get(second).state == QUEUED
    os.killpg(worker.pid, signal.SIGKILL)  # worker and job process die at once
    worker.wait(10)
    assert store.get(first).state == RUNNING  # nobody has noticed yet
    assert store.reap_stale() == [first]  # a reader notices: the worker pid is gone
    j = store.get(first)
    assert j.state == FAILED and j.error.startswith(f"worker died (pid {worker.pid})")
    start_worker("--once").wait(30)
    assert store.get(second).state == SUCCEEDED
    assert store.get(first).state == FAILED  # not re-run, not overwritten


def test_killed_worker_orphan_stops_itself_and_new_worker_fails_leftovers(
    root, store, start_worker
):
    first = store.submit(T + "count", {"n": 2000, "sleep": 0.05, "device": "cpu"})
    second = store.submit(T + "count", {"n": 2, "device": "cpu"})
    worker = start_worker()
    wait_for(lambda: store.get(first).progress, what="first job running")
    child = store.get(first).child_pid
    os.kill(worker.pid, signal.SIGKILL)  # only the worker: its job process is orphaned
    worker.wait(10)
    wait_for(lambda: not pid_alive(child), timeout=15, what="orphaned job process to stop")
    start_worker("--once").wait(30)
    j = store.get(first)
    assert j.state == FAILED and j.error.startswith(f"worker died (pid {worker.pid})")
    assert store.get(second).state == SUCCEEDED


def test_sigterm_stops_worker_cleanly_and_fails_running_job(root, store, start_worker):
    job_id = store.submit(T + "count", {"n": 2000, "sleep": 0.05, "device": "cpu"})
    queued = store.submit(T + "count", {"n": 1, "device": "cpu"})
    worker = start_worker()
    wait_for(lambda: store.get(job_id).progress, what="job running")
    child = store.get(job_id).child_pid
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    j = store.get(job_id)
    assert j.state == FAILED and j.error == "worker stopped by SIGTERM while the job was running"
    assert not pid_alive(child)
    assert store.get(queued).state == QUEUED  # restarting the worker loses nothing
    assert live_worker_pid(root) is None


def test_max_parallel_is_respected(root, store):
    ids = [store.submit(T + "count", {"n": 8, "sleep": 0.1, "device": "cpu"}) for _ in range(3)]
    run_worker(root, once=True, poll_s=0.05, max_parallel=2)
    jobs = [store.get(i) for i in ids]
    assert all(j.state == SUCCEEDED for j in jobs)
    spans = [(j.started, j.finished) for j in jobs]
    # the most jobs running at any instant (checked at each start)
    most = max(sum(1 for s, f in spans if s <= t < f) for t, _ in spans)
    assert most == 2
    assert jobs[2].started >= min(jobs[0].finished, jobs[1].finished)


def test_ensure_worker_starts_one_and_only_one(root, store):
    pid = ensure_worker(root)
    assert pid is not None
    assert ensure_worker(root) is None  # still starting: not started twice
    wait_for(lambda: live_worker_pid(root) == pid, what="worker to take the lock")
    assert ensure_worker(root) is None
    (root / "worker.starting").unlink()
    assert ensure_worker(root) is None  # the lock alone says a worker runs
    job_id = store.submit(T + "count", {"n": 2, "device": "cpu"})
    assert store.wait(job_id, timeout=30).state == SUCCEEDED
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: live_worker_pid(root) is None, what="worker to stop")


def test_worker_idle_exit_and_lock(root):
    t0 = time.monotonic()
    assert run_worker(root, idle_exit_s=0.3, poll_s=0.05) == 0
    assert time.monotonic() - t0 >= 0.3
    assert live_worker_pid(root) is None


def test_second_worker_does_nothing_while_one_runs(root, store, start_worker):
    start_worker()
    wait_for(lambda: live_worker_pid(root), what="first worker")
    job_id = store.submit(T + "count", {"n": 1, "device": "cpu"})
    # this in-process worker cannot take the lock and returns at once without claiming
    assert run_worker(root, once=True) == 0
    assert store.wait(job_id, timeout=30).state == SUCCEEDED
    assert store.get(job_id).worker_pid == live_worker_pid(root)


@pytest.fixture(autouse=True)
def _no_stray_store_connections(store: JobStore):
    yield
    store.close()


def test_worker_lock_outlasts_a_momentary_probe(root):
    import fcntl
    import threading

    from recolab.jobs.worker import _WorkerLock

    root.mkdir(parents=True, exist_ok=True)
    probe = os.open(root / "worker.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as live_worker_pid() does, briefly
    threading.Timer(0.3, lambda: fcntl.flock(probe, fcntl.LOCK_UN)).start()
    lock = _WorkerLock(root)
    try:
        assert lock.acquire(wait_s=5)
        assert live_worker_pid(root) == os.getpid()
        assert not _WorkerLock(root).acquire(wait_s=0.2)  # a real holder keeps it
    finally:
        lock.release()
        os.close(probe)
    assert live_worker_pid(root) is None


def test_real_cuda_device_and_oom_retry(root, store):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no GPU here: device choice and a real CUDA OOM need one")
    job_id = store.submit(
        T + "cuda_alloc", {"device": "auto", "fits": 2, "config": {"batch_size": 4}}
    )
    run_worker(root, once=True, poll_s=0.05)
    job = store.get(job_id)
    assert job.state == SUCCEEDED, job.error
    assert job.device == "cuda" and job.result["device"].startswith("cuda")
    assert job.result["batch_size"] == 2 and job.result["sum"] == 1024.0
    assert [e["batch_size"] for e in store.events(job_id) if e["kind"] == "retry"] == [2]
