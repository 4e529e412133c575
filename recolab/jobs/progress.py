"""Stages of a training job and their progress, read back from the job's events.

A training job passes through stages, each with its own progress ``done/total``:

=========  ==========================  ==========================================
key        label                       progress reported by
=========  ==========================  ==========================================
read       Reading data                one event at start
embed      Embedding texts             the text encoder, per batch (texts n/N)
tune       Tuning the base             the Optuna study, per trial (trial n/N)
fronts     Mechanism fronts            one per validation front (m/M)
base       Fitting the chosen base     one event at start (sparsity, refit)
epochs     Training epochs             the training loop, per epoch (weighted model)
report     Test report and export      one event at start
=========  ==========================  ==========================================

Stage events are stored with ``kind="stage"`` and keys ``stage``, ``done``, ``total``
(and optionally ``budget_s``, a time cap of the stage such as the tuning budget). Tuning
trials and epochs arrive as ``kind="progress"`` events (keys ``trial``/``trials`` or
``epoch``/``epochs``) and count toward ``tune`` and ``epochs``. Every event carries the
store's wall-clock ``ts``.

The ETA of a stage comes from its rate so far: the work done between the first and the
last progress point with a known total, over the seconds between them (from three points
on, from the second: the first unit carries one-off setup). With fewer than two
such points the stage is *estimating*. A ``budget_s`` caps the estimate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["STAGE_LABELS", "StageProgress", "current_stage", "stage_of", "stages_from_events"]

#: Stage key → what the Train page calls it, in the order a job passes through them.
STAGE_LABELS: dict[str, str] = {
    "read": "Reading data",
    "embed": "Embedding texts",
    "tune": "Tuning the base (trials)",
    "fronts": "Mechanism fronts",
    "base": "Fitting the chosen base",
    "epochs": "Training epochs",
    "report": "Test report and export",
}


@dataclass
class StageProgress:
    """One stage of a job as its events tell it.

    Attributes
    ----------
    key, label:
        The stage key (see :data:`STAGE_LABELS`) and its label.
    started, ended:
        Wall-clock seconds of its first event, and of the next stage's first event (or the
        job's end); ``ended`` is ``None`` while the stage runs.
    done, total:
        Units of work done and in all (``total`` is ``None`` when not known).
    points:
        ``(ts, done)`` progress points with a known total, oldest first.
    budget_s:
        A time cap of the stage (``None``: none).
    detail:
        The note of the last event, if it had one (e.g. the mechanism measured).
    """

    key: str
    label: str
    started: float
    ended: float | None = None
    done: float = 0.0
    total: float | None = None
    points: list[tuple[float, float]] = field(default_factory=list)
    budget_s: float | None = None
    detail: str | None = None

    @property
    def running(self) -> bool:
        """The stage has started and not ended."""
        return self.ended is None

    def seconds(self, now: float) -> float:
        """Seconds spent in the stage (up to ``now`` while it runs)."""
        return max(0.0, (self.ended if self.ended is not None else now) - self.started)

    @property
    def fraction(self) -> float | None:
        """``done / total`` in [0, 1] (1 once ended; ``None`` without a total)."""
        if self.ended is not None:
            return 1.0
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))

    @property
    def rate(self) -> float | None:
        """Units per second between the first and the last progress point (``None`` with
        fewer than two points or no time between them). From three points on, the stage's
        start point is left out: the first unit carries one-off setup (building the network,
        the first solve) that the others do not."""
        if len(self.points) < 2:
            return None
        first = self.points[1] if len(self.points) >= 3 else self.points[0]
        (t0, d0), (t1, d1) = first, self.points[-1]
        if t1 <= t0 or d1 <= d0:
            return None
        return (d1 - d0) / (t1 - t0)

    def eta_s(self, now: float) -> float | None:
        """Seconds left in the stage from its rate so far, capped by ``budget_s``; 0 once
        ended; ``None`` while estimating (fewer than two progress points)."""
        if self.ended is not None:
            return 0.0
        rate = self.rate
        if rate is None or self.total is None:
            return None
        since_last = now - self.points[-1][0]
        eta = max(0.0, (self.total - self.done) / rate - since_last)
        if self.budget_s is not None:
            eta = min(eta, max(0.0, self.budget_s - self.seconds(now)))
        return eta

    def text(self, now: float) -> str:
        """One line: ``"12/60 · 41 s left"``, ``"3/60 · estimating"``, ``"done in 4.2 s"``."""
        count = _count(self.done, self.total)
        if self.ended is not None:
            return f"{count + ' · ' if count else ''}done in {self.seconds(now):.1f} s"
        eta = self.eta_s(now)
        left = "estimating" if eta is None else f"{eta:.0f} s left"
        if eta is not None and eta < 0.5:  # past the estimate: the rate was too optimistic
            left = "finishing"
        if self.total is None:
            left = f"{self.seconds(now):.0f} s so far"
        return " · ".join(p for p in (count, left, self.detail or "") if p)


def _count(done: float, total: float | None) -> str:
    if total is None:
        return ""
    return f"{int(done):,}/{int(total):,}"


def stage_of(event: Mapping[str, Any]) -> str | None:
    """The stage an event reports on (``None`` for notes and state changes)."""
    kind = event.get("kind")
    if kind == "stage":
        return str(event.get("stage")) if event.get("stage") else None
    if kind == "progress":
        if "trial" in event:
            return "tune"
        if "epoch" in event:
            return "epochs"
        if event.get("stage"):
            return str(event["stage"])
    return None


def _work(event: Mapping[str, Any], stage: str) -> tuple[float | None, float | None]:
    """``(done, total)`` of an event (either may be ``None``)."""
    if event.get("kind") == "progress" and stage == "tune":
        return _num(event.get("trial")), _num(event.get("trials"))
    if event.get("kind") == "progress" and stage == "epochs" and "epoch" in event:
        return _num(event.get("epoch")), _num(event.get("epochs"))
    return _num(event.get("done")), _num(event.get("total"))


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def stages_from_events(
    events: Iterable[Mapping[str, Any]], *, finished: float | None = None
) -> list[StageProgress]:
    """The stages a job went through, in order, from its events (each with ``ts``).

    Parameters
    ----------
    events:
        The job's events, oldest first (:meth:`recolab.jobs.JobStore.events`).
    finished:
        When the job reached a final state; it ends the last stage.

    Returns
    -------
    list of StageProgress
        One per stage seen; a stage ends where the next one starts. A stage that comes back
        (it should not) continues its first entry.
    """
    out: dict[str, StageProgress] = {}
    last: StageProgress | None = None
    for event in events:
        key = stage_of(event)
        ts = _num(event.get("ts"))
        if key is None or ts is None:
            continue
        stage = out.get(key)
        if stage is None:
            stage = StageProgress(key, STAGE_LABELS.get(key, key), started=ts)
            out[key] = stage
        if last is not None and last is not stage and last.ended is None:
            last.ended = ts
        stage.ended = None
        last = stage
        _update(stage, event, ts)
    if last is not None and finished is not None and last.ended is None:
        last.ended = max(finished, last.started)
    return list(out.values())


def _update(stage: StageProgress, event: Mapping[str, Any], ts: float) -> None:
    done, total = _work(event, stage.key)
    if total is not None:
        stage.total = total
    if done is not None:
        stage.done = done
        if stage.total is not None:
            stage.points.append((ts, done))
    budget = _num(event.get("budget_s"))
    if budget is not None:
        stage.budget_s = budget
    stage.detail = str(event["detail"]) if event.get("detail") else None


def current_stage(stages: list[StageProgress]) -> StageProgress | None:
    """The running stage (the last one, while it has not ended), else ``None``."""
    return stages[-1] if stages and stages[-1].running else None
