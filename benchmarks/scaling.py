"""Cost against data size on synthetic interactions: recolab's weighted model vs implicit ALS.

``synthetic_interactions(n / 50 users, 2,000 items, n interactions)`` for n = 10⁵, 10⁶ and
10⁷. Each size runs in its own child process (so that memory of one size does not hide
another's); in it the data are generated once, then recolab's weighted model trains three
epochs (``TrainConfig(epochs=3, item_item="off", use_text=False)``; also ``item_item="auto"``
up to 10⁶) and implicit ALS trains 3 iterations (64 factors). Reports seconds per epoch /
iteration, fit wall time and peak memory, and a log-log PNG with a linear reference.
Saves the ``scaling`` section of RESULTS.md and ``scaling.png``.

Usage::

    python benchmarks/scaling.py [--max-interactions 1e6]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import resource
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
from report import assemble, markdown_table, save_section  # noqa: E402

log = logging.getLogger("benchmarks.scaling")

SIZES = (10**5, 10**6, 10**7)
N_ITEMS = 2_000
PER_USER = 50
ALS_ITERATIONS = 3
#: Threads for torch, implicit and BLAS in the measurements.
THREADS = 1
#: Epochs of the weighted model; seconds per epoch = median of epochs 2..EPOCHS.
EPOCHS = 3
#: Wall-clock limit of one size's child process (seconds).
CHILD_TIMEOUT_S = 540


def measure(n: int) -> list[dict[str, Any]]:
    """In this process: generate data of ``n`` interactions and time the models on it."""
    import torch
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    # One thread everywhere: on 2 cores shared with other jobs, 2-thread OpenMP regions stall
    # whenever one thread is descheduled, and epoch times then vary by 10x run to run.
    torch.set_num_threads(THREADS)

    from recolab.config import TrainConfig
    from recolab.data.synthetic import synthetic_interactions
    from recolab.models.weighted import WeightedObjectiveRecommender

    start = time.perf_counter()
    data = synthetic_interactions(n // PER_USER, N_ITEMS, n_interactions=n, seed=0)
    x = data.matrix(binary=True)
    gen_s = time.perf_counter() - start
    base_rss = rss_bytes()
    rows: list[dict[str, Any]] = []
    common = {"interactions": n, "users": x.shape[0], "items": x.shape[1], "gen_s": gen_s}
    variants = [("off", EPOCHS)] + ([("auto", EPOCHS)] if n <= 10**6 else [])
    for item_item, epochs in variants:
        config = TrainConfig(epochs=epochs, item_item=item_item, use_text=False, device=DEVICE)
        model = WeightedObjectiveRecommender(config)
        with MemoryMeter() as meter:
            t0 = time.perf_counter()
            model.fit(data)
            wall = time.perf_counter() - t0
        res = model.train_result_
        ends = [float(h["elapsed_s"]) for h in res.history]
        durations = np.diff([0.0, *ends])
        # steady state: the median epoch after the first (the first pays torch's warm-up)
        last = float(np.median(durations[1:])) if len(durations) > 1 else float(durations[0])
        rows.append(
            {
                **common,
                "model": f"recolab weighted (item_item={item_item})",
                "unit_s": last,
                "first_s": float(durations[0]),
                "unit": "epoch",
                "fit_s": wall,
                "mem_delta": meter.delta_bytes,
                "rss_peak": meter.peak_bytes,
            }
        )
        log.info(
            "n=%d weighted %s: %.2f s/epoch, fit %.1f s", n, item_item, rows[-1]["unit_s"], wall
        )
        del model
    als = AlternatingLeastSquares(
        factors=64,
        regularization=0.1,
        iterations=ALS_ITERATIONS,
        random_state=0,
        num_threads=THREADS,
    )
    xf = x.astype(np.float32)
    with threadpool_limits(1, "blas"), MemoryMeter() as meter:
        t0 = time.perf_counter()
        als.fit(xf, show_progress=False)
        wall = time.perf_counter() - t0
    rows.append(
        {
            **common,
            "model": f"implicit ALS (64 factors, {ALS_ITERATIONS} it)",
            "unit_s": wall / ALS_ITERATIONS,
            "first_s": float("nan"),
            "unit": "iteration",
            "fit_s": wall,
            "mem_delta": meter.delta_bytes,
            "rss_peak": meter.peak_bytes,
        }
    )
    log.info("n=%d ALS: %.2f s/iteration", n, rows[-1]["unit_s"])
    for r in rows:
        r["data_rss"] = base_rss
        r["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return rows


def _child(n: int) -> list[dict[str, Any]] | str:
    """Run :func:`measure` for ``n`` in a fresh interpreter; rows, or why there are none."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(n)]
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "OPENBLAS_NUM_THREADS": str(THREADS)}
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        return f"did not finish within {CHILD_TIMEOUT_S} s"
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        return f"failed (exit {done.returncode}): {' | '.join(tail)}"
    for line in done.stdout.splitlines():
        if line.startswith("ROWS "):
            return json.loads(line[5:])
    return "no result printed"


def _slope(rows: list[dict[str, Any]], model: str, lo: int, hi: int) -> float:
    """Log-log slope of seconds per unit between sizes ``lo`` and ``hi``."""
    by = {r["interactions"]: r["unit_s"] for r in rows if r["model"] == model}
    if lo not in by or hi not in by or by[lo] <= 0:
        return float("nan")
    return math.log(by[hi] / by[lo]) / math.log(hi / lo)


