"""``python -m recolab worker``: run the background job worker for a workspace."""

from __future__ import annotations

import argparse

from recolab.cli import float_in, int_in
from recolab.jobs import AUTO_IDLE_EXIT_S, run_worker, workspace_root
from recolab.jobs.store import DEFAULT_STALE_S
from recolab.jobs.worker import CANCEL_GRACE_S

NAME = "worker"
HELP = "run the background job worker (claims queued jobs, one process per job)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the worker's options."""
    p.add_argument("--home", help="workspace folder (default $RECOLAB_HOME or ./workspace)")
    p.add_argument(
        "--max-parallel", type=int_in(1, 64), default=1, metavar="N", help="jobs at once"
    )
    p.add_argument("--once", action="store_true", help="exit when nothing is queued or running")
    p.add_argument(
        "--idle-exit",
        type=float_in(0.0),
        default=None,
        metavar="S",
        help="exit after S seconds with nothing to do (default: never; workers the app or "
        f"`jobs submit` start use {AUTO_IDLE_EXIT_S:g})",
    )
    p.add_argument("--poll", type=float_in(0.0, lo_open=True), default=0.5, help=argparse.SUPPRESS)
    p.add_argument(
        "--cancel-grace", type=float_in(0.0), default=CANCEL_GRACE_S, help=argparse.SUPPRESS
    )
    p.add_argument(
        "--stale", type=float_in(0.0, lo_open=True), default=DEFAULT_STALE_S, help=argparse.SUPPRESS
    )


def run(args: argparse.Namespace) -> int:
    """Run the worker until it is stopped (or, with ``--once``, until the queue is empty,
    or with ``--idle-exit``, after that long with nothing to do)."""
    return run_worker(
        workspace_root(args.home),
        max_parallel=args.max_parallel,
        poll_s=args.poll,
        once=args.once,
        idle_exit_s=args.idle_exit,
        cancel_grace_s=args.cancel_grace,
        stale_s=args.stale,
    )
