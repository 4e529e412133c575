"""``python -m recolab jobs``: submit, list, show, cancel and wait for background jobs."""

from __future__ import annotations

import argparse
import json
import time
import tomllib
from pathlib import Path
from typing import Any

from recolab.cli import emit, users_mapping
from recolab.errors import RecolabError
from recolab.jobs import TRAINING_TASK, Job, JobStore, ensure_worker, job_dir, workspace_root

NAME = "jobs"
HELP = "background jobs: submit a training run, list, show, cancel, wait"


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
    s.add_argument("--config", help="training config (TOML)")
    s.add_argument("--epochs", type=int, help="override config epochs")
    s.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    s.add_argument("--no-worker", action="store_true", help="do not start a worker")
    s.add_argument("--max-parallel", type=int, default=1, help="for a worker started now")
    s.add_argument("--task", default=TRAINING_TASK, help=argparse.SUPPRESS)
    s.add_argument("--spec-json", default=None, help=argparse.SUPPRESS)

    ls = sub.add_parser("list", help="the latest jobs")
    _home(ls)
    ls.add_argument("--state", choices=("queued", "running", "succeeded", "failed", "cancelled"))
    ls.add_argument("--limit", type=int, default=50)

    sh = sub.add_parser("show", help="one job: state, spec, last events, error, result")
    _home(sh)
    sh.add_argument("job_id", metavar="ID")
    sh.add_argument("--events", type=int, default=10, metavar="N", help="last N events")
    sh.add_argument("--json", action="store_true", help="print JSON")

    c = sub.add_parser("cancel", help="ask a job to stop")
    _home(c)
    c.add_argument("job_id", metavar="ID")

    w = sub.add_parser("wait", help="wait for a job; exit 0 if it succeeded, 1 otherwise")
    _home(w)
    w.add_argument("job_id", metavar="ID")
    w.add_argument("--timeout", type=float, default=None, metavar="S")


def _abs(path: str | None, what: str) -> str | None:
    if path is None:
        return None
    p = Path(path).expanduser().resolve()
    if not p.exists():
        raise RecolabError(f"{what} file not found: {path}")
    return str(p)


def build_spec(args: argparse.Namespace) -> dict[str, Any]:
    """The job spec of ``jobs submit``: absolute paths, the TOML config, flag overrides."""
    config: dict[str, Any] = {}
    if args.config:
        cfg_path = _abs(args.config, "config")
        assert cfg_path is not None
        try:
            with open(cfg_path, "rb") as fh:
                config = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise RecolabError(f"config {args.config}: not valid TOML: {exc}") from exc
    if args.epochs is not None:
        if args.epochs < 1:
            raise RecolabError(f"--epochs must be at least 1, got {args.epochs}")
        config["epochs"] = args.epochs
    spec: dict[str, Any] = {"train": _abs(args.train, "train"), "config": config}
    for key in ("items", "users", "valid"):
        value = _abs(getattr(args, key), key)
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
    log_path = job_dir(store.root, job.id) / "log.txt"
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


def run(args: argparse.Namespace) -> int:
    """Dispatch ``jobs ACTION``."""
    root = workspace_root(args.home)
    store = JobStore(root)
    action = args.jobs_command
    if action == "submit":
        job_id = store.submit(args.task, build_spec(args))
        if not args.no_worker:
            ensure_worker(root, max_parallel=args.max_parallel)
        emit(job_id)
        return 0
    if action == "list":
        store.reap_stale()
        jobs = store.list(limit=args.limit, state=args.state)
        rows = [[j.id, j.state, _ts(j.created), _epoch(j), j.device or "-"] for j in jobs]
        _print_table(rows, ["ID", "STATE", "CREATED", "EPOCH", "DEVICE"])
        return 0
    if action == "show":
        store.reap_stale()
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