def _png(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    models = list(dict.fromkeys(r["model"] for r in rows))
    for j, model in enumerate(models):
        pts = sorted((r["interactions"], r["unit_s"]) for r in rows if r["model"] == model)
        ax.loglog([p[0] for p in pts], [p[1] for p in pts], "-o", color=f"C{j}", label=model)
    ns = sorted({r["interactions"] for r in rows})
    if ns:
        anchor = max(r["unit_s"] for r in rows if r["interactions"] == ns[0])
        xs = np.array([ns[0], ns[-1]], dtype=float)
        ax.loglog(xs, anchor * xs / xs[0], "--", color="grey", label="linear reference (slope 1)")
    ax.set_xlabel("interactions")
    ax.set_ylabel("seconds per epoch (recolab) / per iteration (ALS)")
    ax.set_title(
        f"Synthetic data, {N_ITEMS} items, {PER_USER} interactions/user, {THREADS} CPU thread"
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    log.info("wrote %s", path)


def run(max_interactions: int = SIZES[-1]) -> list[dict[str, Any]]:
    """Measure every size up to ``max_interactions``; save the section and the PNG."""
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    loads = [machine_load()]
    for n in SIZES:
        if n > max_interactions:
            notes.append(f"10^{round(math.log10(n))}: skipped (--max-interactions)")
            continue
        log.info("scaling: n=%d (%s)", n, machine_load())
        got = _child(n)
        if isinstance(got, str):
            notes.append(f"10^{round(math.log10(n))}: {got}")
            log.warning("n=%d: %s", n, got)
        else:
            rows.extend(got)
    loads.append(machine_load())
    if rows:
        _png(rows, HERE / "scaling.png")
    mib = 2**20
    table = [
        {
            "interactions": f"{r['interactions']:.0e}",
            "users": r["users"],
            "model": r["model"],
            "s per unit": f"{r['unit_s']:.3f} / {r['unit']}",
            "1st epoch s": "-" if r["first_s"] != r["first_s"] else f"{r['first_s']:.2f}",
            "fit wall s": f"{r['fit_s']:.2f}",
            "peak RSS growth in fit MiB": f"{r['mem_delta'] / mib:.0f}",
            "RSS of data alone MiB": f"{r['data_rss'] / mib:.0f}",
            "generate s": f"{r['gen_s']:.1f}",
        }
        for r in rows
    ]
    models = list(dict.fromkeys(r["model"] for r in rows))
    slopes = []
    for m in models:
        s1 = _slope(rows, m, 10**5, 10**6)
        s2 = _slope(rows, m, 10**6, 10**7)
        slopes.append(f"- {m}: slope {s1:.2f} (10⁵→10⁶), {s2:.2f} (10⁶→10⁷)")
    verdicts = []
    for m in models:
        top = _slope(rows, m, 10**6, 10**7)
        step = "10⁶→10⁷"
        if math.isnan(top):
            top, step = _slope(rows, m, 10**5, 10**6), "10⁵→10⁶"
        if math.isnan(top):
            continue
        word = "no worse than linearly" if top <= 1.1 else "faster than linearly"
        verdicts.append(f"- {m}: grows **{word}** at the largest step measured ({step}: {top:.2f})")
    text = (
        "## Scaling on synthetic data\n\n"
        f"`synthetic_interactions(n/{PER_USER} users, {N_ITEMS} items, n)`, each size in its own "
        "process (data generated once per size; the models then train one after the other, "
        "so the second model's RSS growth may be under-counted by reuse of freed heap). "
        f"**Everything single-threaded** ({THREADS} thread for torch, implicit and BLAS): "
        "with 2 threads on 2 cores shared with other jobs, epoch times varied up to 10× "
        "between otherwise identical epochs (OpenMP threads waiting on a descheduled peer). "
        f"recolab: `TrainConfig(epochs={EPOCHS}, item_item='off', use_text=False, "
        f"device={DEVICE!r})` "
        "(and `item_item='auto'`, i.e. with the EASE memory over 2,000 items, up to 10⁶); "
        "seconds per epoch = median of the epochs after the first (the first, shown apart, pays "
        "torch's warm-up; fit wall adds all epochs, history indexing and the scoring cache). "
        f"implicit ALS: 64 factors, {ALS_ITERATIONS} iterations; seconds per iteration = fit "
        f"wall / {ALS_ITERATIONS}. 2 shared CPU cores "
        f"({loads[0]} before, {loads[1]} after): **noisy**, one run each.\n\n"
        + markdown_table(table, list(table[0]) if table else ["interactions"])
        + "\n"
        + ("\n".join(f"- {n}" for n in notes) + "\n\n" if notes else "")
        + "Log-log slopes of seconds per epoch / iteration (1 = linear):\n\n"
        + "\n".join(slopes)
        + "\n\n"
        + "Verdict (slope ≤ 1.1 counts as linear, allowing for timing noise):\n\n"
        + "\n".join(verdicts)
        + "\n\n![scaling](scaling.png)\n"
    )
    save_section("scaling", text)
    assemble()
    return rows


def main(argv: list[str] | None = None) -> int:
    """Entry point (also the child mode, ``--child N``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--max-interactions", type=float, default=float(SIZES[-1]))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.child is not None:
        print("ROWS " + json.dumps(measure(args.child)), flush=True)
        return 0
    run(int(args.max_interactions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
