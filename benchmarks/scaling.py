"""Cost against data size when the catalogue grows with the data: recolab's default pipeline
vs implicit ALS.

Power-law synthetic data (``recolab.data.synthetic.synthetic_interactions``) at 50
interactions per user on average and 100 per item: 10⁵ interactions × 10³ items, 10⁶ × 10⁴
and 10⁷ × 10⁵, plus the 1 M interactions × 6 k users × 3.7 k items set of issue 16. Each
size runs in its own child process, single-threaded. In it the data are generated once;
then

1. one fit of the closed-form base recolab would use (dense, or the sparse neighbourhood
   base above :data:`~recolab.models.sparse_linear.SPARSE_ABOVE_ITEMS` items), timed: it
   estimates the pipeline (≈ :data:`FITS_PER_PIPELINE` such fits); an estimate over
   :data:`PIPELINE_LIMIT_S` (or ``--pipeline-limit``) skips the pipeline and is reported
   with its number;
2. recolab's **default pipeline**, ``fit_tuned`` with ``TuneBudget(n_trials=5)`` (and the
   default 60-s time budget, which bounds the neighbour search of the sparse base): the
   validation carve-out, 5 tuning trials, every mechanism's validation front, the sparsity
   choice and the refit on all the training data — tuning included;
3. implicit ALS, 64 factors, 15 iterations.

Reports train seconds, peak RSS (and its growth during the fit as a multiple of the
interactions' CSR size), log-log slopes, and a PNG. Writes ``sections/scaling.md``.

Usage::

    python benchmarks/scaling.py [--max-interactions 1e6] [--only 1e7] [--store runs.json]
        [--pipeline-limit 1800]

``--store`` (default ``benchmarks/scaling_runs.json``, committed) keeps each size's rows
(with its commit and load), so that ``--only`` can rerun one size and the section still
shows all.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from peers import DEVICE, MemoryMeter, machine_load, rss_bytes  # noqa: E402
from report import assemble, checkout, markdown_table, save_section  # noqa: E402

log = logging.getLogger("benchmarks.scaling")

#: (label, users, items, interactions): the catalogue grows with the data.
SIZES = (
    ("1e5", 2_000, 1_000, 10**5),
    ("1M issue set", 6_000, 3_700, 10**6),
    ("1e6", 20_000, 10_000, 10**6),
    ("1e7", 200_000, 100_000, 10**7),
)
#: The sizes on the slope (catalogue growing with the data, 50 interactions per user).
GROWING = ("1e5", "1e6", "1e7")
TRIALS = 5
ALS_FACTORS, ALS_ITERATIONS = 64, 15
THREADS = 1
#: Base fits in one pipeline: the trials, up to three bases whose fronts are measured, the
#: refit on all the training data.
FITS_PER_PIPELINE = TRIALS + 3 + 1
#: A pipeline estimated longer than this is skipped (reported with the estimate).
PIPELINE_LIMIT_S = 600.0
#: Wall-clock limit of one size's child process (seconds).
CHILD_TIMEOUT_S = 1200


def _csr_bytes(x: Any) -> int:
    return int(x.data.nbytes + x.indices.nbytes + x.indptr.nbytes)


def _probe(data: Any) -> dict[str, Any]:
    """One fit of the base the pipeline would use, at the first trial's options."""
    from recolab.models.sparse_linear import make_linear_base
    from recolab.tuning.study import EASE_TRIAL, params_from

    params = params_from(EASE_TRIAL, data.matrix(binary=True))
    base = make_linear_base(params, data.n_items, DEVICE)
    with MemoryMeter() as meter:
        t0 = time.perf_counter()
        base.fit(data)
        seconds = time.perf_counter() - t0
    return {
        "base": type(base).__name__,
        "probe_s": seconds,
        "rss_peak": meter.peak_bytes,
        "mem_delta": meter.delta_bytes,
    }


def _pipeline(data: Any) -> dict[str, Any]:
    from recolab.tuning import TuneBudget
    from recolab.tuning.select import fit_tuned

    with MemoryMeter() as meter:
        t0 = time.perf_counter()
        tuned = fit_tuned(data, budget=TuneBudget(n_trials=TRIALS), device=DEVICE)
        wall = time.perf_counter() - t0
    return {
        "fit_s": wall,
        "mem_delta": meter.delta_bytes,
        "rss_peak": meter.peak_bytes,
        "valid_score": tuned.tuning.score,
        "mechanism": tuned.mechanism.name,
    }


