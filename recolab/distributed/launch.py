"""Starting the ranks of a distributed run through torchrun's own launcher.

:func:`launch` builds the arguments ``torchrun`` would get (:meth:`LaunchPlan.torchrun_args`,
so the same run can be started by hand) and runs them with :mod:`torch.distributed.run`'s API
in this process: its elastic agent starts the ranks, watches them, and stops them all when
one fails. A failure comes back as one line naming the rank and its error (the rank recorded
it, :func:`recolab.distributed.runtime.rank_session`), or the signal that killed it.
"""

from __future__ import annotations

import logging
import os
import shlex
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recolab.errors import Cancelled, DataError, TrainingError

__all__ = ["LaunchPlan", "launch", "launch_cli", "launch_job"]

log = logging.getLogger(__name__)

#: The module torchrun starts on every rank.
RANK_MODULE = "recolab.distributed.ranks"


@dataclass(frozen=True)
class LaunchPlan:
    """Where the ranks run.

    Parameters
    ----------
    nproc:
        Processes on this machine (one per GPU with CUDA).
    nnodes:
        Machines in the run; each starts the same command with its own ``node_rank``.
    node_rank:
        This machine's index, 0 … nnodes − 1 (0 hosts the rendezvous).
    master_addr, master_port:
        Address and port of machine 0 (needed with several machines; one machine picks a
        free port itself).
    """

    nproc: int = 1
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str | None = None
    master_port: int | None = None

    def __post_init__(self) -> None:
        if self.nproc < 1 or self.nnodes < 1:
            raise DataError(f"--nproc and --nnodes must be ≥ 1, got {self.nproc}, {self.nnodes}")
        if not 0 <= self.node_rank < self.nnodes:
            raise DataError(f"--node-rank must be in 0 … {self.nnodes - 1}, got {self.node_rank}")
        if self.nnodes > 1 and (self.master_addr is None or self.master_port is None):
            raise DataError("several machines (--nnodes > 1) need --master-addr and --master-port")
        if self.master_port is not None and not 0 < self.master_port < 65536:
            raise DataError(f"--master-port must be a port number, got {self.master_port}")

    @property
    def world_size(self) -> int:
        """Ranks in the whole run."""
        return self.nproc * self.nnodes

    @property
    def distributed(self) -> bool:
        """Whether the plan needs more than this one process."""
        return self.world_size > 1

    def torchrun_args(self, entry: Sequence[str]) -> list[str]:
        """``torchrun`` arguments that start ``python -m`` ``entry`` on every rank."""
        args = ["--nnodes", str(self.nnodes), "--nproc-per-node", str(self.nproc)]
        args += ["--max-restarts", "0"]
        if self.master_addr is None:
            args.append("--standalone")
        else:
            args += ["--node-rank", str(self.node_rank), "--master-addr", self.master_addr]
            args += ["--master-port", str(self.master_port or 29500)]
        return [*args, "-m", *entry]


def _check_devices(plan: LaunchPlan, device: str) -> None:
    from recolab.distributed.runtime import backend_for

    if backend_for(device) == "nccl":
        import torch

        if plan.nproc > torch.cuda.device_count():
            raise DataError(
                f"--nproc {plan.nproc} asks for {plan.nproc} GPUs on this machine; "
                f"{torch.cuda.device_count()} found (or train on --device cpu)"
            )


def _failure_line(exc: Any, world: int) -> str:
    """One line from torchrun's ``ChildFailedError``: the first rank that failed and why."""
    failed_rank, failure = exc.get_first_failure()
    message = failure.message
    if isinstance(message, dict):
        message = message.get("message", "")
    if not message or "elastic/errors.html" in str(message):
        signal = failure.signal_name()
        message = (
            f"died (signal {signal}; out of memory?)"
            if signal != "<N/A>"
            else f"exited with status {failure.exitcode} without a message"
        )
    first = str(message).strip().splitlines()[0] if str(message).strip() else "failed"
    others = len(exc.failures) - 1
    also = f" ({others} other rank(s) failed too)" if others > 0 else ""
    return f"rank {failed_rank} of {world}: {first}{also}"


def launch(plan: LaunchPlan, entry: Sequence[str], device: str = "auto") -> None:
    """Run ``python -m`` ``entry`` on ``plan.nproc`` ranks of this machine (one of
    ``plan.nnodes``) and wait for them all.

    Raises
    ------
    Cancelled
        When rank 0 stopped on request (a cancelled job).
    TrainingError
        Naming the first rank that failed and its error, or the launch's own error.
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import elastic_launch
    from torch.distributed.run import config_from_args, parse_args

    _check_devices(plan, device)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // plan.nproc)))
    args = plan.torchrun_args(entry)
    log.info("starting %d rank(s) here: torchrun %s", plan.nproc, shlex.join(args))
    logging.getLogger("torch.distributed.elastic").setLevel(
        logging.CRITICAL
    )  # our own line says it
    parsed = parse_args(args)
    if parsed.standalone:  # what torchrun's own main does with --standalone
        parsed.rdzv_backend, parsed.rdzv_endpoint = "c10d", "localhost:0"
        parsed.rdzv_id = str(uuid.uuid4())
    config, cmd, cmd_args = config_from_args(parsed)
    try:
        elastic_launch(config, cmd)(*cmd_args)
    except ChildFailedError as exc:
        line = _failure_line(exc, plan.world_size)
        if "Cancelled:" in line:
            raise Cancelled(f"distributed training {line}") from None
        raise TrainingError(f"distributed training failed: {line}") from None
    except Exception as exc:  # rendezvous timeouts, unreachable master, ...
        raise TrainingError(
            f"distributed launch failed: {type(exc).__name__}: {exc}".splitlines()[0]
        ) from None


def launch_cli(values: dict[str, Any], plan: LaunchPlan, device: str = "auto") -> None:
    """``recolab train`` on every rank of ``plan`` with the parsed arguments ``values``
    (JSON-ready; written to a temporary file the ranks read)."""
    import json
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="recolab-ranks-") as tmp:
        path = Path(tmp) / "train-args.json"
        path.write_text(json.dumps(values), encoding="utf-8")
        launch(plan, [RANK_MODULE, "cli", str(path)], device)


def launch_job(ctx: Any, nproc: int) -> dict[str, Any]:
    """Run the dashboard's training job of ``ctx`` (a :class:`recolab.jobs.worker.JobContext`)
    on ``nproc`` ranks of this machine and return the summary rank 0 wrote (``result.json``)."""
    import json

    entry = [RANK_MODULE, "job", str(ctx.store.root), ctx.job_id, ctx.device]
    ctx.note(f"training on {nproc} processes ({'NCCL' if ctx.device == 'cuda' else 'gloo'})")
    launch(LaunchPlan(nproc), entry, ctx.device)
    result = json.loads(ctx.artifact_path("result.json").read_text(encoding="utf-8"))
    return {k: result[k] for k in ("bundle", "device", "train_seconds", "metrics", "model_bytes")}
