"""A rank's view of a distributed run: process group, rank 0's decisions, divergence checks.

Every helper here is a no-op in a single process (no process group), so library code calls
them unconditionally and the single-process path stays what it was.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from recolab.device import resolve_device
from recolab.errors import TrainingError

__all__ = [
    "COLLECTIVE_TIMEOUT_S",
    "agree",
    "backend_for",
    "check_same",
    "is_main",
    "launched",
    "rank",
    "rank_session",
    "record_failure",
    "world_size",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How long a rank waits in a collective (all-reduce, broadcast) for the others before it
#: fails with a timeout; ``RECOLAB_DIST_TIMEOUT_S`` overrides it.
COLLECTIVE_TIMEOUT_S = 1800.0


def launched() -> bool:
    """Whether this process is a rank started by torchrun (it sets ``LOCAL_RANK`` and
    ``WORLD_SIZE``)."""
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def world_size() -> int:
    """Ranks in the run (1 without a process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's global rank (0 without a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """Whether this process is rank 0, the only one that writes (always in one process)."""
    return rank() == 0


def backend_for(device: str) -> str:
    """``"nccl"`` when ``device`` resolves to a CUDA GPU, else ``"gloo"``."""
    return "nccl" if resolve_device(device).type == "cuda" else "gloo"


def agree(value: T) -> T:
    """Rank 0's ``value`` on every rank (``value`` itself in one process): decisions that
    may differ by rank — a clock, a cancellation flag, a score that float rounding could
    change — are taken once, so that every rank follows the same path. A collective: every
    rank must call it at the same point."""
    if world_size() == 1:
        return value
    box: list[Any] = [value if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def check_same(value: object, what: str) -> None:
    """Raise :class:`TrainingError` naming ``what`` when the ranks hold different ``value``
    (they loaded different data or run different code): a clear error instead of a
    collective that hangs or mixes shapes. A collective, like :func:`agree`."""
    n = world_size()
    if n == 1:
        return
    gathered: list[Any] = [None] * n
    dist.all_gather_object(gathered, value)
    for other, seen in enumerate(gathered[1:], start=1):
        if seen != gathered[0]:
            raise TrainingError(
                f"the ranks disagree on {what}: rank 0 has {gathered[0]!r}, rank {other} has "
                f"{seen!r} (do all machines have the same data and recolab version?)"
            )


def _timeout() -> timedelta:
    raw = os.environ.get("RECOLAB_DIST_TIMEOUT_S")
    return timedelta(seconds=float(raw) if raw else COLLECTIVE_TIMEOUT_S)


def record_failure(exc: BaseException) -> None:
    """Write ``exc`` to the error file torchrun gave this rank, so the launcher can say
    which rank failed and why (:func:`recolab.distributed.launch.launch`)."""
    from torch.distributed.elastic.multiprocessing.errors import get_error_handler

    try:
        get_error_handler().record_exception(exc)
    except OSError as err:  # pragma: no cover - an unwritable error file
        log.warning("could not record the failure for the launcher: %s", err)


@contextmanager
def rank_session(device: str) -> Iterator[bool]:
    """Join the process group when this process is a torchrun rank (NCCL on a GPU, one GPU
    per local rank; gloo on CPU), and leave it on exit. Yields whether this rank writes
    (rank 0; always ``True`` in a single process). Ranks other than 0 log warnings only; a
    failure is recorded for the launcher before it propagates."""
    if not launched():
        yield True
        return
    backend = backend_for(device)
    if backend == "nccl":
        local = int(os.environ["LOCAL_RANK"])
        if local >= torch.cuda.device_count():
            raise TrainingError(
                f"local rank {local} has no GPU: {torch.cuda.device_count()} on this machine"
            )
        torch.cuda.set_device(local)
    dist.init_process_group(backend, timeout=_timeout())
    if not is_main():
        logging.getLogger("recolab").setLevel(logging.WARNING)
    log.info("rank %d of %d joined (%s)", rank(), world_size(), backend)
    try:
        yield is_main()
    except Exception as exc:
        record_failure(exc)
        raise
    finally:
        dist.destroy_process_group()