def _als(x: Any) -> dict[str, Any]:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    als = AlternatingLeastSquares(
        factors=ALS_FACTORS,
        regularization=0.1,
        iterations=ALS_ITERATIONS,
        random_state=0,
        num_threads=THREADS,
    )
    with threadpool_limits(THREADS, "blas"), MemoryMeter() as meter:
        t0 = time.perf_counter()
        als.fit(x.astype(np.float32), show_progress=False)
        wall = time.perf_counter() - t0
    return {"fit_s": wall, "mem_delta": meter.delta_bytes, "rss_peak": meter.peak_bytes}


def _data(label: str) -> tuple[Any, dict[str, Any]]:
    """The synthetic data of size ``label`` and what describes them."""
    from recolab.data.synthetic import synthetic_interactions

    _, users, items, n = next(s for s in SIZES if s[0] == label)
    start = time.perf_counter()
    data = synthetic_interactions(users, items, n_interactions=n, seed=0)
    x = data.matrix(binary=True)
    return data, {
        "size": label,
        "interactions": n,
        "users": x.shape[0],
        "items": x.shape[1],
        "gen_s": time.perf_counter() - start,
        "data_bytes": _csr_bytes(x),
        "held_bytes": _csr_bytes(x) + int(data.frame.memory_usage(deep=True).sum()),
        "data_rss": rss_bytes(),
    }


def measure(label: str, part: str) -> list[dict[str, Any]]:
    """In this process: generate the data of size ``label``; ``part`` ``"peers"`` times ALS
    and one base fit, ``"pipeline"`` recolab's default pipeline."""
    import torch

    torch.set_num_threads(THREADS)
    data, common = _data(label)
    if part == "pipeline":
        return [{**common, "model": "recolab default pipeline", **_pipeline(data)}]
    rows = [{**common, "model": "implicit ALS", **_als(data.matrix(binary=True))}]
    log.info("%s ALS: %.1f s", label, rows[-1]["fit_s"])
    try:
        rows.append({**common, "model": "recolab base fit", **_probe(data)})
    except Exception as exc:  # a refused plan is a result: its message names the size
        rows.append({**common, "model": "recolab base fit", "refused": str(exc)})
    return rows


