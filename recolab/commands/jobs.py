"""``python -m recolab jobs``: submit, list, show, cancel, retry and wait for background jobs.

``list``, ``show`` and ``wait`` only read the store: they work on a read-only workspace and
while another process holds the store's write lock. ``submit`` and ``retry`` check the spec
(config table, types, input files) before anything is queued.
"""

from __future__ import annotations

import argparse
import json
import time
import tomllib
from pathlib import Path
from typing import Any

from recolab.cli import emit, float_in, int_in, users_mapping
from recolab.errors import RecolabError
from recolab.jobs import (
    AUTO_IDLE_EXIT_S,
    TRAINING_TASK,
    Job,
    JobStore,
    ensure_worker,
    job_dir,
    workspace_root,
)
from recolab.jobs.specs import train_config_table
from recolab.jobs.tasks import JobSpecError

NAME = "jobs"
HELP = "background jobs: submit a training run, list, show, cancel, retry, wait"


def _home(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", help="workspace folder (default $RECOLAB_HOME or ./workspace)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register ``jobs submit|list|show|cancel|wait``."""
    sub = p.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")

    s = sub.add_parser("submit", help="queue a training job; prints its id")
    _home(s)
    s.add_argument("--train", required=True, help="training interactions file")
    s.add_argument("--items", help="item file (ids, texts, categories)")
    s.add_argument("--users", help="user attributes file (user id, then attribute columns)")
    s.add_argument(
        "--users-id-column", metavar="COLUMN", help="its user id column (default: by name)"
    )
    s.add_argument("--valid", help="validation interactions file")
    s.add_argument(
        "--config", help="training config (TOML: a [train] table, or options at the top level)"
    )
    s.add_argument("--epochs", type=int_in(1), help="override config epochs")
    s.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    _worker_options(s)
    # a registered task name (tests register theirs); never a module path
    s.add_argument("--task", default=TRAINING_TASK, help=argparse.SUPPRESS)
    s.add_argument("--spec-json", default=None, help=argparse.SUPPRESS)

    ls = sub.add_parser("list", help="the latest jobs")
    _home(ls)
    ls.add_argument("--state", choices=("queued", "running", "succeeded", "failed", "cancelled"))
    ls.add_argument("--limit", type=int_in(1), default=50)

    sh = sub.add_parser("show", help="one job: state, spec, last events, error, result")
    _home(sh)
    sh.add_argument("job_id", metavar="ID")
    sh.add_argument("--events", type=int_in(0), default=10, metavar="N", help="last N events")
    sh.add_argument("--json", action="store_true", help="print JSON")

    c = sub.add_parser("cancel", help="ask a job to stop")
    _home(c)
    c.add_argument("job_id", metavar="ID")

    r = sub.add_parser(
        "retry",
        help="queue a NEW job with the task and spec of a finished one (checked again); "
        "prints the new id",
    )
    _home(r)
    r.add_argument("job_id", metavar="ID")
    _worker_options(r)

    w = sub.add_parser("wait", help="wait for a job; exit 0 if it succeeded, 1 otherwise")
    _home(w)
    w.add_argument("job_id", metavar="ID")
    w.add_argument("--timeout", type=float_in(0.0), default=None, metavar="S")


def _worker_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-worker", action="store_true", help="do not start a worker")
    p.add_argument("--max-parallel", type=int_in(1, 64), default=1, help="for a worker started now")
    p.add_argument(
        "--idle-exit",
        type=float_in(0.0),
        default=AUTO_IDLE_EXIT_S,
        metavar="S",
        help=f"a worker started now exits after S idle seconds (default {AUTO_IDLE_EXIT_S:g})",
    )


def _read_config(path: str) -> dict[str, Any]:
    """The training options of a TOML file: its ``[train]`` table or its top level."""
    try:
        with open(Path(path).expanduser(), "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise RecolabError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RecolabError(f"config {path}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RecolabError(f"config {path}: cannot read it: {exc}") from exc
    try:
        return train_config_table(data, f"config {path}")
    except JobSpecError as exc:
        raise RecolabError(str(exc).removeprefix("job spec: ")) from None


def build_spec(args: argparse.Namespace) -> dict[str, Any]:
    """The job spec of ``jobs submit``: the files, the TOML config, flag overrides.

    Paths are made absolute and checked, and the config's keys and types, when the store
    validates the spec at submit (see :mod:`recolab.jobs.specs`)."""
    config: dict[str, Any] = _read_config(args.config) if args.config else {}
    if args.epochs is not None:
        config["epochs"] = args.epochs
    spec: dict[str, Any] = {"train": args.train, "config": config}
    for key in ("items", "users", "valid"):
        value = getattr(args, key)
        if value is not None:
            spec[key] = value
    mapping = users_mapping(spec.get("users"), args.users_id_column)
    if mapping is not None:
        spec["users_mapping"] = mapping
    spec["device"] = args.device
    if args.spec_json:
        try:
            extra = json.loads(args.spec_json)
        except json.JSONDecodeError as exc:
            raise RecolabError(f"--spec-json is not valid JSON: {exc}") from exc
        if not isinstance(extra, dict):
            raise RecolabError("--spec-json must be a JSON object")
        spec.update(extra)
    return spec


def _ts(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _epoch(job: Job) -> str:
    prog = job.progress or {}
    if "epoch" not in prog:
        return "-"
    total = prog.get("epochs") or prog.get("n_epochs")
    return f"{prog['epoch']}/{total}" if total else str(prog["epoch"])


def _print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        emit("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def _show(store: JobStore, job: Job, n_events: int, as_json: bool) -> None:
    events = store.last_events(job.id, n_events) if n_events > 0 else []
    log_path = job_dir(store.root, job.id, create=False) / "log.txt"
    if as_json:
        emit(json.dumps({**job.to_dict(), "events": events, "log": str(log_path)}, indent=2))
        return
    elapsed = job.elapsed_s
    lines = [
        ("id", job.id),
        (
            "state",
            job.state + (" (cancel requested)" if job.cancel_requested and not job.done else ""),
        ),
        ("task", job.task),
        ("device", job.device or "-"),
        ("created", _ts(job.created)),
        ("started", _ts(job.started)),
        ("finished", _ts(job.finished)),
        ("elapsed", "-" if elapsed is None else f"{elapsed:.1f} s"),
        ("attempts", str(job.attempts)),
        ("epoch", _epoch(job)),
        ("log", str(log_path)),
    ]
    if job.error:
        lines.append(("error", job.error))
    if job.result is not None and job.result.get("bundle"):
        lines.append(("bundle", str(job.result["bundle"])))
    for k, v in lines:
        emit(f"{k + ':':<10} {v}")
    emit("spec:")
    emit("  " + json.dumps(job.spec, indent=2, sort_keys=True).replace("\n", "\n  "))
    if job.result is not None:
        emit("result:")
        emit("  " + json.dumps(job.result, indent=2, sort_keys=True).replace("\n", "\n  "))
    if events:
        emit(f"last {len(events)} events:")
        for e in events:
            body = {k: v for k, v in e.items() if k not in ("seq", "ts")}
            emit(f"  #{e['seq']:<5} {_ts(e['ts'])}  {json.dumps(body, sort_keys=True)}")


def _start_worker(root: Path, job_id: str, args: argparse.Namespace) -> None:
    if args.no_worker:
        return
    try:
        ensure_worker(root, max_parallel=args.max_parallel, idle_exit_s=args.idle_exit)
    except (OSError, RecolabError) as exc:
        raise RecolabError(
            f"job {job_id} is queued, but no worker could be started ({exc}); "
            "run `python -m recolab worker` to run it"
        ) from exc


def _retry(store: JobStore, job_id: str) -> str:
    job = store.get(job_id)
    if not job.done:
        raise RecolabError(
            f"job {job_id} is still {job.state}: only a finished job can be retried "
            "(cancel it first)"
        )
    return store.resubmit(job_id)


def run(args: argparse.Namespace) -> int:
    """Dispatch ``jobs ACTION``."""
    action = args.jobs_command
    writes = action in ("submit", "retry", "cancel")
    root = workspace_root(args.home, create=writes)
    store = JobStore(root)
    if action in ("submit", "retry"):
        if action == "submit":
            job_id = store.submit(args.task, build_spec(args))
        else:
            job_id = _retry(store, args.job_id)
        _start_worker(root, job_id, args)
        emit(job_id)
        return 0
    if action == "list":
        store.reap_stale(best_effort=True)
        jobs = store.list(limit=args.limit, state=args.state)
        rows = [[j.id, j.state, _ts(j.created), _epoch(j), j.device or "-"] for j in jobs]
        _print_table(rows, ["ID", "STATE", "CREATED", "EPOCH", "DEVICE"])
        return 0
    if action == "show":
        store.reap_stale(best_effort=True)
        _show(store, store.get(args.job_id), args.events, args.json)
        return 0
    if action == "cancel":
        job = store.request_cancel(args.job_id)
        if job.done:
            emit(f"{job.id} {job.state}")
        else:
            emit(f"{job.id} cancel requested")
        return 0
    if action == "wait":
        job = store.wait(args.job_id, timeout=args.timeout)
        if not job.done:
            emit(f"{job.id} still {job.state} after {args.timeout:g} s")
            return 1
        emit(f"{job.id} {job.state}" + (f": {job.error}" if job.error else ""))
        return 0 if job.state == "succeeded" else 1
    raise RecolabError(f"unknown jobs action {action!r}")
