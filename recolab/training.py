"""The one training loop: seeds, epochs, validation, early stopping, progress, budget.

:func:`train_loop` knows nothing of a particular model: it calls a model's ``step`` (one
epoch), ``validate``, ``snapshot`` and ``restore``, as the weighted model's
:class:`~recolab.models.weighted.trainer.WeightedTrainer` provides them. Used alike by the CLI
(``python -m recolab train``), the background worker and the tests.

:class:`TrainConfig` lives in :mod:`recolab.config`; it is re-exported here for the code that
imports it from this module.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from recolab.config import (
    MODELS,
    MULTIPLIER_HIGH,
    OBJECTIVES,
    TrainConfig,
    conditioned_objectives,
)
from recolab.errors import Cancelled, TrainingError

log = logging.getLogger(__name__)

ProgressCallback = Callable[[dict[str, Any]], None]
StopCallback = Callable[[], bool]

__all__ = [
    "MODELS",
    "MULTIPLIER_HIGH",
    "OBJECTIVES",
    "ProgressCallback",
    "StopCallback",
    "TrainConfig",
    "TrainResult",
    "conditioned_objectives",
    "seed_everything",
    "train_loop",
]


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator for sampling."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


@dataclass
class TrainResult:
    """What a training run did."""

    epochs_run: int = 0
    best_epoch: int = 0
    seconds: float = 0.0
    device: str = "cpu"
    stopped_by: str = "epochs"
    history: list[dict[str, Any]] = field(default_factory=list)
    peak_memory_bytes: int = 0


def _peak_memory(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
    except (ImportError, OSError):  # pragma: no cover - non-POSIX
        return 0


def train_loop(
    *,
    parameters: list[torch.nn.Parameter],
    step: Callable[[int], dict[str, float]],
    validate: Callable[[], dict[str, float]] | None,
    snapshot: Callable[[], Any],
    restore: Callable[[Any], None],
    config: TrainConfig,
    device: torch.device,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
    monitor: str = "val_recall",
) -> TrainResult:
    """Run epochs of ``step`` (which returns mean loss parts of one epoch) with validation,
    early stopping on ``monitor`` (higher is better), a time budget, NaN checks and progress
    events; the best snapshot is restored at the end.
    """
    result = TrainResult(device=str(device))
    start = time.perf_counter()
    best_value, best_state, bad_epochs = -math.inf, None, 0
    for epoch in range(1, config.epochs + 1):
        if should_stop is not None and should_stop():
            raise Cancelled(f"training cancelled before epoch {epoch}")
        losses = step(epoch)
        for name, value in losses.items():
            if not math.isfinite(value):
                raise TrainingError(
                    f"loss term {name!r} became {value} at epoch {epoch}; try a lower learning "
                    f"rate (lr={config.lr}) or smaller λ range (lam_high={config.lam_high})"
                )
        metrics = validate() if validate is not None else {}
        elapsed = time.perf_counter() - start
        eta = elapsed / epoch * (config.epochs - epoch)
        event = {
            "epoch": epoch,
            "epochs": config.epochs,
            **losses,
            **metrics,
            "elapsed_s": round(elapsed, 3),
            "eta_s": round(eta, 3),
            "device": str(device),
        }
        result.history.append(event)
        result.epochs_run = epoch
        if on_progress is not None:
            on_progress(event)
        log.debug("epoch %d %s", epoch, event)
        value = metrics.get(monitor)
        if value is not None:
            if value > best_value:
                best_value, best_state, bad_epochs = value, snapshot(), 0
                result.best_epoch = epoch
            else:
                bad_epochs += 1
                if bad_epochs >= config.patience:
                    result.stopped_by = "early stopping"
                    break
        else:
            result.best_epoch = epoch
        if config.budget_seconds is not None and elapsed >= config.budget_seconds:
            result.stopped_by = "budget"
            break
    if best_state is not None:
        restore(best_state)
    result.seconds = time.perf_counter() - start
    result.peak_memory_bytes = _peak_memory(device)
    return result
