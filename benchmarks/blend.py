"""Selection noise of the tuned base, and whether averaging the near-best trials reduces it.

The experiment that made the ``near-best`` rule the default base (6039f08,
:class:`recolab.models.averaged_linear.AveragedLinearAutoencoder`). It asks whether the
base's λ = 0 accuracy on test would be steadier if, instead of the study's single most
accurate trial, recolab served the average of the weight matrices of several equally
accurate trials (a hyperparameter ensemble; scores are ``x_u W``, so averaging ``W``
averages the scores).

For each data set and seed (the splits of ``generalisation.py``): the same validation split
and the same seeded 30-trial study as ``fit_tuned`` (a trial budget, so the machine's load
does not change the trials); then these rules, **all fixed in advance and all decided on
validation only**, each fitted on the fit part (validation score) and on the whole training
data (test score, read once per rule):

- ``single``: the study's most accurate trial (recolab's base before the trade-off step);
- ``near-best``: the average of the trials within 0.5 % of the best validation score
  (at most 5; the tolerance ``select.ACCURACY_TOLERANCE`` already calls equally accurate);
- ``top-5``: the average of the 5 most accurate trials;
- ``top-5 + EASE``: those and the study's best plain EASE, equally weighted;
- ``EASE``: the study's best plain-EASE trial, the reference (= 1).

Scores are the tuning objective (geometric mean of recall@20 and ndcg@10, ``tune_score``).

    python benchmarks/blend.py            # every case, then the section
    python benchmarks/blend.py --report   # the section from the stored runs
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from generalisation import load_case  # noqa: E402
from peers import machine_load  # noqa: E402
from report import assemble, save_section  # noqa: E402

from recolab.data.interactions import InteractionData  # noqa: E402
from recolab.evaluation import evaluate  # noqa: E402
from recolab.models.linear import LinearAutoencoder  # noqa: E402
from recolab.tuning import tune_score, validation_split  # noqa: E402
from recolab.tuning.study import TuneBudget, is_ease, params_from, tune_linear  # noqa: E402

log = logging.getLogger("benchmarks.blend")

RUNS = HERE / "blend_runs"
CASES = (
    *(("ml100k-u1", s) for s in (0, 1, 2)),
    *(("ml100k-random", s) for s in (0, 1, 2)),
    *(("synthetic", s) for s in (0, 1, 2)),
    ("retail-random", 0),
    ("retail-random", 1),
    ("retail-temporal", 0),
    ("retail-temporal", 1),
)
RULES = ("single", "near-best", "top-5", "top-5 + EASE", "EASE")
TOLERANCE = 0.005
MAX_MEMBERS = 5


def rule_members(trials: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The trials each rule averages (``trials``: every finished trial of the study)."""
    ranked = sorted(trials, key=lambda t: -t["score"])
    best = ranked[0]["score"]
    ease = max((t for t in ranked if is_ease(t)), key=lambda t: t["score"])
    near = [t for t in ranked[:MAX_MEMBERS] if t["score"] >= (1 - TOLERANCE) * best]
    top5 = ranked[:MAX_MEMBERS]
    return {
        "single": ranked[:1],
        "near-best": near,
        "top-5": top5,
        "top-5 + EASE": top5 if ease in top5 else [*top5, ease],
        "EASE": [ease],
    }


def blended(members: list[dict[str, Any]], data: InteractionData) -> LinearAutoencoder:
    """The average of the members' weight matrices, each solved on ``data``."""
    x = data.matrix(binary=True)
    total: np.ndarray | None = None
    for values in members:
        w = LinearAutoencoder(params_from(values, x), device="cpu").fit(data).weights_
        total = w if total is None else total + w
    assert total is not None
    params = params_from(members[0], x)
    return LinearAutoencoder.from_weights(total / len(members), data, params)


def run_case(dataset: str, seed: int) -> dict[str, Any]:
    """The study, then every rule's validation and test score."""
    case = load_case(dataset, seed)
    split = validation_split(case.train, seed=seed)
    study = tune_linear(
        split,
        budget=TuneBudget(30, 1e9),
        seed=seed,
        device="cpu",
        refit_on=case.train.matrix(binary=True),
    )
    keys = list(study.values)
    members = rule_members(study.trials)
    out: dict[str, Any] = {
        "dataset": dataset,
        "seed": seed,
        "members": {r: [{k: t[k] for k in keys} for t in m] for r, m in members.items()},
    }
    halves = {"valid": (split.fit, split.valid), "test": (case.train, case.test)}
    for part, (fit, held) in halves.items():
        out[part] = {
            rule: tune_score(evaluate(blended(m, fit), fit, held, ks=(10, 20)).metrics)
            for rule, m in members.items()
        }
    return out


def section(runs: list[dict[str, Any]], load: str) -> str:
    """The markdown section: every run's ratios to EASE, then the mean and worst per rule."""
    lines = [
        "## Averaging the near-best trials (the experiment behind the default base)",
        "",
        __doc__.split("\n\n", 1)[1].split("\n    python")[0].strip(),
        "",
        f"Commit `{', '.join(sorted({r['commit'] for r in runs}))}` (the code each run "
        f"started on), one thread, {load} when the section was written.",
        "",
        "| data | seed | members (near-best) | "
        + " | ".join(f"{r} valid" for r in RULES[:-1])
        + " | "
        + " | ".join(f"{r} test" for r in RULES[:-1])
        + " |",
        "|---|---|---|" + "---|" * (2 * (len(RULES) - 1)),
    ]
    ratios: dict[str, list[float]] = {r: [] for r in RULES[:-1]}
    for run in runs:
        v, t = run["valid"], run["test"]
        for r in RULES[:-1]:
            ratios[r].append(t[r] / t["EASE"])
        cells = [f"{v[r] / v['EASE']:.4f}" for r in RULES[:-1]]
        cells += [f"{t[r] / t['EASE']:.4f}" for r in RULES[:-1]]
        n = len(run["members"]["near-best"])
        lines.append(f"| {run['dataset']} | {run['seed']} | {n} | " + " | ".join(cells) + " |")
    lines += ["", "Test score over the study's best plain EASE, over every run:", ""]
    lines += ["| rule | mean | sd | min |", "|---|---|---|---|"]
    for r, xs in ratios.items():
        a = np.asarray(xs)
        lines.append(f"| {r} | {a.mean():.4f} | {a.std(ddof=1):.4f} | {a.min():.4f} |")
    wins = sum(a > b for a, b in zip(ratios["near-best"], ratios["single"], strict=True))
    lines += [
        "",
        f"`near-best` over `single` on test: higher in {wins} of {len(runs)} runs. Accuracy "
        "only (λ = 0); the trade-off fronts over an averaged base are not measured here.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="only write the section")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(1)
    RUNS.mkdir(exist_ok=True)
    load = machine_load()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
    ).stdout.strip()
    if not args.report:
        for dataset, seed in CASES:
            result = {**run_case(dataset, seed), "commit": commit}
            path = RUNS / f"{dataset}-seed{seed}.json"
            path.write_text(json.dumps(result, indent=1), encoding="utf-8")
            log.info("%s seed %d: %s", dataset, seed, result["test"])
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(RUNS.glob("*.json"))]
    save_section("blend", section(runs, load))
    assemble()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
