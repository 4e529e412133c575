"""The job store: one SQLite file (WAL mode) shared by the app, the CLI and the worker.

Every process (and every thread) opens its own connections; no connection ever crosses a
process boundary. Reads go through a read-only connection (``mode=ro``): they never take
the write lock, so they work on a read-only workspace and while another process holds the
write lock. Writes are short ``BEGIN IMMEDIATE`` transactions, retried with backoff while
another writer holds the lock, up to ``busy_timeout_s``. Every SQLite or file-system fault
becomes a :class:`JobStoreError` that names the store and the reason.

States::

    queued ──claim──▶ running ──▶ succeeded | failed | cancelled
       └──────────── cancel ──────────────────────────▲

A job in a final state never changes again: :meth:`JobStore.finish` only moves a job that is
still ``queued`` or ``running``, so whoever finishes a job first (the job process, the
supervising worker, a reaper) wins and the record stays consistent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from recolab.errors import Cancelled, RecolabError, WorkspaceError
from recolab.jobs import tasks
from recolab.jobs.workspace import (
    DB_NAME,
    DELETED_PREFIX,
    describe_os_error,
    ensure_layout,
    job_dir,
    remove_tree,
)

log = logging.getLogger(__name__)

__all__ = [
    "Cancelled",
    "Job",
    "JobActiveError",
    "JobStore",
    "JobStoreError",
    "UnknownJobError",
    "pid_alive",
]

T = TypeVar("T")

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELLED})

#: Seconds without a heartbeat after which a running job counts as dead.
DEFAULT_STALE_S = 60.0
#: Environment variable: seconds a write waits for another process's write lock (default 30).
BUSY_TIMEOUT_ENV = "RECOLAB_BUSY_TIMEOUT_S"
DEFAULT_BUSY_TIMEOUT_S = 30.0
_BUSY_SLICE_S = 1.0  # SQLite's own wait per attempt; the retry loop spans the whole timeout

#: 2: jobs.name (a name the user gave the job), added to older stores on first write.
_SCHEMA_VERSION = 2
#: Longest job name accepted by :meth:`JobStore.rename`.
MAX_NAME_LENGTH = 80
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    spec TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN {STATES!r}),
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    heartbeat REAL,
    worker_pid INTEGER,
    child_pid INTEGER,
    device TEXT,
    error TEXT,
    result TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    progress TEXT,
    name TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state_created ON jobs (state, created);
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
"""


class UnknownJobError(RecolabError, LookupError):
    """No job with that id in the store."""


class JobStoreError(WorkspaceError):
    """The job store cannot be read or written (read-only, full, locked, corrupt...)."""


