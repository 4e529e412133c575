"""Workspace faults through the real CLI: each is one clean line on stderr and exit 2.

Read-only workspace, a file where the folder should be, no permission, a full disk
(``RLIMIT_FSIZE``) and a write lock held by another process. Reads (``jobs list``,
``jobs show``) keep working on a read-only workspace and under a held write lock.

The tests run as root here, and root ignores file modes. The subprocesses then give up the
capabilities that override file permissions (``CAP_DAC_OVERRIDE``, ``CAP_DAC_READ_SEARCH``,
``CAP_FOWNER``) before they start, so a ``chmod`` binds them as it binds any user; a probe
checks that it does before each test relies on it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from recolab.jobs import FAILED, JobStore
from tests.jobs.conftest import REPO, child_env

_PR_CAPBSET_DROP = 24
_FILE_POWERS = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER


def _bind_to_file_modes() -> None:
    """``preexec_fn``: as root, drop the capabilities that bypass file permissions (from
    the bounding set, so the exec'd program never gets them back)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in _FILE_POWERS:
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _small_files(limit: int) -> Callable[[], None]:
    """``preexec_fn``: a disk that is full past ``limit`` bytes per file (``RLIMIT_FSIZE``;
    Python ignores SIGXFSZ, so writes fail with EFBIG instead of killing the process)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run_cli(
    home: Path,
    *args: str,
    preexec: Callable[[], None] | None = _bind_to_file_modes,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m recolab ARGS --home HOME`` in a subprocess bound to file modes."""
    return subprocess.run(
        [sys.executable, "-m", "recolab", *args],
        cwd=REPO,
        env={**child_env(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec,
    )


def assert_clean_error(r: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, no traceback, exactly one line on stderr holding every needle."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _set_modes(root: Path, dirs: int, files: int) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(dirs if path.is_dir() else files)


@contextlib.contextmanager
def read_only(root: Path) -> Iterator[None]:
    """The whole workspace read-only (dirs 0555, files 0444) for the block."""
    _set_modes(root, 0o555, 0o444)
    try:
        probe = run_cli(root, "--help", preexec=None)  # interpreter works at all
        assert probe.returncode == 0, probe.stderr
        check = subprocess.run(
            [sys.executable, "-c", f"open({str(root / 'probe')!r}, 'w')"],
            capture_output=True,
            text=True,
            preexec_fn=_bind_to_file_modes,
        )
        assert check.returncode != 0 and "Permission denied" in check.stderr, (
            "could not make the workspace read-only for a subprocess here; these tests "
            f"cannot simulate the fault: {check.stderr or 'the write succeeded'}"
        )
        yield
    finally:
        _set_modes(root, 0o755, 0o644)


@pytest.fixture
def workspace(root: Path, tmp_path: Path) -> tuple[Path, str, Path]:
    """A workspace with one finished job; returns (root, job id, a train file)."""
    train = tmp_path / "train.csv"
    train.write_text("user,item\n1,2\n")
    store = JobStore(root)
    job_id = store.submit("test.count", {"n": 1})
    store.finish(job_id, FAILED, error="made up for the test")
    store.close()  # last connection: SQLite folds the WAL back into the file
    return root, job_id, train


def _submit_args(train: Path) -> list[str]:
    return ["jobs", "submit", "--train", str(train), "--no-worker"]


@pytest.mark.parametrize("wal_open", [False, True], ids=["clean", "wal-and-shm-present"])
def test_read_only_workspace_reads_work_writes_fail_cleanly(workspace, wal_open):
    root, job_id, train = workspace
    holder = None
    if wal_open:  # another process still has the store open: -wal and -shm exist
        holder = sqlite3.connect(root / "jobs.sqlite")
        holder.execute("SELECT COUNT(*) FROM jobs").fetchone()
        assert (root / "jobs.sqlite-shm").exists()
    try:
        with read_only(root):
            r = run_cli(root, "jobs", "list")
            assert r.returncode == 0, r.stderr
            assert job_id in r.stdout and "failed" in r.stdout
            r = run_cli(root, "jobs", "show", job_id)
            assert r.returncode == 0, r.stderr
            assert "made up for the test" in r.stdout
            r = run_cli(root, "jobs", "show", job_id, "--json")
            assert r.returncode == 0 and '"state": "failed"' in r.stdout
            r = run_cli(root, "jobs", "wait", job_id, "--timeout", "1")
            assert r.returncode == 1 and r.stdout.startswith(f"{job_id} failed")
            r = run_cli(root, "jobs", "cancel", job_id)  # finished: nothing to write
            assert r.returncode == 0 and r.stdout.strip() == f"{job_id} failed"
            assert_clean_error(run_cli(root, *_submit_args(train)), "read-only", str(root))
            assert_clean_error(run_cli(root, "jobs", "retry", job_id), "read-only")
            assert_clean_error(run_cli(root, "worker", "--once"), "worker.lock")
    finally:
        if holder is not None:
            holder.close()
    assert [j.id for j in JobStore(root).list()] == [job_id]  # nothing was half-written


def test_home_is_a_file(tmp_path):
    home = tmp_path / "not-a-folder"
    home.write_text("x")
    for args in (
        ["jobs", "list"],
        ["jobs", "show", "abc"],
        ["jobs", "submit", "--train", str(home), "--no-worker"],
        ["worker", "--once"],
    ):
        # $RECOLAB_HOME, as the audit set it (child_env), and --home both
        r = run_cli(home, *args)
        assert_clean_error(r, str(home), "is a file, not a folder", "RECOLAB_HOME")
        r = run_cli(home, *args, "--home", str(home))
        assert_clean_error(r, "is a file, not a folder")


def test_permission_denied(workspace, tmp_path):
    root, job_id, train = workspace
    root.chmod(0o000)
    try:
        assert_clean_error(run_cli(root, "jobs", "list"), "permission denied")
        assert_clean_error(run_cli(root, "jobs", "show", job_id), "permission denied")
        assert_clean_error(run_cli(root, *_submit_args(train)), "permission denied")
    finally:
        root.chmod(0o755)
    parent = tmp_path / "locked-parent"
    parent.mkdir(mode=0o555)
    try:  # a workspace that cannot be created: reads see none, writes say why
        inner = parent / "ws"
        r = run_cli(inner, "jobs", "list")
        assert r.returncode == 0 and r.stdout.split() == [
            "ID",
            "STATE",
            "CREATED",
            "EPOCH",
            "DEVICE",
        ]
        line = assert_clean_error(run_cli(inner, *_submit_args(train)), "permission denied")
        assert str(inner) in line
    finally:
        parent.chmod(0o755)


def test_full_disk(workspace):
    root, job_id, train = workspace
    size = (root / "jobs.sqlite").stat().st_size
    r = run_cli(root, *_submit_args(train), preexec=_small_files(1024))
    line = assert_clean_error(r, str(root / "jobs.sqlite"))
    assert "disk" in line, line
    r = run_cli(root, "jobs", "retry", job_id, "--no-worker", preexec=_small_files(1024))
    assert_clean_error(r, "disk")
    assert (root / "jobs.sqlite").stat().st_size == size
    assert [j.id for j in JobStore(root).list()] == [job_id]  # intact, nothing half-written
    r = run_cli(root, *_submit_args(train))  # room again: it works
    assert r.returncode == 0, r.stderr


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("UPDATE jobs SET error = error")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


def test_write_lock_held_by_another_process(workspace):
    root, job_id, train = workspace
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(root / "jobs.sqlite")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        env = {"RECOLAB_BUSY_TIMEOUT_S": "1"}
        t0 = time.monotonic()
        r = run_cli(root, "jobs", "list", env=env)
        assert r.returncode == 0 and job_id in r.stdout, r.stderr  # reads need no lock
        r = run_cli(root, "jobs", "show", job_id, env=env)
        assert r.returncode == 0 and job_id in r.stdout, r.stderr
        t1 = time.monotonic()
        r = run_cli(root, *_submit_args(train), env=env)
        waited = time.monotonic() - t1
        assert_clean_error(r, "another process holds its write lock", str(root))
        assert waited >= 1.0  # it retried for the busy timeout before giving up
        assert t1 - t0 < 20  # the reads did not wait for the lock
    finally:
        locker.communicate("", timeout=10)
    r = run_cli(root, *_submit_args(train), env={"RECOLAB_BUSY_TIMEOUT_S": "1"})
    assert r.returncode == 0, r.stderr  # lock released: the same submit goes through


def test_bad_busy_timeout_setting(workspace):
    root, _, _ = workspace
    r = run_cli(root, "jobs", "list", env={"RECOLAB_BUSY_TIMEOUT_S": "soon"})
    assert_clean_error(r, "RECOLAB_BUSY_TIMEOUT_S")


def test_corrupt_store(root):
    root.mkdir(parents=True)
    (root / "jobs.sqlite").write_bytes(b"this is not a database" * 100)
    assert_clean_error(run_cli(root, "jobs", "list"), "not a job store")


def test_modes_restored(workspace):
    """The helpers leave the workspace as they found it (so teardown can clean it)."""
    root, _, _ = workspace
    with read_only(root):
        pass
    assert stat.S_IMODE(root.stat().st_mode) == 0o755
