"""The job store: one SQLite file (WAL mode) shared by the app, the CLI and the worker.

Every process (and every thread) opens its own connection; no connection ever crosses a
process boundary. Writes are short ``BEGIN IMMEDIATE`` transactions, so readers (the app
polling progress) never block the worker and the worker never blocks them for long.

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
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from recolab.errors import Cancelled, RecolabError
from recolab.jobs.workspace import DB_NAME, ensure_layout

log = logging.getLogger(__name__)

__all__ = ["Cancelled", "Job", "JobStore", "UnknownJobError", "pid_alive"]

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELLED})

#: Seconds without a heartbeat after which a running job counts as dead.
DEFAULT_STALE_S = 60.0

_SCHEMA_VERSION = 1
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
    progress TEXT
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


@dataclass(frozen=True)
class Job:
    """One row of the ``jobs`` table, decoded.

    Attributes
    ----------
    id:
        12 hex characters.
    task:
        ``"module.path:function"`` run by the worker.
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
        The workspace folder (see :func:`recolab.jobs.workspace_root`).
    busy_timeout_s:
        How long a statement waits for another writer before failing.

    Notes
    -----
    Safe to use from several threads and processes: connections are opened lazily, one per
    (process, thread). Create the store in each process rather than passing it across.

    Examples
    --------
    >>> store = JobStore(tmp_path)                          # doctest: +SKIP
    >>> job_id = store.submit("pkg.mod:fn", {"epochs": 3})  # doctest: +SKIP
    >>> store.get(job_id).state                             # doctest: +SKIP
    'queued'
    """

    def __init__(self, root: str | os.PathLike[str], *, busy_timeout_s: float = 30.0) -> None:
        self.root = Path(root).resolve()
        ensure_layout(self.root)
        self.path = self.root / DB_NAME
        self.busy_timeout_s = float(busy_timeout_s)
        self._local = threading.local()
        self._init_schema()

    # -- connections -------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None or getattr(local, "pid", None) != os.getpid():
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_s,
                isolation_level=None,
                check_same_thread=True,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            local.conn = conn
            local.pid = os.getpid()
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local.conn = None

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction (``BEGIN IMMEDIATE``: takes the write lock up front)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _init_schema(self) -> None:
        with self._tx() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def __getstate__(self) -> None:
        raise TypeError("JobStore does not cross processes; pass its root and reopen it")

    # -- reading -------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        """The job ``job_id``.

        Raises
        ------
        UnknownJobError
            When no job has that id.
        """
        row = self._conn().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise UnknownJobError(f"no job with id {job_id!r} in {self.path}")
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
        rows = self._conn().execute(sql, (*params, int(limit))).fetchall()
        return [Job._from_row(r) for r in rows]

    def events(self, job_id: str, after_seq: int = 0, limit: int | None = None) -> list[dict]:
        """Events of ``job_id`` with ``seq > after_seq``, oldest first.

        Each event is its payload plus ``seq`` (1, 2, 3... per job, no gaps) and ``ts``
        (Unix time). Poll with the last ``seq`` seen to get only what is new.
        """
        conn = self._conn()
        sql = "SELECT seq, ts, payload FROM events WHERE job_id = ? AND seq > ? ORDER BY seq"
        params: tuple[Any, ...] = (job_id, int(after_seq))
        if limit is not None:
            sql += " LIMIT ?"
            params = (*params, int(limit))
        rows = conn.execute(sql, params).fetchall()
        if (
            not rows
            and conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None
        ):
            raise UnknownJobError(f"no job with id {job_id!r} in {self.path}")
        return [{**json.loads(r["payload"]), "seq": r["seq"], "ts": r["ts"]} for r in rows]

    def last_events(self, job_id: str, n: int = 10) -> list[dict]:
        """The last ``n`` events of ``job_id``, oldest first."""
        rows = (
            self._conn()
            .execute(
                "SELECT seq, ts, payload FROM events WHERE job_id = ? ORDER BY seq DESC LIMIT ?",
                (job_id, int(n)),
            )
            .fetchall()
        )
        if not rows:
            self.get(job_id)  # raises for an unknown id
        return [
            {**json.loads(r["payload"]), "seq": r["seq"], "ts": r["ts"]} for r in reversed(rows)
        ]

    def cancel_requested(self, job_id: str) -> bool:
        """Whether someone asked ``job_id`` to stop (or it is no longer running)."""
        row = (
            self._conn()
            .execute("SELECT cancel_requested, state FROM jobs WHERE id = ?", (job_id,))
            .fetchone()
        )
        if row is None:
            raise UnknownJobError(f"no job with id {job_id!r} in {self.path}")
        return bool(row["cancel_requested"]) or row["state"] in FINAL_STATES

    def running_count(self) -> int:
        """How many jobs are running right now."""
        row = self._conn().execute("SELECT COUNT(*) FROM jobs WHERE state = ?", (RUNNING,))
        return int(row.fetchone()[0])

    # -- writing -------------------------------------------------------------------------
    def submit(self, task: str, spec: dict[str, Any]) -> str:
        """Queue a job; returns its id.

        Parameters
        ----------
        task:
            ``"module.path:function"``; the function takes ``(spec, ctx)``.
        spec:
            JSON-able dict handed to the task.
        """
        if not isinstance(task, str) or ":" not in task:
            raise RecolabError(f"task must look like 'module.path:function', got {task!r}")
        if not isinstance(spec, dict):
            raise RecolabError(f"job spec must be a dict, got {type(spec).__name__}")
        spec_json = _dumps(spec, "job spec")
        job_id = uuid.uuid4().hex[:12]
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO jobs (id, task, spec, state, created) VALUES (?, ?, ?, ?, ?)",
                (job_id, task, spec_json, QUEUED, time.time()),
            )
        log.info("job %s queued (%s)", job_id, task)
        return job_id

    def resubmit(self, job_id: str) -> str:
        """Queue a new job with the task and spec of ``job_id``; returns the new id."""
        job = self.get(job_id)
        return self.submit(job.task, job.spec)

    def append_event(self, job_id: str, payload: dict[str, Any], *, heartbeat: bool = False) -> int:
        """Append an event to ``job_id``; returns its ``seq``.

        A payload with ``kind == "progress"`` also becomes the job's ``progress``.
        With ``heartbeat=True`` the job's heartbeat is refreshed in the same transaction.
        """
        if not isinstance(payload, dict):
            raise RecolabError(f"event payload must be a dict, got {type(payload).__name__}")
        payload_json = _dumps(payload, "event payload")
        now = time.time()
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None:
                raise UnknownJobError(f"no job with id {job_id!r} in {self.path}")
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

    def request_cancel(self, job_id: str) -> Job:
        """Ask ``job_id`` to stop.

        A queued job is cancelled at once; a running job gets ``cancel_requested`` and its
        worker stops it (cooperatively first, by force after a grace period); a finished
        job is left as it is. Returns the job after the request.
        """
        now = time.time()
        with self._tx() as conn:
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise UnknownJobError(f"no job with id {job_id!r} in {self.path}")
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
        log.info("cancel requested for job %s", job_id)
        return self.get(job_id)

    def claim_next(self, worker_pid: int, max_parallel: int = 1) -> Job | None:
        """Atomically move the oldest queued job to ``running`` for ``worker_pid``.

        Returns ``None`` when nothing is queued or ``max_parallel`` jobs already run.
        """
        now = time.time()
        with self._tx() as conn:
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
        log.info("job %s claimed by worker %d", row["id"], worker_pid)
        return self.get(row["id"])

    def mark_started(self, job_id: str, *, child_pid: int, device: str) -> None:
        """Record the job process and the device it trains on."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE jobs SET child_pid = ?, device = ?, heartbeat = ? WHERE id = ?",
                (int(child_pid), device, time.time(), job_id),
            )

    def heartbeat(self, job_id: str) -> bool:
        """Refresh the heartbeat of a running job; ``False`` when it is no longer running."""
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE jobs SET heartbeat = ? WHERE id = ? AND state = ?",
                (time.time(), job_id, RUNNING),
            )
            return cur.rowcount > 0

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
        with self._tx() as conn:
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise UnknownJobError(f"no job with id {job_id!r} in {self.path}")
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
        log.info("job %s %s%s", job_id, state, f": {error}" if error else "")
        return True

    def reap_stale(self, timeout_s: float = DEFAULT_STALE_S) -> list[str]:
        """Fail running jobs whose worker died or whose heartbeat is older than ``timeout_s``.

        Cheap enough to call from readers (the app, ``jobs wait``). Returns the reaped ids.
        """
        now = time.time()
        reaped = []
        rows = (
            self._conn()
            .execute(
                "SELECT id, worker_pid, heartbeat, started, created FROM jobs WHERE state = ?",
                (RUNNING,),
            )
            .fetchall()
        )
        for r in rows:
            last = r["heartbeat"] or r["started"] or r["created"]
            age = now - last
            pid = r["worker_pid"]
            if pid is not None and not pid_alive(pid):
                reason = f"worker died (pid {pid}) — no heartbeat for {age:.0f} s"
            elif age > timeout_s:
                reason = f"worker unresponsive (pid {pid}) — no heartbeat for {age:.0f} s"
            else:
                continue
            if self._finish_if_running_since(r["id"], last, reason):
                reaped.append(r["id"])
        return reaped

    def fail_orphans(self, current_worker_pid: int) -> list[str]:
        """Fail running jobs of any worker but ``current_worker_pid``.

        Only the worker holding the workspace lock may call this: it knows every other
        worker is dead.
        """
        now = time.time()
        reaped = []
        rows = (
            self._conn()
            .execute(
                "SELECT id, worker_pid, heartbeat, started, created FROM jobs"
                " WHERE state = ? AND (worker_pid IS NULL OR worker_pid != ?)",
                (RUNNING, int(current_worker_pid)),
            )
            .fetchall()
        )
        for r in rows:
            last = r["heartbeat"] or r["started"] or r["created"]
            reason = f"worker died (pid {r['worker_pid']}) — no heartbeat for {now - last:.0f} s"
            if self._finish_if_running_since(r["id"], last, reason):
                reaped.append(r["id"])
        return reaped

    def _finish_if_running_since(self, job_id: str, last: float, reason: str) -> bool:
        """Fail ``job_id`` unless it finished or beat again since we looked."""
        now = time.time()
        with self._tx() as conn:
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
        log.warning("job %s failed: %s", job_id, reason)
        return True

    def wait(self, job_id: str, timeout: float | None = None, poll_s: float = 0.25) -> Job:
        """Block until ``job_id`` is final or ``timeout`` seconds pass; returns the job.

        Jobs of dead workers are reaped while waiting, so this never hangs on a crash.
        Check :attr:`Job.done` to tell a timeout from completion.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        next_reap = 0.0
        while True:
            job = self.get(job_id)
            if job.done:
                return job
            if time.monotonic() >= next_reap:
                self.reap_stale()
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