class JobActiveError(RecolabError):
    """The job is queued or running: cancel it before deleting it."""


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _store_error(exc: sqlite3.Error, path: Path, doing: str) -> JobStoreError:
    """One sentence naming the store, what was being done and why it failed."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = text.lower()
    if _is_busy(exc):
        reason = "another process holds its write lock and did not release it in time"
    elif "readonly" in low or "read-only" in low:
        reason = "the workspace is read-only (jobs can be listed and shown, not changed)"
    elif "disk is full" in low or "disk i/o" in low:
        reason = f"{text} (is the disk full, or a file-size limit reached?)"
    elif "unable to open" in low:
        reason = "cannot open the database file (permission denied, or its folder is missing)"
    elif "malformed" in low or "not a database" in low:
        reason = f"it is corrupt or not a job store ({text})"
    else:
        reason = text
    return JobStoreError(f"cannot {doing} {path}: {reason}")


def _busy_timeout_from_env() -> float:
    text = os.environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_BUSY_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value < 0:
        raise WorkspaceError(f"${BUSY_TIMEOUT_ENV} must be seconds ≥ 0, got {text!r}")
    return value


@dataclass(frozen=True)
class Job:
    """One row of the ``jobs`` table, decoded.

    Attributes
    ----------
    id:
        12 hex characters.
    task:
        The name of a registered task (see :mod:`recolab.jobs.tasks`).
    spec:
        The JSON spec handed to the task.
    state:
        One of ``queued``, ``running``, ``succeeded``, ``failed``, ``cancelled``.
    created, started, finished, heartbeat:
        Unix times (seconds), ``None`` until they happen.
    worker_pid, child_pid:
        The supervising worker and the process that runs the task.
    device:
        ``"cuda"`` or ``"cpu"`` once the job process chose it.
    error:
        Why the job failed or was cancelled, in words.
    result:
        What the task returned (JSON), e.g. ``{"bundle": ..., "metrics": ...}``.
    attempts:
        How many times a worker claimed the job.
    cancel_requested:
        Someone asked the job to stop.
    progress:
        The last progress event (epoch, losses, metrics, elapsed...), if any.
    name:
        The name the user gave the job (:meth:`JobStore.rename`), ``None`` when it has none.
    """

    id: str
    task: str
    spec: dict[str, Any]
    state: str
    created: float
    started: float | None
    finished: float | None
    heartbeat: float | None
    worker_pid: int | None
    child_pid: int | None
    device: str | None
    error: str | None
    result: dict[str, Any] | None
    attempts: int
    cancel_requested: bool
    progress: dict[str, Any] | None
    name: str | None = None

    @property
    def done(self) -> bool:
        """The job reached a final state."""
        return self.state in FINAL_STATES

    @property
    def elapsed_s(self) -> float | None:
        """Seconds from start to finish (or to now while running)."""
        if self.started is None:
            return None
        return (self.finished or time.time()) - self.started

    def to_dict(self) -> dict[str, Any]:
        """The job as a JSON-able dict."""
        return asdict(self)

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> Job:
        return cls(
            id=row["id"],
            task=row["task"],
            spec=json.loads(row["spec"]),
            state=row["state"],
            created=row["created"],
            started=row["started"],
            finished=row["finished"],
            heartbeat=row["heartbeat"],
            worker_pid=row["worker_pid"],
            child_pid=row["child_pid"],
            device=row["device"],
            error=row["error"],
            result=json.loads(row["result"]) if row["result"] is not None else None,
            attempts=row["attempts"],
            cancel_requested=bool(row["cancel_requested"]),
            progress=json.loads(row["progress"]) if row["progress"] is not None else None,
            name=row["name"] if "name" in row.keys() else None,  # noqa: SIM118 (Row: in = values)
        )


def _dumps(obj: Any, what: str) -> str:
    try:
        return json.dumps(obj, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise RecolabError(f"{what} must be JSON-serialisable (no NaN): {exc}") from exc


def pid_alive(pid: int | None) -> bool:
    """Whether process ``pid`` exists on this machine and is not a zombie."""
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # state is the field after the parenthesised command name
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else ""
    return state not in ("Z", "X")


class JobStore:
    """Jobs and their progress events in ``<root>/jobs.sqlite``.

    Parameters
    ----------
    root:
        The workspace folder (see :func:`recolab.jobs.workspace_root`). Nothing is created
        until the first write: a reader works on a read-only or missing workspace.
    busy_timeout_s:
        How long a write waits (retrying with backoff) for another process's write lock;
        default ``$RECOLAB_BUSY_TIMEOUT_S`` or 30 s.

    Notes
    -----
    Safe to use from several threads and processes: connections are opened lazily, one
    read-only and one read-write per (process, thread). Create the store in each process
    rather than passing it across.

    Examples
    --------
    >>> store = JobStore(tmp_path)                          # doctest: +SKIP
    >>> job_id = store.submit("train", {"train": "/data/ratings.csv"})  # doctest: +SKIP
    >>> store.get(job_id).state                             # doctest: +SKIP
    'queued'
    """

    def __init__(
        self, root: str | os.PathLike[str], *, busy_timeout_s: float | None = None
    ) -> None:
        self.root = Path(root).absolute()
        self.path = self.root / DB_NAME
        if busy_timeout_s is None:
            busy_timeout_s = _busy_timeout_from_env()
        self.busy_timeout_s = float(busy_timeout_s)
        self._local = threading.local()
        self._schema_ready = False

    # -- connections -------------------------------------------------------------------
    def _cached(self, name: str) -> sqlite3.Connection | None:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.rw = local.ro = None  # inherited from a parent process: never reuse
            local.pid = os.getpid()
        return getattr(local, name, None)

    def _connect(self, target: str, uri: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(
            target,
            timeout=min(self.busy_timeout_s, _BUSY_SLICE_S),
            isolation_level=None,
            check_same_thread=True,
            uri=uri,
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(min(self.busy_timeout_s, _BUSY_SLICE_S) * 1000)}")
        return conn

    def _writer(self) -> sqlite3.Connection:
        conn = self._cached("rw")
        if conn is None:
            ensure_layout(self.root)
            conn = self._connect(str(self.path))
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
            except BaseException:
                conn.close()
                raise
            self._local.rw = conn
        if not self._schema_ready:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                columns = {r["name"] for r in conn.execute("PRAGMA table_info(jobs)")}
                if "name" not in columns:  # a store written before version 2
                    conn.execute("ALTER TABLE jobs ADD COLUMN name TEXT")
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            self._schema_ready = True
        return conn

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection: never takes the write lock, works on a read-only disk."""
        conn = self._cached("ro")
        if conn is not None:
            yield conn
            return
        conn = self._connect(self.path.as_uri() + "?mode=ro", uri=True)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            conn.close()
            # A WAL database whose -shm file is gone cannot be opened read-only in a folder
            # we may not write; with no -wal content either, the file itself is complete.
            wal = self.path.with_name(self.path.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise
            conn = self._connect(self.path.as_uri() + "?mode=ro&immutable=1", uri=True)
            try:  # immutable: a snapshot, so never cached
                yield conn
            finally:
                conn.close()
            return
        self._local.ro = conn
        yield conn

    def close(self) -> None:
        """Close this thread's connections (others close when their thread ends)."""
        for name in ("rw", "ro"):
            conn = self._cached(name)
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            setattr(self._local, name, None)

    def _retrying(self, attempt: Callable[[], T], doing: str) -> T:
        """Run ``attempt``, retrying with backoff while the store is busy; every SQLite or
        file-system fault becomes a :class:`JobStoreError`."""
        deadline = time.monotonic() + self.busy_timeout_s
        delay = 0.02
        while True:
            try:
                return attempt()
            except sqlite3.Error as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise _store_error(exc, self.path, doing) from exc
                log.debug("job store busy (%s): retrying in %.2f s", exc, delay)
            except OSError as exc:
                raise JobStoreError(
                    f"cannot {doing} {self.path}: {describe_os_error(exc)}"
                ) from exc
            time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)

    def _write(self, body: Callable[[sqlite3.Connection], T], doing: str) -> T:
        """Run ``body`` in one ``BEGIN IMMEDIATE`` transaction (retried while busy)."""

        def attempt() -> T:
            conn = self._writer()
            conn.execute("BEGIN IMMEDIATE")
            try:
                out = body(conn)
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            return out

        return self._retrying(attempt, doing)

    def _read(self, body: Callable[[sqlite3.Connection], T], empty: T, doing: str) -> T:
        """Run ``body`` on a read-only connection; ``empty`` when there is no store yet."""
        try:
            os.stat(self.path)
        except FileNotFoundError:
            return empty
        except OSError as exc:
            raise JobStoreError(f"cannot {doing} {self.path}: {describe_os_error(exc)}") from exc

        def attempt() -> T:
            with self._reader() as conn:
                try:
                    return body(conn)
                except sqlite3.OperationalError as exc:
                    if "no such table" in str(exc):  # created, schema not yet written
                        return empty
                    raise

        return self._retrying(attempt, doing)

    def __getstate__(self) -> None:
        raise TypeError("JobStore does not cross processes; pass its root and reopen it")

    # -- reading -------------------------------------------------------------------------
    def _unknown(self, job_id: str) -> UnknownJobError:
        return UnknownJobError(f"no job with id {job_id!r} in {self.path}")

    def get(self, job_id: str) -> Job:
        """The job ``job_id``.

        Raises
        ------
        UnknownJobError
            When no job has that id.
        """
        row = self._read(
            lambda c: c.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone(),
            None,
            "read",
        )
        if row is None:
            raise self._unknown(job_id)
        return Job._from_row(row)

    def list(self, limit: int = 50, state: str | None = None) -> list[Job]:
        """The newest ``limit`` jobs, optionally only those in ``state``."""
        if state is not None and state not in STATES:
            raise RecolabError(f"unknown job state {state!r}; expected one of {STATES}")
        sql = "SELECT * FROM jobs"
        params: tuple[Any, ...] = ()
        if state is not None:
            sql += " WHERE state = ?"
            params = (state,)
        sql += " ORDER BY created DESC, rowid DESC LIMIT ?"
        rows = self._read(lambda c: c.execute(sql, (*params, int(limit))).fetchall(), [], "read")
        return [Job._from_row(r) for r in rows]

    def events(self, job_id: str, after_seq: int = 0, limit: int | None = None) -> list[dict]:
        """Events of ``job_id`` with ``seq > after_seq``, oldest first.

        Each event is its payload plus ``seq`` (1, 2, 3... per job, no gaps) and ``ts``
        (Unix time). Poll with the last ``seq`` seen to get only what is new.
        """
        sql = "SELECT seq, ts, payload FROM events WHERE job_id = ? AND seq > ? ORDER BY seq"
        params: tuple[Any, ...] = (job_id, int(after_seq))
        if limit is not None:
            sql += " LIMIT ?"
            params = (*params, int(limit))

        def body(conn: sqlite3.Connection) -> tuple[list[sqlite3.Row], bool]:
            rows = conn.execute(sql, params).fetchall()
            known = (
                bool(rows)
                or conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is not None
            )
            return rows, known

        rows, known = self._read(body, ([], False), "read")
        if not known:
            raise self._unknown(job_id)
        return [{**json.loads(r["payload"]), "seq": r["seq"], "ts": r["ts"]} for r in rows]

    def last_events(self, job_id: str, n: int = 10) -> list[dict]:
        """The last ``n`` events of ``job_id``, oldest first."""
        rows = self._read(
            lambda c: c.execute(
                "SELECT seq, ts, payload FROM events WHERE job_id = ? ORDER BY seq DESC LIMIT ?",
                (job_id, int(n)),
            ).fetchall(),
            [],
            "read",
        )
        if not rows:
            self.get(job_id)  # raises for an unknown id
        return [
            {**json.loads(r["payload"]), "seq": r["seq"], "ts": r["ts"]} for r in reversed(rows)
        ]

    def cancel_requested(self, job_id: str) -> bool:
        """Whether someone asked ``job_id`` to stop (or it is no longer running)."""
        row = self._read(
            lambda c: c.execute(
                "SELECT cancel_requested, state FROM jobs WHERE id = ?", (job_id,)
            ).fetchone(),
            None,
            "read",
        )
        if row is None:
            raise self._unknown(job_id)
        return bool(row["cancel_requested"]) or row["state"] in FINAL_STATES

    def running_count(self) -> int:
        """How many jobs are running right now."""
        return int(
            self._read(
                lambda c: c.execute(
                    "SELECT COUNT(*) FROM jobs WHERE state = ?", (RUNNING,)
                ).fetchone()[0],
                0,
                "read",
            )
        )

    # -- writing -------------------------------------------------------------------------
    def submit(self, task: str, spec: dict[str, Any]) -> str:
        """Queue a job; returns its id.

        Parameters
        ----------
        task:
            The name of a registered task (:func:`recolab.jobs.tasks.register`); the
            function behind it takes ``(spec, ctx)``. A module path is never imported.
        spec:
            JSON-able dict handed to the task, checked here by the task's validator (paths
            exist and are readable files, the config has known keys of the right types...)
            and stored as the validator returns it (e.g. with absolute paths).

        Raises
        ------
        UnknownTaskError, JobSpecError
            An unregistered task, or a spec its task refuses: nothing is queued.

        Notes
        -----
        The spec is checked once before the write lock is taken (a bad spec fails without
        touching the store) and again inside the transaction that queues it. A folder removed
        with :meth:`remove_unless_used` is renamed away under the same lock, so a job is
        never queued on input files that are gone by the time it is queued: it is either
        queued first (and the removal is refused, naming it) or refused here (file not found).
        """
        _dumps(tasks.validate_spec(task, spec), "job spec")  # fail fast, without the lock
        job_id = uuid.uuid4().hex[:12]

        def body(conn: sqlite3.Connection) -> None:
            checked = _dumps(tasks.validate_spec(task, spec), "job spec")  # under the lock
            conn.execute(
                "INSERT INTO jobs (id, task, spec, state, created) VALUES (?, ?, ?, ?, ?)",
                (job_id, task, checked, QUEUED, time.time()),
            )

        self._write(body, "queue a job in")
        log.info("job %s queued (%s)", job_id, task)
        return job_id

    def remove_unless_used(
        self, path: str | os.PathLike[str], uses: Callable[[Job], bool]
    ) -> list[Job]:
        """Remove the folder ``path`` unless a job (any state) uses it.

        Returns the jobs for which ``uses(job)`` is true, newest first; when there is any,
        nothing is removed. Checking the jobs and taking the folder away are one step as
        seen by :meth:`submit`: both happen in one write transaction (the lock every submit
        takes to queue), where the folder is renamed aside (``.deleted-…``, which readers
        skip); it is removed after the commit. So a job submitted at the same moment is
        either queued before (and returned here, the folder kept) or refused by its own
        submit check (its input files are gone): never queued on a folder that is gone.

        Raises
        ------
        WorkspaceError
            The folder cannot be renamed aside (permission, read-only disk); it is left as
            it was.
        JobStoreError
            The store cannot be read or written.
        """
        folder = Path(path).absolute()

        def body(conn: sqlite3.Connection) -> list[Job]:
            rows = conn.execute("SELECT * FROM jobs ORDER BY created DESC, rowid DESC")
            users = [job for job in map(Job._from_row, rows.fetchall()) if uses(job)]
            if users:
                return users
            aside = folder.with_name(f"{DELETED_PREFIX}{folder.name}-{uuid.uuid4().hex[:8]}")
            try:
                os.rename(folder, aside)
            except FileNotFoundError:
                pass  # already gone: nothing to take away
            except OSError as exc:
                raise WorkspaceError(f"cannot remove {folder}: {describe_os_error(exc)}") from exc
            return []

        users = self._write(body, f"check the jobs using {folder} in")
        if not users:
            remove_tree(folder)  # gone already: sweeps the folder renamed aside above
            log.info("%s removed (no job uses it)", folder)
        return users

    def resubmit(self, job_id: str) -> str:
        """Queue a new job with the task and spec of ``job_id`` (checked again, as at submit);
        returns the new id. Both jobs get a note naming the other."""
        job = self.get(job_id)
        new_id = self.submit(job.task, job.spec)
        self.append_event(new_id, {"kind": "note", "message": f"retry of job {job_id}"})
        self.append_event(job_id, {"kind": "note", "message": f"retried as job {new_id}"})
        return new_id

    def append_event(self, job_id: str, payload: dict[str, Any], *, heartbeat: bool = False) -> int:
        """Append an event to ``job_id``; returns its ``seq``.

        A payload with ``kind == "progress"`` also becomes the job's ``progress``.
        With ``heartbeat=True`` the job's heartbeat is refreshed in the same transaction.
        """
        if not isinstance(payload, dict):
            raise RecolabError(f"event payload must be a dict, got {type(payload).__name__}")
        payload_json = _dumps(payload, "event payload")
        now = time.time()

        def body(conn: sqlite3.Connection) -> int:
            if conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None:
                raise self._unknown(job_id)
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE job_id = ?", (job_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO events (job_id, seq, ts, payload) VALUES (?, ?, ?, ?)",
                (job_id, seq, now, payload_json),
            )
            if payload.get("kind") == "progress":
                conn.execute("UPDATE jobs SET progress = ? WHERE id = ?", (payload_json, job_id))
            if heartbeat:
                conn.execute(
                    "UPDATE jobs SET heartbeat = ? WHERE id = ? AND state = ?",
                    (now, job_id, RUNNING),
                )
            return int(seq)

        return self._write(body, f"record an event of job {job_id} in")

    def request_cancel(self, job_id: str) -> Job:
        """Ask ``job_id`` to stop.

        A queued job is cancelled at once; a running job gets ``cancel_requested`` and its
        worker stops it (cooperatively first, by force after a grace period); a finished
        job is left as it is. Returns the job after the request.
        """
        now = time.time()

        def body(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise self._unknown(job_id)
            if row["state"] == QUEUED:
                conn.execute(
                    "UPDATE jobs SET state = ?, finished = ?, cancel_requested = 1, error = ?"
                    " WHERE id = ?",
                    (CANCELLED, now, "cancelled before it started", job_id),
                )
                self._insert_event(conn, job_id, now, {"kind": "state", "state": CANCELLED})
            elif row["state"] == RUNNING:
                conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
                self._insert_event(
                    conn, job_id, now, {"kind": "note", "message": "cancel requested"}
                )

        job = self.get(job_id)  # unknown ids fail even where the store cannot be written
        if job.done:
            return job  # nothing to do, nothing written
        self._write(body, f"cancel job {job_id} in")
        log.info("cancel requested for job %s", job_id)
        return self.get(job_id)

    def claim_next(self, worker_pid: int, max_parallel: int = 1) -> Job | None:
        """Atomically move the oldest queued job to ``running`` for ``worker_pid``.

        Returns ``None`` when nothing is queued or ``max_parallel`` jobs already run.
        """
        now = time.time()

        def body(conn: sqlite3.Connection) -> str | None:
            running = conn.execute(
                "SELECT COUNT(*) FROM jobs WHERE state = ?", (RUNNING,)
            ).fetchone()[0]
            if running >= max_parallel:
                return None
            row = conn.execute(
                "SELECT id FROM jobs WHERE state = ? ORDER BY created, rowid LIMIT 1", (QUEUED,)
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET state = ?, started = ?, heartbeat = ?, worker_pid = ?,"
                " attempts = attempts + 1 WHERE id = ?",
                (RUNNING, now, now, int(worker_pid), row["id"]),
            )
            self._insert_event(
                conn, row["id"], now, {"kind": "state", "state": RUNNING, "worker_pid": worker_pid}
            )
            return str(row["id"])

        job_id = self._write(body, "claim a job in")
        if job_id is None:
            return None
        log.info("job %s claimed by worker %d", job_id, worker_pid)
        return self.get(job_id)

    def mark_started(self, job_id: str, *, child_pid: int, device: str) -> None:
        """Record the job process and the device it trains on."""
        self._write(
            lambda c: c.execute(
                "UPDATE jobs SET child_pid = ?, device = ?, heartbeat = ? WHERE id = ?",
                (int(child_pid), device, time.time(), job_id),
            ),
            f"update job {job_id} in",
        )

    def heartbeat(self, job_id: str) -> bool:
        """Refresh the heartbeat of a running job; ``False`` when it is no longer running."""
        return self._write(
            lambda c: (
                c.execute(
                    "UPDATE jobs SET heartbeat = ? WHERE id = ? AND state = ?",
                    (time.time(), job_id, RUNNING),
                ).rowcount
                > 0
            ),
            f"update job {job_id} in",
        )

    def finish(
        self,
        job_id: str,
        state: str,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Move a queued or running job to a final ``state``.

        Returns ``True`` when this call finished the job, ``False`` when it was already
        final (the first finisher wins; nothing is overwritten).
        """
        if state not in FINAL_STATES:
            raise RecolabError(f"finish needs a final state {sorted(FINAL_STATES)}, got {state!r}")
        result_json = _dumps(result, "job result") if result is not None else None
        now = time.time()

        def body(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise self._unknown(job_id)
            if row["state"] in FINAL_STATES:
                return False
            conn.execute(
                "UPDATE jobs SET state = ?, finished = ?, result = ?, error = ? WHERE id = ?",
                (state, now, result_json, error, job_id),
            )
            event: dict[str, Any] = {"kind": "state", "state": state}
            if error:
                event["error"] = error
            self._insert_event(conn, job_id, now, event)
            return True

        if not self._write(body, f"finish job {job_id} in"):
            return False
        log.info("job %s %s%s", job_id, state, f": {error}" if error else "")
        return True

    def _running_rows(self, exclude_worker: int | None = None) -> list[sqlite3.Row]:
        sql = "SELECT id, worker_pid, heartbeat, started, created FROM jobs WHERE state = ?"
        params: tuple[Any, ...] = (RUNNING,)
        if exclude_worker is not None:
            sql += " AND (worker_pid IS NULL OR worker_pid != ?)"
            params = (RUNNING, int(exclude_worker))
        return self._read(lambda c: c.execute(sql, params).fetchall(), [], "read")

    def reap_stale(
        self, timeout_s: float = DEFAULT_STALE_S, *, best_effort: bool = False
    ) -> list[str]:
        """Fail running jobs whose worker died or whose heartbeat is older than ``timeout_s``.

        Cheap enough to call from readers (the app, ``jobs wait``). Returns the reaped ids.
        With ``best_effort`` (readers), a store that cannot be written (read-only, locked)
        is logged as a warning and the dead job stays as it is.
        """
        now = time.time()
        reaped = []
        for r in self._running_rows():
            last = r["heartbeat"] or r["started"] or r["created"]
            age = now - last
            pid = r["worker_pid"]
            if pid is not None and not pid_alive(pid):
                reason = f"worker died (pid {pid}) — no heartbeat for {age:.0f} s"
            elif age > timeout_s:
                reason = f"worker unresponsive (pid {pid}) — no heartbeat for {age:.0f} s"
            else:
                continue
            try:
                if self._finish_if_running_since(r["id"], last, reason):
                    reaped.append(r["id"])
            except JobStoreError as exc:
                if not best_effort:
                    raise
                log.warning("job %s looks dead (%s) but %s", r["id"], reason, exc)
        return reaped

    def fail_orphans(self, current_worker_pid: int) -> list[str]:
        """Fail running jobs of any worker but ``current_worker_pid``.

        Only the worker holding the workspace lock may call this: it knows every other
        worker is dead.
        """
        now = time.time()
        reaped = []
        for r in self._running_rows(exclude_worker=current_worker_pid):
            last = r["heartbeat"] or r["started"] or r["created"]
            reason = f"worker died (pid {r['worker_pid']}) — no heartbeat for {now - last:.0f} s"
            if self._finish_if_running_since(r["id"], last, reason):
                reaped.append(r["id"])
        return reaped

    def _finish_if_running_since(self, job_id: str, last: float, reason: str) -> bool:
        """Fail ``job_id`` unless it finished or beat again since we looked."""
        now = time.time()

        def body(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT state, heartbeat, started, created FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None or row["state"] != RUNNING:
                return False
            if (row["heartbeat"] or row["started"] or row["created"]) > last:
                return False
            conn.execute(
                "UPDATE jobs SET state = ?, finished = ?, error = ? WHERE id = ?",
                (FAILED, now, reason, job_id),
            )
            self._insert_event(
                conn, job_id, now, {"kind": "state", "state": FAILED, "error": reason}
            )
            return True

        if not self._write(body, f"record that job {job_id} failed in"):
            return False
        log.warning("job %s failed: %s", job_id, reason)
        return True

    def rename(self, job_id: str, name: str | None) -> Job:
        """Give ``job_id`` a name (what pickers show instead of its id); ``None`` or a blank
        name removes it. Any job can be renamed, whatever its state.

        Raises
        ------
        UnknownJobError
            When no job has that id.
        RecolabError
            A name longer than :data:`MAX_NAME_LENGTH` or with control characters.
        """
        clean = " ".join(str(name).split()) if name is not None else ""
        if len(clean) > MAX_NAME_LENGTH:
            raise RecolabError(f"a job name has at most {MAX_NAME_LENGTH} characters")
        if any(not ch.isprintable() for ch in clean):
            raise RecolabError("a job name cannot hold control characters")

        def body(conn: sqlite3.Connection) -> None:
            updated = conn.execute(
                "UPDATE jobs SET name = ? WHERE id = ?", (clean or None, job_id)
            ).rowcount
            if not updated:
                raise self._unknown(job_id)

        self._write(body, f"rename job {job_id} in")
        log.info("job %s renamed to %r", job_id, clean or None)
        return self.get(job_id)

    def delete(self, job_id: str) -> None:
        """Delete a finished job: its row and events (one transaction), then its folder.

        The transaction is the commit point: a crash before it leaves the job as it was, a
        crash after it leaves no job (its folder, renamed aside first, is removed then or by
        the next delete). A queued or running job is refused: cancel it first.

        Raises
        ------
        UnknownJobError
            When no job has that id.
        JobActiveError
            The job is queued or running.
        """

        def body(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise self._unknown(job_id)
            if row["state"] not in FINAL_STATES:
                raise JobActiveError(
                    f"job {job_id} is {row['state']}: cancel it first, then delete it"
                )
            conn.execute("DELETE FROM events WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

        self.get(job_id)  # unknown ids fail even where the store cannot be written
        self._write(body, f"delete job {job_id} from")
        remove_tree(job_dir(self.root, job_id, create=False))
        log.info("job %s deleted", job_id)

    def wait(self, job_id: str, timeout: float | None = None, poll_s: float = 0.25) -> Job:
        """Block until ``job_id`` is final or ``timeout`` seconds pass; returns the job.

        Jobs of dead workers are reaped while waiting (best effort), so this never hangs on
        a crash. Check :attr:`Job.done` to tell a timeout from completion.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        next_reap = 0.0
        while True:
            job = self.get(job_id)
            if job.done:
                return job
            if time.monotonic() >= next_reap:
                self.reap_stale(best_effort=True)
                next_reap = time.monotonic() + 2.0
            if deadline is not None and time.monotonic() >= deadline:
                return job
            time.sleep(
                poll_s if deadline is None else max(0.0, min(poll_s, deadline - time.monotonic()))
            )

    @staticmethod
    def _insert_event(conn: sqlite3.Connection, job_id: str, ts: float, payload: dict) -> None:
        seq = conn.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE job_id = ?", (job_id,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO events (job_id, seq, ts, payload) VALUES (?, ?, ?, ?)",
            (job_id, seq, ts, json.dumps(payload, sort_keys=True)),
        )
