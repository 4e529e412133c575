"""Wall time of one validation evaluation, as the tuner runs it (``ks=(10, 20)``).

A :class:`~recolab.models.linear.LinearAutoencoder` (``l2=400``) is fitted once per case,
then :func:`recolab.evaluation.evaluate` is timed ``REPEATS`` times (median), together with
its two parts: ``model.recommend`` (scoring, seen-item masking, top-k) and
:func:`recolab.metrics.ranking_metrics`. One thread everywhere. Cases: ML-100K ``u1``
(train / test) and the full Online Retail log (fit / validation of
:func:`recolab.tuning.validation_split`).

The old and new code are measured from clean ``git worktree`` checkouts (so that nobody's
uncommitted edits are timed), this script run from the main checkout with ``PYTHONPATH``
pointing at the checkout to time: first the parent commit with ``--json``, then the new
commit with ``--old`` reading that file, which checks that every metric is unchanged and
writes the section with both timings and their ratio.

Usage::

    git worktree add /tmp/evalold <parent>; git worktree add /tmp/evalnew <commit>
    export RECOLAB_SAMPLE_DATA=/work/shared/datasets  # ML-100K for the worktrees
    PYTHONPATH=/tmp/evalold python benchmarks/evaluation_speed.py --json /tmp/eval_old.json
    PYTHONPATH=/tmp/evalnew python benchmarks/evaluation_speed.py --old /tmp/eval_old.json
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from report import assemble, markdown_table, save_section  # noqa: E402

log = logging.getLogger("benchmarks.evaluation_speed")
REPEATS = 7
KS = (10, 20)
RETAIL = HERE.parent.parent / "shared" / "datasets" / "online-retail" / "online_retail.parquet"


def _cases() -> dict[str, tuple[Any, Any]]:
    from recolab.data.io import load_interactions
    from recolab.data.samples import load_ml100k_split
    from recolab.tuning import validation_split

    train, test = load_ml100k_split("u1")
    split = validation_split(load_interactions(RETAIL))
    return {"ml100k-u1": (train, test), "retail-valid": (split.fit, split.valid)}


def _median_seconds(fn: Any) -> tuple[float, list[float]]:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), times


def measure() -> dict[str, Any]:
    """Time evaluate and its parts on every case; return timings, metrics and the context."""
    import recolab
    from recolab.evaluation import evaluate
    from recolab.metrics import ranking_metrics
    from recolab.models.linear import LinearAutoencoder

    root = Path(recolab.__file__).resolve().parent.parent
    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "recolab/"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    log.info("recolab from %s at %s%s", root, commit, " (+ local changes)" if dirty else "")
    out: dict[str, Any] = {"commit": commit, "dirty": bool(dirty), "root": str(root), "cases": {}}
    load_before = os.getloadavg()
    for name, (train, test) in _cases().items():
        model = LinearAutoencoder(l2=400.0, device="cpu").fit(train)
        test_m = test.matrix(binary=True)
        users = np.flatnonzero(test_m.getnnz(axis=1) > 0)
        topk, _ = model.recommend(users, max(KS))
        result = evaluate(model, train, test, ks=KS)  # warm-up, and the metrics to compare
        t_eval, all_eval = _median_seconds(
            lambda m=model, a=train, b=test: evaluate(m, a, b, ks=KS)
        )
        t_rec, _ = _median_seconds(lambda m=model, u=users: m.recommend(u, max(KS)))
        rows = test_m[users]
        t_rank, _ = _median_seconds(lambda t=topk, r=rows: ranking_metrics(t, r, KS))
        out["cases"][name] = {
            "users": int(users.size),
            "items": int(train.n_items),
            "evaluate_s": t_eval,
            "evaluate_all_s": all_eval,
            "recommend_s": t_rec,
            "ranking_metrics_s": t_rank,
            "metrics": result.metrics,
        }
        log.info(
            "%s: evaluate %.3fs (recommend %.3fs, ranking_metrics %.3fs)",
            name,
            t_eval,
            t_rec,
            t_rank,
        )
    out["load"] = [round(x, 2) for x in (*load_before, *os.getloadavg())]
    return out


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


PNG = HERE / "evaluation_speed.png"
PARTS = ("evaluate_s", "recommend_s", "ranking_metrics_s")


def _png(old: dict[str, Any], new: dict[str, Any], path: Path) -> None:
    """Old and new median ms of each part, one panel per case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(new["cases"])
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6))
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        y = np.arange(len(PARTS))
        for shift, (label, run) in zip((0.2, -0.2), (("old", old), ("new", new)), strict=True):
            ms = [1000 * run["cases"][name][part] for part in PARTS]
            ax.barh(y + shift, ms, height=0.4, label=f"{label} ({run['commit']})")
        ax.set_yticks(y, [part.removesuffix("_s") for part in PARTS])
        ax.invert_yaxis()
        ax.set_xlabel("median ms, one thread")
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3, axis="x")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    log.info("wrote %s", path)


def _section(old: dict[str, Any], new: dict[str, Any]) -> str:
    rows, diffs = [], []
    for name, case in new["cases"].items():
        before = old["cases"][name]
        for key in sorted(set(case["metrics"]) | set(before["metrics"])):
            a, b = before["metrics"].get(key, math.nan), case["metrics"].get(key, math.nan)
            if not _same(float(a), float(b)):
                diffs.append(f"{name} {key}: {a!r} -> {b!r} (|Δ| {abs(a - b):.2e})")
        for part in PARTS:
            rows.append(
                {
                    "case": f"{name} ({case['users']} users × {case['items']} items)",
                    "part": part.removesuffix("_s"),
                    "old ms": 1000 * before[part],
                    "new ms": 1000 * case[part],
                    "new/old": case[part] / before[part],
                }
            )
    same = (
        "Every metric of both cases is bit-for-bit equal to the old code's."
        if not diffs
        else "Metrics that differ:\n\n" + "\n".join(f"- {d}" for d in diffs)
    )
    return (
        "## Validation evaluation speed (one thread)\n\n"
        "`python benchmarks/evaluation_speed.py`: a `LinearAutoencoder(l2=400)` fitted once, "
        f"then `evaluate(..., ks=(10, 20))` and its parts timed {REPEATS} times (median ms), "
        "one thread (OMP/MKL/OpenBLAS and torch). ML-100K u1 train/test; Online Retail "
        "fit/validation of `validation_split`. Old: commit "
        f"`{old['commit']}` (load average before/after {old['load']}); new: commit "
        f"`{new['commit']}`{' + uncommitted changes' if new['dirty'] else ''} (load "
        f"{new['load']}), measured back to back.\n\n"
        + markdown_table(rows, list(rows[0]), digits=3)
        + f"\n\n![old and new evaluation time]({PNG.name})"
        + f"\n\n{same} What is left of `recommend` is mostly the sparse × dense scoring in "
        "`LinearAutoencoder._score_known`, which this benchmark does not change.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the measurement here and stop")
    parser.add_argument("--old", type=Path, help="a --json file of the old code to compare")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import torch

    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - the env variables above still hold
        pass
    new = measure()
    if args.json is not None:
        args.json.write_text(json.dumps(new, indent=1), encoding="utf-8")
        log.info("wrote %s", args.json)
        return 0
    if args.old is None:
        parser.error("give --old FILE (a --json run of the old code) to write the section")
    old = json.loads(args.old.read_text(encoding="utf-8"))
    _png(old, new, PNG)
    save_section("evaluation_speed", _section(old, new))
    assemble()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
