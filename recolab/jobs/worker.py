"""The worker: claims queued jobs and runs each in its own ``spawn``-ed process.

Process tree::

    worker (python -m recolab worker)       holds <root>/worker.lock, supervises
      └─ job process (multiprocessing spawn)  runs the task, trains, reports, beats

A job names a task of the allow-list in :mod:`recolab.jobs.tasks`; the worker looks the
name up and hands the job process the function registered for it, never a module path
taken from the job. A worker started on demand (:func:`ensure_worker`) exits after
:data:`AUTO_IDLE_EXIT_S` seconds with nothing to do.

The job process never imports streamlit (it is a fresh interpreter: ``spawn`` shares no
memory with the app, and CUDA works in it). It writes its log to ``jobs/<id>/log.txt``,
reports progress as events, beats a heartbeat from a thread every second and stops itself
if its worker dies. The worker turns every way a job process can end (clean finish,
exception, ``os._exit``, a kill signal, a cancel that is ignored) into one final state with
a reason, and on start fails the jobs left ``running`` by a dead predecessor.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import gc
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from recolab.errors import RecolabError, WorkspaceError
from recolab.jobs import tasks
from recolab.jobs.store import (
    CANCELLED,
    DEFAULT_STALE_S,
    FAILED,
    QUEUED,
    SUCCEEDED,
    Cancelled,
    Job,
    JobStore,
    pid_alive,
)
from recolab.jobs.workspace import (
    LOCK_NAME,
    WORKER_LOG_NAME,
    atomic_path,
    describe_os_error,
    job_dir,
    workspace_root,
)

log = logging.getLogger(__name__)

#: The task the ``train`` command and the app submit.
TRAINING_TASK = tasks.TRAINING_TASK
#: Seconds a worker started by :func:`ensure_worker` waits idle before it exits.
AUTO_IDLE_EXIT_S = 300.0
HEARTBEAT_S = 1.0
CANCEL_GRACE_S = 5.0
#: Seconds between two recorded points of one stage (see :meth:`JobContext.stage`).
STAGE_EVERY_S = 0.5
KILL_GRACE_S = 3.0
_EXIT_ORPHANED = 70

TaskFn = Callable[[dict[str, Any], "JobContext"], dict[str, Any] | None]


# ----------------------------------------------------------------------------------------
# What a task sees
# ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def _bare_main() -> Iterator[None]:
    """Start spawned job processes with an empty ``__main__``.

    ``spawn`` re-imports the launcher's ``__main__`` in the child. When the launcher's main
    module is a script (a Streamlit page run in-process leaves its script there), the job
    process would run that script again — and import streamlit. A bare module prevents it.
    """
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


class JobContext:
    """Handed to a task: report progress, check for cancellation, write artifacts.

    Parameters
    ----------
    job_id:
        The job being run.
    store:
        The job store (this process's own connection).
    artifact_dir:
        ``<workspace>/jobs/<job_id>``: write artifacts here, atomically
        (see :meth:`atomic_artifact`).
    device:
        ``"cuda"`` or ``"cpu"``: where to train.
    check_interval_s:
        :meth:`should_stop` reads the store at most this often.

    Examples
    --------
    A task::

        def my_task(spec: dict, ctx: JobContext) -> dict:
            for epoch in range(spec["epochs"]):
                for batch in batches:
                    if ctx.should_stop():
                        raise Cancelled()
                    ...
                ctx.progress({"epoch": epoch + 1, "loss": loss})
            with ctx.atomic_artifact("model.zip") as tmp:
                save(tmp)
            return {"bundle": str(ctx.artifact_path("model.zip"))}
    """

    def __init__(
        self,
        job_id: str,
        store: JobStore,
        artifact_dir: Path,
        device: str,
        *,
        check_interval_s: float = 0.5,
    ) -> None:
        self.job_id = job_id
        self.store = store
        self.artifact_dir = Path(artifact_dir)
        self.device = device
        self.check_interval_s = float(check_interval_s)
        self.log = logging.getLogger(f"recolab.jobs.job.{job_id}")
        self._t0 = time.monotonic()
        self._last_check = float("-inf")
        self._stop = False
        self._stage_last: dict[str, float] = {}

    @property
    def elapsed_s(self) -> float:
        """Seconds since the job process started the task."""
        return time.monotonic() - self._t0

    def progress(self, event: dict[str, Any]) -> int:
        """Record a progress event (``kind="progress"``, ``elapsed_s`` added); beats too.

        Returns the event's ``seq``.
        """
        payload = {"kind": "progress", **event}
        payload.setdefault("elapsed_s", round(self.elapsed_s, 3))
        return self.store.append_event(self.job_id, payload, heartbeat=True)

    def stage(
        self, stage: str, done: float = 0, total: float | None = None, **fields: Any
    ) -> int | None:
        """Record progress of a stage (``kind="stage"``, see :mod:`recolab.jobs.progress`);
        beats too. Between its first and last point a stage is recorded at most every
        :data:`STAGE_EVERY_S` seconds; returns the event's ``seq``, ``None`` when skipped.
        """
        now = time.monotonic()
        first = self._stage_last.get(stage) is None
        last_point = total is not None and done >= total
        if not (first or last_point) and now - self._stage_last[stage] < STAGE_EVERY_S:
            return None
        self._stage_last[stage] = now
        payload = {"kind": "stage", "stage": stage, "done": done, "total": total, **fields}
        return self.store.append_event(self.job_id, payload, heartbeat=True)

    def note(self, message: str, **fields: Any) -> int:
        """Record a note for the user (e.g. "no GPU found: training on CPU")."""
        self.log.info("%s", message)
        return self.store.append_event(self.job_id, {"kind": "note", "message": message, **fields})

    def should_stop(self) -> bool:
        """``True`` once the job was cancelled (reads the store at most every 0.5 s)."""
        if self._stop:
            return True
        now = time.monotonic()
        if now - self._last_check >= self.check_interval_s:
            self._last_check = now
            self._stop = self.store.cancel_requested(self.job_id)
        return self._stop

    def check_cancelled(self) -> None:
        """Raise :class:`~recolab.jobs.Cancelled` if :meth:`should_stop`."""
        if self.should_stop():
            raise Cancelled(f"job {self.job_id} cancelled")

    def artifact_path(self, name: str) -> Path:
        """``artifact_dir / name``."""
        return self.artifact_dir / name

    @contextlib.contextmanager
    def atomic_artifact(self, name: str) -> Iterator[Path]:
        """Yield a temporary path; renamed onto ``artifact_dir / name`` on success."""
        with atomic_path(self.artifact_path(name)) as tmp:
            yield tmp


# ----------------------------------------------------------------------------------------
# The job process
# ----------------------------------------------------------------------------------------
def resolve_device(requested: str | None) -> tuple[str, str | None]:
    """The device for a job and a note for the user or ``None``
    (:func:`recolab.device.device_choice`; imported here, so that importing the job store
    does not import torch)."""
    from recolab.device import device_choice

    return device_choice(requested)


def _is_cuda_oom(exc: BaseException) -> bool:
    torch = sys.modules.get("torch")
    oom_type = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "CUDA out of memory" in str(exc)


def _free_cuda_memory() -> None:
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _missing_input(spec: dict[str, Any], when: str) -> str | None:
    """Why the job can no longer read an input file its spec names (``None`` while they
    are all there): its dataset was deleted, or the file moved, ``when`` (e.g. "while the
    job ran")."""
    from recolab.jobs.specs import PATH_KEYS

    for key in PATH_KEYS:
        value = spec.get(key)
        if isinstance(value, str) and value and not Path(value).is_file():
            owner = spec.get("dataset")
            whose = f"dataset {owner}" if isinstance(owner, str) and owner else "the file"
            return f"its {key} file {value} is gone ({whose} was deleted or moved {when})"
    return None


def _execute(store: JobStore, job: Job, artifact_dir: Path, task: tasks.Task) -> None:
    """Run ``job`` (the registered ``task``) in this process and record its final state
    (never raises)."""
    try:
        device, device_note = resolve_device(job.spec.get("device"))
        store.mark_started(job.id, child_pid=os.getpid(), device=device)
        ctx = JobContext(job.id, store, artifact_dir, device)
        if device_note:
            ctx.note(device_note)
        fn: TaskFn = tasks.load(task)
    except Exception as exc:
        log.exception("job %s could not start", job.id)
        store.finish(job.id, FAILED, error=_describe(exc))
        return

    gone = _missing_input(job.spec, "after the job was queued")
    if gone:
        log.error("job %s: %s", job.id, gone)
        store.finish(job.id, FAILED, error=f"cannot start: {gone}; nothing was trained")
        return
    spec = copy.deepcopy(job.spec)
    retried_oom = False
    while True:
        try:
            result = fn(spec, ctx)
            if result is not None and not isinstance(result, dict):
                raise RecolabError(f"task returned {type(result).__name__}, expected a dict")
            store.finish(job.id, SUCCEEDED, result=result or {})
            return
        except Cancelled:
            log.info("job %s stopped on request", job.id)
            store.finish(job.id, CANCELLED, error="cancelled on request")
            return
        except BaseException as exc:
            if not _is_cuda_oom(exc):
                log.error("job %s failed", job.id, exc_info=exc)
                gone = _missing_input(spec, "while the job ran")  # the likely cause, in words
                why = f"{gone}: {_describe(exc)}" if gone else _describe(exc)
                store.finish(job.id, FAILED, error=why)
                return
            log.warning("job %s: %s", job.id, _describe(exc))
        # CUDA ran out of memory; outside the except block, so the frames holding the
        # tensors are gone before the cache is emptied.
        _free_cuda_memory()
        config = spec.get("config")
        batch = config.get("batch_size") if isinstance(config, dict) else None
        if not retried_oom and isinstance(config, dict) and isinstance(batch, int) and batch >= 2:
            retried_oom = True
            config["batch_size"] = batch // 2
            msg = f"CUDA out of memory at batch_size {batch}: retrying with {batch // 2}"
            log.warning("job %s: %s", job.id, msg)
            store.append_event(
                job.id,
                {"kind": "retry", "reason": "cuda_oom", "message": msg, "batch_size": batch // 2},
            )
            continue
        if retried_oom:
            why = f"even after halving batch_size to {batch}"
        elif isinstance(batch, int):
            why = f"at batch_size {batch}"
        else:
            why = "and there is no config.batch_size to halve"
        store.finish(
            job.id,
            FAILED,
            error=f"CUDA out of memory on {ctx.device} {why}; lower batch_size, use a smaller "
            "model, or train with --device cpu",
        )
        return


def _parent_alive(worker_pid: int) -> bool:
    parent = multiprocessing.parent_process()
    if parent is not None and not parent.is_alive():
        return False
    return os.getppid() == worker_pid


def _heartbeat_loop(store: JobStore, job_id: str, worker_pid: int, stop: threading.Event) -> None:
    """Beat every second; end this process if the worker died (nobody would supervise it)."""
    while not stop.wait(HEARTBEAT_S):
        try:
            if not _parent_alive(worker_pid):
                reason = f"worker died (pid {worker_pid}) — job process {os.getpid()} stopped"
                log.error("job %s: %s", job_id, reason)
                store.finish(job_id, FAILED, error=reason)
                logging.shutdown()
                os._exit(_EXIT_ORPHANED)
            store.heartbeat(job_id)
        except Exception:  # a busy database must not kill the beat
            log.exception("heartbeat for job %s failed", job_id)


def _setup_child_logging(path: Path) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)


def _child_main(root: str, job_id: str, worker_pid: int, task: tasks.Task) -> None:
    """Entry point of the job process (module level so ``spawn`` can import it); ``task``
    is the registered task the worker looked up for the job."""
    # Ctrl-C in a terminal reaches the whole process group: let the worker decide.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    artifact_dir = job_dir(Path(root), job_id)
    _setup_child_logging(artifact_dir / "log.txt")
    store = JobStore(root)
    job = store.get(job_id)
    log.info("job %s started in process %d (task %s)", job_id, os.getpid(), job.task)
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat_loop,
        args=(store, job_id, worker_pid, stop),
        daemon=True,
        name="heartbeat",
    )
    beat.start()
    try:
        _execute(store, job, artifact_dir, task)
    finally:
        stop.set()
        beat.join(timeout=5)
        log.info("job %s process exiting", job_id)
        logging.shutdown()


# ----------------------------------------------------------------------------------------
# The worker
# ----------------------------------------------------------------------------------------
@dataclass
class _Child:
    job_id: str
    process: BaseProcess
    cancel_seen: float | None = None
    done_seen: float | None = None
    terminated: float | None = None
    forced_reason: str | None = None


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    if code == _EXIT_ORPHANED:
        return "stopped because its worker died"
    return f"exited with code {code}"


class _WorkerLock:
    """``flock`` on ``<root>/worker.lock``: released by the kernel when the worker dies."""

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_NAME
        self.fd: int | None = None

    def acquire(self, wait_s: float = 2.0) -> bool:
        """Take the lock; retries for ``wait_s`` because probes hold it for an instant."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WorkspaceError(
                f"cannot take the worker lock {self.path}: {describe_os_error(exc)}"
            ) from exc
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None


def live_worker_pid(root: str | os.PathLike[str] | None = None) -> int | None:
    """The pid of the live worker of this workspace, or ``None`` when none runs."""
    try:
        path = workspace_root(root, create=False) / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except (OSError, WorkspaceError):  # no workspace, or one we cannot write: no worker
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


_started: list[subprocess.Popen[bytes]] = []
_STARTING_NAME = "worker.starting"
_STARTING_S = 30.0


def ensure_worker(
    root: str | os.PathLike[str] | None = None,
    max_parallel: int = 1,
    *,
    idle_exit_s: float | None = AUTO_IDLE_EXIT_S,
) -> int | None:
    """Start a detached worker for the workspace unless one is alive.

    The worker runs ``python -m recolab worker`` in its own session (it outlives the app
    or CLI that started it); its output goes to ``<root>/worker.log``. It exits after
    ``idle_exit_s`` seconds with nothing queued or running (``None``: it never does).

    Returns
    -------
    int or None
        The pid of the worker started, or ``None`` when one was already running.
    """
    for proc in list(_started):  # reap workers we started that have exited
        if proc.poll() is not None:
            _started.remove(proc)
    root = workspace_root(root)
    if live_worker_pid(root) is not None:
        return None
    starting = root / _STARTING_NAME
    with contextlib.suppress(OSError, ValueError):
        pid_text, ts_text = starting.read_text().split()
        if time.time() - float(ts_text) < _STARTING_S and pid_alive(int(pid_text)):
            return None  # started moments ago and still taking the lock
    cmd = [
        sys.executable,
        "-m",
        "recolab",
        "worker",
        "--home",
        str(root),
        "--max-parallel",
        str(int(max_parallel)),
    ]
    if idle_exit_s is not None:
        cmd += ["--idle-exit", str(float(idle_exit_s))]
    with open(root / WORKER_LOG_NAME, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _started.append(proc)
    with atomic_path(starting) as tmp:
        tmp.write_text(f"{proc.pid} {time.time()}\n")
    log.info("started worker pid %d for %s", proc.pid, root)
    return proc.pid


class _Worker:
    def __init__(
        self,
        root: Path,
        max_parallel: int,
        poll_s: float,
        cancel_grace_s: float,
        stale_s: float,
    ) -> None:
        self.root = root
        self.store = JobStore(root)
        self.max_parallel = max(1, int(max_parallel))
        self.poll_s = poll_s
        self.cancel_grace_s = cancel_grace_s
        self.stale_s = stale_s
        self.children: dict[str, _Child] = {}
        self.stop = threading.Event()
        self.stop_reason = "worker stopped"
        self.mp = multiprocessing.get_context("spawn")

    def start_child(self, job: Job) -> None:
        try:
            task = tasks.get(job.task)
        except RecolabError as exc:  # e.g. a store written by a version with other tasks
            log.error("job %s: %s", job.id, exc)
            self.store.finish(job.id, FAILED, error=str(exc))
            return
        proc = self.mp.Process(
            target=_child_main,
            # name and target only: what the job process imports is the registered target
            args=(str(self.root), job.id, os.getpid(), tasks.Task(task.name, task.target)),
            name=f"recolab-job-{job.id}",
            daemon=False,
        )
        try:
            with _bare_main():
                proc.start()
        except Exception as exc:
            log.exception("could not start a process for job %s", job.id)
            self.store.finish(job.id, FAILED, error=f"could not start job process: {exc}")
            return
        log.info("job %s running in process %d", job.id, proc.pid)
        self.children[job.id] = _Child(job.id, proc)

    def supervise(self) -> None:
        now = time.monotonic()
        for job_id, child in list(self.children.items()):
            proc = child.process
            if not proc.is_alive():
                proc.join()
                job = self.store.get(job_id)
                if not job.done:
                    if job.cancel_requested:
                        self.store.finish(
                            job_id, CANCELLED, error=child.forced_reason or "cancelled on request"
                        )
                    else:
                        self.store.finish(
                            job_id,
                            FAILED,
                            error=f"job process (pid {proc.pid}) {_exit_reason(proc.exitcode)}"
                            " before finishing the job",
                        )
                with contextlib.suppress(Exception):
                    proc.close()
                del self.children[job_id]
                continue
            job = self.store.get(job_id)
            if job.done:
                # finished (by itself or by a reaper) but still alive: let it exit, then force
                child.done_seen = child.done_seen or now
                if now - child.done_seen > self.cancel_grace_s:
                    self._terminate(child, now)
            elif job.cancel_requested:
                child.cancel_seen = child.cancel_seen or now
                if now - child.cancel_seen > self.cancel_grace_s:
                    child.forced_reason = (
                        f"cancelled: the job did not stop within {self.cancel_grace_s:g} s "
                        "and its process was terminated"
                    )
                    self._terminate(child, now)

    def _terminate(self, child: _Child, now: float) -> None:
        if child.terminated is None:
            log.warning("terminating process %s of job %s", child.process.pid, child.job_id)
            child.process.terminate()
            child.terminated = now
        elif now - child.terminated > KILL_GRACE_S:
            child.process.kill()

    def claim(self) -> bool:
        claimed = False
        while len(self.children) < self.max_parallel and not self.stop.is_set():
            job = self.store.claim_next(os.getpid(), self.max_parallel)
            if job is None:
                break
            self.start_child(job)
            claimed = True
        return claimed

    def queued(self) -> int:
        return len(self.store.list(limit=1, state=QUEUED))

    def shutdown(self) -> None:
        for child in self.children.values():
            if child.process.is_alive():
                child.process.terminate()
        deadline = time.monotonic() + KILL_GRACE_S
        for child in self.children.values():
            child.process.join(max(0.0, deadline - time.monotonic()))
            if child.process.is_alive():
                child.process.kill()
                child.process.join(2)
            self.store.finish(
                child.job_id, FAILED, error=f"{self.stop_reason} while the job was running"
            )
        self.children.clear()
        self.store.close()


def run_worker(
    root: str | os.PathLike[str] | None = None,
    max_parallel: int = 1,
    poll_s: float = 0.5,
    once: bool = False,
    idle_exit_s: float | None = None,
    *,
    cancel_grace_s: float = CANCEL_GRACE_S,
    stale_s: float = DEFAULT_STALE_S,
) -> int:
    """Run the worker loop for a workspace until stopped.

    Parameters
    ----------
    root:
        Workspace folder (default ``$RECOLAB_HOME`` or ``./workspace``).
    max_parallel:
        Jobs running at once (each in its own process).
    poll_s:
        Seconds between looks at the store.
    once:
        Return when nothing is queued or running any more (for tests and batch use).
    idle_exit_s:
        Return after this many seconds with nothing to do (``None``: never).
    cancel_grace_s:
        Seconds a cancelled job gets to stop by itself before its process is terminated.
    stale_s:
        A running job whose heartbeat is older than this is failed as unresponsive.

    Returns
    -------
    int
        0; also when another worker already holds the workspace (this one then does nothing).
    """
    root_path = workspace_root(root)
    lock = _WorkerLock(root_path)
    if not lock.acquire():
        log.info(
            "a worker is already running for %s (pid %s)", root_path, live_worker_pid(root_path)
        )
        return 0
    worker = _Worker(root_path, max_parallel, poll_s, cancel_grace_s, stale_s)
    restore = _install_signal_handlers(worker)
    try:
        _take_over(worker, root_path)
        idle_since = time.monotonic()
        next_reap = 0.0
        while not worker.stop.is_set():
            worker.supervise()
            worker.claim()
            now = time.monotonic()
            if now >= next_reap:
                worker.store.reap_stale(stale_s)
                next_reap = now + max(1.0, stale_s / 4)
            if worker.children:
                idle_since = now
            elif once and worker.queued() == 0:
                break
            elif idle_exit_s is not None and now - idle_since >= idle_exit_s:
                # Give the lock back first, then look once more: a job submitted meanwhile
                # is either seen here or finds no worker and starts a new one.
                lock.release()
                if worker.queued() and lock.acquire():
                    idle_since = time.monotonic()
                    continue
                log.info("worker %d idle for %.0f s: exiting", os.getpid(), idle_exit_s)
                break
            worker.stop.wait(poll_s)
    finally:
        worker.shutdown()
        restore()
        lock.release()
    return 0


def _take_over(worker: _Worker, root_path: Path) -> None:
    """Fail the jobs a dead worker left running, then say that this one serves the folder."""
    orphans = worker.store.fail_orphans(os.getpid())
    if orphans:
        log.warning(
            "failed %d job(s) left running by a dead worker: %s", len(orphans), ", ".join(orphans)
        )
    log.info("worker %d serving %s (max_parallel=%d)", os.getpid(), root_path, worker.max_parallel)


def _install_signal_handlers(worker: _Worker) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, _frame: object) -> None:
        worker.stop_reason = f"worker stopped by {signal.Signals(signum).name}"
        worker.stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for s, h in previous.items():
            signal.signal(s, h)

    return restore
