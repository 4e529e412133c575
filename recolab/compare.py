"""Compare training runs: their fronts overlaid with the peers', hypervolumes, a jobs table.

Everything is read from what each job stored (``<workspace>/jobs/<id>/result.json`` and the
job store); nothing is re-measured. Two sources of fronts:

``test``
    The run's front over λ on the test split (``result["front"]``) and the reference points
    measured on the same split (``result["references"]``: popularity, EASE).
``validation``
    The chosen mechanism's front on the validation split the job carved
    (``result["selection"]["mechanisms"]``) and, as peers, the other re-rankers' fronts over
    the same base, measured on the same split. Runs of the weighted model have no
    validation front.

Examples
--------
>>> frame = overlay(root, ["3f2a9c1b0d4e", "77aa01be93c2"], "test")   # doctest: +SKIP
>>> hypervolumes(frame, "ndcg@10", "coverage@20")                     # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recolab.jobs.workspace import job_dir
from recolab.pareto import hypervolume

log = logging.getLogger(__name__)

__all__ = [
    "SOURCES",
    "hypervolumes",
    "jobs_table",
    "overlay",
    "read_result",
    "run_fronts",
    "shared_metrics",
    "to_csv_bytes",
]

#: Where fronts come from (see the module docstring).
SOURCES = ("test", "validation")
#: Columns of a front row that are not metrics.
_NOT_METRICS = frozenset(
    {"model", "lam", "curve", "kind", "job", "sparsity", "train_seconds", "model_bytes"}
)


def read_result(root: Path, job_id: str) -> dict[str, Any]:
    """A job's ``result.json`` (``{}`` when absent or unreadable, logged)."""
    path = job_dir(root, job_id) / "result.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        log.info("no readable result for job %s: %s", job_id, exc)
        return {}


def _rows(records: Any) -> pd.DataFrame:
    return pd.DataFrame(list(records)) if isinstance(records, list) and records else pd.DataFrame()


def run_fronts(result: Mapping[str, Any], run: str, source: str = "test") -> pd.DataFrame:
    """The fronts one job stored, as tidy rows: column ``curve`` (the run's name, or
    ``"<run> · <peer>"``), ``kind`` (``"run"`` or ``"peer"``), ``lam`` and the metrics.

    Parameters
    ----------
    result:
        The job's ``result.json``.
    run:
        The name the run goes by (its id, or a label).
    source:
        ``"test"`` or ``"validation"`` (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        Empty when the job stored no such front.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    parts = []
    if source == "test":
        front = _rows(result.get("front"))
        if not front.empty:
            parts.append(front.assign(curve=run, kind="run"))
        for _, ref in _rows(result.get("references")).iterrows():
            parts.append(pd.DataFrame([ref]).assign(curve=f"{run} · {ref['model']}", kind="peer"))
    else:
        selection = result.get("selection") or {}
        chosen = selection.get("mechanism")
        for mech in selection.get("mechanisms") or []:
            rows = _rows(mech.get("front"))
            if rows.empty:
                continue
            own = mech.get("name") == chosen
            curve = f"{run} ({mech.get('name')})" if own else f"{run} · {mech.get('name')}"
            parts.append(rows.assign(curve=curve, kind="run" if own else "peer"))
    if not parts:
        return pd.DataFrame(columns=["curve", "kind", "lam"])
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "job", run)
    return out


def overlay(
    root: Path, job_ids: Sequence[str], source: str = "test", names: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """:func:`run_fronts` of several jobs stacked (each run named by ``names`` or its id)."""
    names = names or {}
    frames = [
        run_fronts(read_result(root, j), names.get(j, j), source) for j in dict.fromkeys(job_ids)
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=["job", "curve", "kind", "lam"])
    return pd.concat(frames, ignore_index=True)


def shared_metrics(frame: pd.DataFrame) -> list[str]:
    """Metric columns of ``frame`` with at least one finite value, in their order."""
    out = []
    for col in frame.columns:
        if col in _NOT_METRICS:
            continue
        values = pd.to_numeric(frame[col], errors="coerce")
        if np.isfinite(values.to_numpy(dtype=float)).any():
            out.append(str(col))
    return out


def hypervolumes(
    frame: pd.DataFrame, x: str, y: str, reference: tuple[float, float] = (0.0, 0.0)
) -> pd.DataFrame:
    """The hypervolume of each curve's points in (``x``, ``y``), both maximised, from
    ``reference`` (:func:`recolab.pareto.hypervolume`); a single point is its rectangle.

    Returns
    -------
    pandas.DataFrame
        Columns ``curve``, ``kind``, ``points``, ``hypervolume``, best first.
    """
    rows = []
    for curve, part in frame.groupby("curve", sort=False):
        if x not in part.columns or y not in part.columns:
            continue
        pts = part[[x, y]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        pts = pts[np.isfinite(pts).all(axis=1)]
        hv = hypervolume(pts, reference) if len(pts) else 0.0
        kind = str(part["kind"].iloc[0]) if "kind" in part.columns else "run"
        rows.append({"curve": curve, "kind": kind, "points": len(pts), "hypervolume": hv})
    table = pd.DataFrame(rows, columns=["curve", "kind", "points", "hypervolume"])
    return table.sort_values("hypervolume", ascending=False, ignore_index=True)


def _config_row(job: Any, result: Mapping[str, Any], key_metric: str) -> dict[str, Any]:
    from recolab.config import TrainConfig

    spec = job.spec
    config = dict(spec.get("config") or {})
    model = config.get("model", TrainConfig().model)
    selection = result.get("selection") or {}
    metrics = (job.result or {}).get("metrics") or result.get("metrics") or {}
    trials = (selection.get("base") or {}).get("trials")
    weighted = model == "weighted"  # no study, no re-ranker
    return {
        "id": job.id,
        "dataset": spec.get("dataset") or spec.get("sample") or Path(str(spec.get("train"))).name,
        "created": pd.Timestamp(job.created, unit="s").strftime("%Y-%m-%d %H:%M"),
        "state": job.state,
        "model": model,
        "mechanism": None if weighted else selection.get("mechanism") or config.get("mechanism"),
        "trials": None
        if weighted
        else len(trials)
        if isinstance(trials, list)
        else config.get("tune_trials"),
        "epochs": result.get("epochs_run") if weighted else None,
        "use_text": config.get("use_text"),
        "device": job.device,
        "wall_s": round(job.elapsed_s, 1) if job.done and job.elapsed_s is not None else None,
        key_metric: metrics.get(key_metric),
        "λ served": metrics.get("lam"),
    }


def jobs_table(root: Path, key_metric: str = "ndcg@10", limit: int = 100) -> pd.DataFrame:
    """One row per job, newest first, with its configuration: id, dataset, created, state,
    model, mechanism, trials, epochs, use_text, device, wall seconds (the store's start to
    end), the key metric and the λ it was measured at (the served one, on test)."""
    from recolab.jobs import JobStore

    rows = []
    for job in JobStore(root).list(limit=limit):
        result = read_result(root, job.id) if job.state == "succeeded" else {}
        rows.append(_config_row(job, result, key_metric))
    columns = [
        "id", "dataset", "created", "state", "model", "mechanism", "trials", "epochs",
        "use_text", "device", "wall_s", key_metric, "λ served",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV without the index (what a download button hands out)."""
    return frame.to_csv(index=False).encode("utf-8")
