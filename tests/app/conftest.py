"""Fixtures of the AppTest suite: a workspace per test and one trained job per session."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from recolab.jobs import live_worker_pid, pid_alive

from .helpers import make_finished_job

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A workspace holding one succeeded training job (real bundle and result.json)."""
    root = tmp_path_factory.mktemp("trained-ws")
    job_id = make_finished_job(root)
    return root, job_id


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty workspace as RECOLAB_HOME; stops a worker the test may have started."""
    monkeypatch.setenv("RECOLAB_HOME", str(tmp_path))
    yield tmp_path
    stop_worker(tmp_path)


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


@pytest.fixture
def trained(
    trained_home: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """A private copy of the trained workspace as RECOLAB_HOME, and its job id."""
    src, job_id = trained_home
    root = tmp_path / "ws"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("worker.*"))
    monkeypatch.setenv("RECOLAB_HOME", str(root))
    return root, job_id