def _child(label: str, part: str, timeout: float) -> list[dict[str, Any]] | str:
    """Run :func:`measure` in a fresh interpreter; rows, or why there are none."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", label, "--part", part]
    one = str(THREADS)
    threads = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    env = {**os.environ, **dict.fromkeys(threads, one)}
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        return f"did not finish within {timeout:.0f} s"
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        return f"failed (exit {done.returncode}): {' | '.join(tail)}"
    for line in done.stdout.splitlines():
        if line.startswith("ROWS "):
            return json.loads(line[5:])
    return "no result printed"


def _measure_size(
    label: str, pipeline_limit: float = PIPELINE_LIMIT_S
) -> tuple[list[dict[str, Any]], list[str]]:
    """Both parts of one size: ALS and a base fit, then the pipeline unless its estimate
    (or the base's plan) passes ``pipeline_limit`` seconds."""
    got = _child(label, "peers", CHILD_TIMEOUT_S)
    if isinstance(got, str):
        return [], [f"{label}: ALS and the base fit {got}"]
    rows, notes = list(got), []
    probe = rows[-1]
    keys = ("size", "interactions", "users", "items", "data_bytes", "held_bytes")
    common = {k: probe[k] for k in keys if k in probe}
    skipped = {**common, "model": "recolab default pipeline"}
    if "refused" in probe:
        notes.append(f"{label}: the base was refused: {probe['refused']}")
        return rows, notes
    estimate = FITS_PER_PIPELINE * probe["probe_s"]
    if estimate > pipeline_limit:
        notes.append(
            f"{label}: one {probe['base']} fit took {probe['probe_s']:.0f} s, so "
            f"{FITS_PER_PIPELINE} fits ≈ {estimate / 60:.0f} min > "
            f"{pipeline_limit / 60:.0f} min: pipeline skipped"
        )
        rows.append({**skipped, "estimate_s": estimate})
        return rows, notes
    limit = pipeline_limit + probe["gen_s"] + 60
    got = _child(label, "pipeline", limit)
    if isinstance(got, str):
        notes.append(f"{label}: the pipeline {got} (data generation included)")
        rows.append({**skipped, "timeout_s": limit - probe["gen_s"]})
    else:
        rows.extend(got)
    return rows, notes


def _seconds(row: dict[str, Any]) -> float:
    """Train seconds of a row; for a skipped pipeline its estimate, for one stopped its time
    limit (a lower bound)."""
    for key in ("fit_s", "probe_s", "estimate_s", "timeout_s"):
        if key in row:
            return float(row[key])
    return float("nan")


def _bound(row: dict[str, Any]) -> bool:
    """Whether a row's seconds are an estimate or a time limit, not a measurement."""
    return "estimate_s" in row or "timeout_s" in row


def _slope(rows: list[dict[str, Any]], model: str, lo: str, hi: str) -> tuple[float, bool]:
    """Log-log slope of train seconds in interactions between sizes ``lo`` and ``hi``, and
    whether it rests on an estimate."""
    by = {r["size"]: r for r in rows if r["model"] == model}
    if lo not in by or hi not in by:
        return float("nan"), False
    a, b = by[lo], by[hi]
    slope = math.log(_seconds(b) / _seconds(a)) / math.log(b["interactions"] / a["interactions"])
    return slope, _bound(a) or _bound(b)


def _png(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for j, model in enumerate(dict.fromkeys(r["model"] for r in rows)):
        pts = sorted(
            (r["interactions"], _seconds(r), _bound(r))
            for r in rows
            if r["model"] == model and r["size"] in GROWING
        )
        ax.loglog([p[0] for p in pts], [p[1] for p in pts], "-o", color=f"C{j}", label=model)
        for n, s, est in pts:
            if est:
                ax.annotate("estimate / time limit", (n, s), fontsize=7, color=f"C{j}")
        extra = [
            (r["interactions"], _seconds(r))
            for r in rows
            if r["model"] == model and r["size"] not in GROWING
        ]
        if extra:
            ax.loglog(*zip(*extra, strict=True), "s", color=f"C{j}", mfc="none")
    xs = np.array([1e5, 1e7])
    ax.loglog(xs, 1.0 * xs / xs[0], "--", color="grey", label="slope 1 reference")
    ax.set_xlabel("interactions (items = interactions / 100)")
    ax.set_ylabel("train seconds (pipeline: tuning included)")
    ax.set_title(f"Growing catalogue, {THREADS} CPU thread; square: 1 M × 3.7 k items")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    log.info("wrote %s", path)


def _train_cell(r: dict[str, Any]) -> str:
    if "refused" in r:
        return "refused (see below)"
    if "estimate_s" in r:
        return f"≈ {r['estimate_s']:.0f} (estimate, skipped)"
    if "timeout_s" in r:
        return f"> {r['timeout_s']:.0f} (stopped)"
    return f"{_seconds(r):.1f}"


def _table(rows: list[dict[str, Any]]) -> str:
    mib = 2**20
    table = []
    for r in rows:
        measured = "rss_peak" in r
        table.append(
            {
                "data": r["size"],
                "users × items": f"{r['users']:,} × {r['items']:,}",
                "model": r["model"] + (f" ({r['base']})" if "base" in r else ""),
                "train s": _train_cell(r),
                "peak RSS MiB": f"{r['rss_peak'] / mib:.0f}" if measured else "-",
                "RSS growth / data CSR": f"{r['mem_delta'] / r['data_bytes']:.1f}×"
                if measured
                else "-",
                "RSS growth / data held": f"{r['mem_delta'] / r['held_bytes']:.2f}×"
                if measured and "held_bytes" in r
                else "-",
                "data CSR MiB": f"{r['data_bytes'] / mib:.1f}",
                "data held MiB": f"{r['held_bytes'] / mib:.0f}" if "held_bytes" in r else "-",
                "valid score": f"{r['valid_score']:.4f}" if "valid_score" in r else "-",
            }
        )
    return markdown_table(table, list(table[0]))


def _measure_all(
    max_interactions: int,
    only: list[str] | None,
    store: Path | None,
    pipeline_limit: float = PIPELINE_LIMIT_S,
) -> dict[str, dict[str, Any]]:
    """Each size's rows, notes, commit, load, minutes and pipeline limit: measured now (every
    size up to ``max_interactions``, or those in ``only``), the others read from ``store``
    (JSON), which is then updated."""
    runs: dict[str, dict[str, Any]] = {}
    if store is not None and store.exists():
        runs = json.loads(store.read_text(encoding="utf-8"))
    for label, _, _, n in SIZES:
        if (only is not None and label not in only) or (only is None and n > max_interactions):
            continue
        load = machine_load()
        log.info("scaling: %s (%s)", label, load)
        t0 = time.perf_counter()
        got, notes = _measure_size(label, pipeline_limit)
        for note in notes:
            log.warning("%s", note)
        runs[label] = {
            "rows": got,
            "notes": notes,
            "commit": checkout("recolab", "benchmarks/scaling.py"),
            "load": f"{load} before, {machine_load()} after",
            "minutes": (time.perf_counter() - t0) / 60,
            "pipeline_limit": pipeline_limit,
        }
        if store is not None:
            store.write_text(json.dumps(runs), encoding="utf-8")
    return runs


def run(
    max_interactions: int = 10**7,
    only: list[str] | None = None,
    store: Path | None = None,
    pipeline_limit: float = PIPELINE_LIMIT_S,
) -> list[dict[str, Any]]:
    """Measure the sizes (see :func:`_measure_all`); save the section and the PNG."""
    runs = _measure_all(max_interactions, only, store, pipeline_limit)
    ordered = [runs[label] for label, *_ in SIZES if label in runs]
    rows = [r for run_ in ordered for r in run_["rows"]]
    notes = [n for run_ in ordered for n in run_["notes"]]
    if rows:
        _png(rows, HERE / "scaling.png")
    slopes = []
    for m in dict.fromkeys(r["model"] for r in rows):
        parts = []
        for lo, hi in itertools.pairwise(GROWING):
            s, est = _slope(rows, m, lo, hi)
            parts.append(f"{s:.2f} ({lo}→{hi}{', on an estimate' if est else ''})")
        slopes.append(f"- {m}: " + ", ".join(parts))
    where = [
        f"- {label}: commit {r['commit']}, {r['minutes']:.1f} min, pipeline limit "
        f"{r.get('pipeline_limit', PIPELINE_LIMIT_S) / 60:.0f} min, {r['load']}"
        for label, *_ in SIZES
        if (r := runs.get(label))
    ]
    text = (
        "## Scaling with a growing catalogue\n\n"
        "2 CPU cores shared with other jobs: **noisy**, one run each. Where and when each "
        "size ran:\n\n" + "\n".join(where) + "\n\n"
        "`synthetic_interactions(users, items, n, seed=0)` (power-law users and items), the "
        "catalogue growing with the data (items = n / 100, users = n / 50), plus the "
        "1 M × 6 k users × 3.7 k items set of issue 16. Each size in its own process, **one "
        "thread** (torch, implicit, BLAS). recolab: the **default pipeline** "
        f"(`fit_tuned`, `TuneBudget(n_trials={TRIALS})`, so the default 60-s time budget, "
        f"device {DEVICE!r}): validation "
        "carve-out, tuning, every mechanism's validation front, sparsity choice, refit — "
        "**tuning included**. Above 20,000 items it runs on the sparse neighbourhood base "
        "(`recolab.models.sparse_linear`; the pipeline chooses its neighbours per item on "
        "validation, from 64 up or down). *recolab base fit*: one fit of that base at 64 "
        "neighbours and the first trial's options (plain EASE), in the process that also ran "
        f"ALS; {FITS_PER_PIPELINE}× it over the size's pipeline limit (above; "
        "`--pipeline-limit`) skips the pipeline (reported with that estimate), which "
        "otherwise runs in a process of its own within that limit. "
        f"implicit ALS: {ALS_FACTORS} factors, {ALS_ITERATIONS} iterations. Peak RSS is the "
        "process's (data included); its growth during the fit is divided by the interactions' "
        "CSR size (int32 indices, float values) and by the data as recolab holds them (that "
        "CSR plus the interactions' frame, string ids included).\n\n"
        + _table(rows)
        + "\n\n"
        + ("\n".join(f"- {n}" for n in notes) + "\n\n" if notes else "")
        + "Log-log slopes of train seconds in interactions (items growing alike; 1 = linear):"
        "\n\n" + "\n".join(slopes) + "\n\n![scaling](scaling.png)\n"
    )
    save_section("scaling", text)
    assemble()
    return rows


def main(argv: list[str] | None = None) -> int:
    """Entry point (also the child mode, ``--child LABEL``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--part", default="peers", help=argparse.SUPPRESS)
    parser.add_argument("--max-interactions", type=float, default=1e7)
    parser.add_argument("--only", nargs="+", default=None, help="measure only these sizes")
    parser.add_argument(
        "--pipeline-limit",
        type=float,
        default=PIPELINE_LIMIT_S,
        help="seconds the pipeline may take (beyond the estimate it is skipped)",
    )
    parser.add_argument(
        "--store",
        type=Path,
        default=HERE / "scaling_runs.json",
        help="JSON of each size's results, read and updated",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.child is not None:
        print("ROWS " + json.dumps(measure(args.child, args.part)), flush=True)
        return 0
    run(int(args.max_interactions), args.only, args.store, args.pipeline_limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
