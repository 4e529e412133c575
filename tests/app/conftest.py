"""Fixtures of the AppTest suite: a workspace per test and one trained job per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import TINY_WEIGHTED, make_finished_job, stop_worker


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A workspace holding one succeeded training job (real bundle and result.json)."""
    root = tmp_path_factory.mktemp("trained-ws")
    job_id = make_finished_job(root)
    return root, job_id


@pytest.fixture(scope="session")
def trained_weighted_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A workspace holding one succeeded job of the λ-conditioned network."""
    root = tmp_path_factory.mktemp("trained-weighted-ws")
    return root, make_finished_job(root, config=TINY_WEIGHTED)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty workspace as RECOLAB_HOME; stops a worker the test may have started."""
    monkeypatch.setenv("RECOLAB_HOME", str(tmp_path))
    yield tmp_path
    stop_worker(tmp_path)


def _private_copy(
    source: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    src, job_id = source
    root = tmp_path / "ws"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("worker.*"))
    monkeypatch.setenv("RECOLAB_HOME", str(root))
    return root, job_id


@pytest.fixture
def trained(
    trained_home: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """A private copy of the trained workspace (default model) as RECOLAB_HOME, and its job."""
    return _private_copy(trained_home, tmp_path, monkeypatch)


@pytest.fixture
def trained_weighted(
    trained_weighted_home: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """A private copy of the λ-conditioned network's workspace as RECOLAB_HOME, and its job."""
    return _private_copy(trained_weighted_home, tmp_path, monkeypatch)
