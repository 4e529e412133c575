"""What torchrun starts on each rank: ``python -m recolab.distributed.ranks MODE ...``.

- ``cli ARGS.json``: ``recolab train`` with the parsed arguments the launching command wrote
  (:func:`recolab.commands.train.run` joins the process group itself).
- ``job ROOT JOB_ID DEVICE``: the dashboard's training job ``JOB_ID`` of the workspace
  ``ROOT``: rank 0 reports progress to the job store and writes the job's artifacts; the other
  ranks compute their shares and write nothing (:class:`FollowerContext`).

Every failure ends the rank with one logged line and a non-zero status, after
:func:`~recolab.distributed.runtime.rank_session` recorded it for the launcher.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["FollowerContext", "main"]

log = logging.getLogger(__name__)


class FollowerContext:
    """The job context of a rank other than 0: the same interface as
    :class:`recolab.jobs.worker.JobContext`, reporting nothing and writing only to a
    throw-away folder; rank 0 decides on cancellation for every rank."""

    def __init__(self, device: str, scratch: Path) -> None:
        self.device = device
        self.artifact_dir = scratch
        self.elapsed_s = 0.0

    def progress(self, event: dict[str, Any]) -> int:
        """Ignored."""
        return 0

    def stage(self, stage: str, done: float = 0, total: float | None = None, **kw: Any) -> int:
        """Ignored."""
        return 0

    def note(self, message: str, **fields: Any) -> int:
        """Ignored."""
        return 0

    def should_stop(self) -> bool:
        """Never: rank 0's answer is the one every rank follows."""
        return False

    def check_cancelled(self) -> None:
        """Nothing to check (see :meth:`should_stop`)."""

    def artifact_path(self, name: str) -> Path:
        """A path in the throw-away folder."""
        return self.artifact_dir / name

    @contextmanager
    def atomic_artifact(self, name: str) -> Iterator[Path]:
        """A path in the throw-away folder."""
        yield self.artifact_dir / name


def _run_cli(args_file: str) -> int:
    from recolab.cli import report_error
    from recolab.commands.train import run
    from recolab.distributed.runtime import record_failure

    values = json.loads(Path(args_file).read_text(encoding="utf-8"))
    try:
        return int(run(argparse.Namespace(**values)) or 0)
    except Exception as exc:  # loading the data comes before the process group
        record_failure(exc)
        return report_error(exc, verbose=bool(values.get("verbose")))


def _run_job(root: str, job_id: str, device: str) -> int:
    from recolab.cli import report_error
    from recolab.distributed.runtime import rank_session, record_failure
    from recolab.jobs.store import JobStore
    from recolab.jobs.worker import JobContext
    from recolab.jobs.workspace import job_dir
    from recolab.pipeline import run_training_job

    store = JobStore(root)
    spec = store.get(job_id).spec
    try:
        with rank_session(device) as writes, tempfile.TemporaryDirectory() as scratch:
            ctx: Any = (
                JobContext(job_id, store, job_dir(Path(root), job_id), device)
                if writes
                else FollowerContext(device, Path(scratch))
            )
            run_training_job(spec, ctx)
        return 0
    except Exception as exc:
        record_failure(exc)
        return report_error(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one rank (see the module docstring); returns its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    rank = os.environ.get("RANK", "?")
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(levelname)s rank {rank} %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if argv[:1] == ["cli"] and len(argv) == 2:
        return _run_cli(argv[1])
    if argv[:1] == ["job"] and len(argv) == 4:
        return _run_job(*argv[1:])
    log.error("usage: python -m recolab.distributed.ranks cli ARGS.json | job ROOT JOB DEVICE")
    return 2


if __name__ == "__main__":
    sys.exit(main())
