"""Fixtures for the job tests: a workspace per test and workers that never outlive it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tests.jobs.tasks  # noqa: F401 - registers the test.* tasks in this process
from recolab.jobs import JobStore, live_worker_pid, pid_alive
from recolab.jobs.tasks import PLUGINS_ENV

REPO = Path(__file__).resolve().parents[2]


def child_env(root: Path) -> dict[str, str]:
    """Environment for ``python -m recolab`` subprocesses: this repo importable, workspace."""
    env = dict(os.environ)
    env["RECOLAB_HOME"] = str(root)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env[PLUGINS_ENV] = "tests.jobs.tasks"  # the test.* tasks, in workers and job processes
    return env


@pytest.fixture(autouse=True)
def _test_tasks_in_subprocesses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers started by ``ensure_worker`` inherit this: they know the ``test.*`` tasks."""
    monkeypatch.setenv(PLUGINS_ENV, "tests.jobs.tasks")


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """A fresh workspace; any worker left running for it is stopped afterwards."""
    ws = tmp_path / "ws"
    yield ws
    if not ws.exists():
        return
    pids = {live_worker_pid(ws)}
    with contextlib.suppress(OSError, ValueError):  # started by ensure_worker, maybe not locked
        pids.add(int((ws / "worker.starting").read_text().split()[0]))
    for pid in pids:
        if pid and pid > 0 and pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(p and p > 0 and pid_alive(p) for p in pids):
        time.sleep(0.1)


@pytest.fixture
def store(root: Path) -> JobStore:
    """The job store of the test workspace."""
    return JobStore(root)


@pytest.fixture
def start_worker(root: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``python -m recolab worker`` processes (own session); killed at teardown."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(*extra: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "recolab",
                "worker",
                "--home",
                str(root),
                "--poll",
                "0.1",
                *extra,
            ],
            cwd=REPO,
            env=child_env(root),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def wait_for(cond: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> object:
    """Poll ``cond`` until truthy; fail the test after ``timeout`` seconds (no hang)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
