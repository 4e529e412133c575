"""Robustness to fake profiles: inject push attacks, measure the targets' reach, defend.

For ML-100K (``u1.base`` / ``u1.test``) and the full Online Retail log (global temporal split,
last 20 % of time as test, as in ``generalisation.py``):

1. five target items are drawn (seeded) among the training items of mid popularity
   (:func:`recolab.data.attacks.choose_targets`);
2. random and average attacks of 1 %, 3 % and 5 % of the user count are injected into the
   training data only (:func:`recolab.data.attacks.inject_attack`);
3. recolab's default model (:func:`recolab.tuning.fit_tuned`, validation carved from the
   training data, a budget of ``--trials`` trials and no practical time limit, so every run
   gets the same number of trials whatever the machine's load; nothing chosen on test) is
   fitted on the clean, the attacked and the defended (flagged profiles removed or
   down-weighted, :func:`recolab.data.shilling.defend`) training data;
4. **target hit-ratio@20** = share of the genuine training users with at least one target in
   their top 20 (served λ, seen items excluded); **ndcg@10** on the test split for every model
   (the defence's cost is read on clean data).

Detection alone (no model) is also run for a careful attacker whose fake profiles are
stamped in shopping sessions or in one burst (``inject_attack(timing=...)``), and the
detector's time is measured on the full data set (for retail the whole 13-month log).

Writes ``benchmarks/shilling_runs/<dataset>.json`` and the ``shilling`` section of RESULTS.md.
One thread for everything.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from report import assemble, checkout, save_section  # noqa: E402

from recolab.data.attacks import ATTACKS, TIMINGS, choose_targets, inject_attack  # noqa: E402
from recolab.data.interactions import InteractionData  # noqa: E402
from recolab.data.io import load_interactions  # noqa: E402
from recolab.data.shilling import (  # noqa: E402
    ShillingOptions,
    burstiness_statistic,
    defend,
    detect_shilling,
)
from recolab.data.splits import given_files, temporal_split  # noqa: E402
from recolab.evaluation import evaluate  # noqa: E402
from recolab.tuning import TuneBudget, fit_tuned  # noqa: E402

log = logging.getLogger("benchmarks.shilling")

SHARED = HERE.parent.parent / "shared" / "datasets"
OUT = HERE / "shilling_runs"
SIZES = (0.01, 0.03, 0.05)
DEFENCES = ("off", "remove", "downweight")


def load_full(name: str) -> InteractionData:
    """The whole data set (the detector's timing is read on it)."""
    if name == "ml100k":
        return load_interactions(SHARED / "ml-100k" / "u.data")
    return load_interactions(SHARED / "online-retail" / "online_retail.parquet")


def load_case(name: str) -> tuple[InteractionData, InteractionData]:
    """(train, test) of a data set."""
    if name == "ml100k":
        folder = SHARED / "ml-100k"
        return given_files(folder / "u1.base", folder / "u1.test")
    return temporal_split(load_full(name), 0.2)


def detection_timing(name: str, repeats: int = 3) -> dict[str, float]:
    """Best-of-``repeats`` seconds of the whole detector and of the new statistics on the full
    data set (the data report runs the detector on every load)."""
    data = load_full(name)
    f = data.frame
    users = f["user_idx"].to_numpy(np.int64)
    times = f["timestamp"].to_numpy()
    out: dict[str, float] = {"rows": float(len(f))}
    for label, call in (
        ("detect_shilling", lambda: detect_shilling(data)),
        ("no_sessions", lambda: burstiness_statistic(users, times, data.n_users)),
    ):
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            report = call()
            best = min(best, time.perf_counter() - start)
        out[label] = best
        if label == "detect_shilling":
            out["flagged"] = float(len(report.flags))
    out["load_average"] = os.getloadavg()[0]
    return out


def careful_attackers(
    train: InteractionData, targets: np.ndarray, sizes: tuple[float, ...]
) -> list[dict[str, Any]]:
    """Detection only (no model): every attack × size × timing of the fake stamps."""
    rows = []
    for kind in ATTACKS:
        for size in sizes:
            for timing in TIMINGS:
                attack = inject_attack(train, kind, size, targets=targets, seed=0, timing=timing)
                report = detect_shilling(attack.data, ShillingOptions())
                caught = int(np.isin(attack.fake_users, report.flagged).sum())
                rows.append(
                    {
                        "attack": kind,
                        "size": size,
                        "timing": timing,
                        "fakes": len(attack.fake_users),
                        "caught": caught,
                        "genuine_flagged": len(report.flags) - caught,
                        "reasons": report.reason_counts(),
                    }
                )
                log.info("detection only: %s", rows[-1])
    return rows


def target_hit_ratio(model: Any, n_genuine: int, targets: np.ndarray, k: int = 20) -> float:
    """Share of the genuine users (indices below ``n_genuine``) with a target in their top k."""
    users = np.arange(n_genuine)
    hits = np.zeros(n_genuine, dtype=bool)
    for start in range(0, n_genuine, 1024):
        ids, _ = model.recommend(users[start : start + 1024], k)
        hits[start : start + 1024] = np.isin(ids, targets).any(axis=1)
    return float(hits.mean())


def one_run(
    train: InteractionData,
    clean: InteractionData,
    test: InteractionData,
    targets: np.ndarray,
    defence: str,
    budget: TuneBudget,
) -> dict[str, Any]:
    """Defend (or not), fit the default model, measure target reach and test ndcg@10."""
    start = time.perf_counter()
    fit_on, summary = defend(train, defence)
    tuned = fit_tuned(fit_on, budget=budget, seed=0, device="cpu")
    # fitted without the flagged profiles, serving every user's own history (as `train`)
    model = tuned.recommender() if defence == "off" else tuned.serving(train)
    hr = target_hit_ratio(model, clean.n_users, targets)
    # genuine users' test ndcg, seen items = their real (clean) training history
    metrics = evaluate(model, clean, test, ks=(10,)).metrics
    return {
        "defence": defence,
        "target_hr@20": hr,
        "ndcg@10": float(metrics["ndcg@10"]),
        "flagged": summary["flagged_users"],
        "removed_interactions": summary["interactions_removed"],
        "seconds": time.perf_counter() - start,
    }


def run_dataset(
    name: str, budget: TuneBudget, defences: tuple[str, ...], sizes: tuple[float, ...]
) -> dict[str, Any]:
    """Every attack × size × defence on one data set (plus clean data)."""
    train, test = load_case(name)
    targets = choose_targets(train, 5, seed=0)
    log.info("%s: %d users, targets %s", name, train.n_users, train.items.ids[targets].tolist())
    runs: list[dict[str, Any]] = []
    for defence in defences:
        runs.append(
            {"attack": "none", "size": 0.0, **one_run(train, train, test, targets, defence, budget)}
        )
        log.info("%s clean %s: %s", name, defence, runs[-1])
    for kind in ATTACKS:
        for size in sizes:
            attack = inject_attack(train, kind, size, targets=targets, seed=0)
            start = time.perf_counter()
            report = detect_shilling(attack.data)
            seconds = time.perf_counter() - start
            flagged = report.flagged
            caught = int(np.isin(attack.fake_users, flagged).sum())
            detection = {
                "fakes": len(attack.fake_users),
                "caught": caught,
                "genuine_flagged": int(len(flagged) - caught),
                "reasons": report.reason_counts(),
                "detect_seconds": seconds,
            }
            for defence in defences:
                row = one_run(attack.data, train, test, targets, defence, budget)
                runs.append({"attack": kind, "size": size, **detection, **row})
                log.info("%s %s %.0f%% %s: %s", name, kind, 100 * size, defence, runs[-1])
    return {
        "dataset": name,
        "targets": train.items.ids[targets].tolist(),
        "runs": runs,
        "careful": careful_attackers(train, targets, sizes),
        "detection_timing": detection_timing(name),
    }


def section(results: list[dict[str, Any]], budget: TuneBudget) -> str:
    """The markdown section."""
    lines = [
        "## Robustness to fake profiles (shilling)",
        "",
        "`python benchmarks/shilling.py` (one thread; each data set names its commit and run "
        "time below). "
        "Five mid-popularity target items (seeded), random and average push attacks of 1/3/5 % "
        "of the user count injected into the training data only (filler = the median real "
        "profile size; timestamps spread over the log's span). recolab's default model "
        f"(`fit_tuned`, validation carved from train, budget {budget.n_trials} trials, no "
        "time limit, so every fit gets the same trials whatever the load) fitted on clean, "
        "attacked and defended data; defence = the "
        "profiles `recolab.data.shilling.detect_shilling` flags removed (`remove`) or kept "
        "at 25 % of their interactions (`downweight`). **HR@20** = share of genuine users "
        "with a target in their top 20; ndcg@10 on the test split (genuine users). "
        "*Detection only*: the same attacks with the fakes' stamps spread (each interaction "
        "at its own instant, as in the model runs), in sessions (as many baskets as a "
        "random genuine profile) or in one burst; no model is fitted.",
        "",
    ]
    for res in results:
        lines += _table(res)
    return "\n".join(lines)


def _table(res: dict[str, Any]) -> list[str]:
    runs = res["runs"]
    clean = {r["defence"]: r for r in runs if r["attack"] == "none"}
    base_hr, base_ndcg = clean["off"]["target_hr@20"], clean["off"]["ndcg@10"]
    lines = [
        f"### {res['dataset']} (targets {', '.join(map(str, res['targets']))})",
        "",
        f"Commit `{res['commit']}`, {res['minutes']:.1f} min"
        + (
            f" (load average {res['load_average'][0]:.1f} / {res['load_average'][2]:.1f} "
            "over 1 / 15 min at the end)."
            if "load_average" in res
            else "."
        ),
        "",
        "| attack | size | fakes caught | genuine flagged | defence | HR@20 | HR / clean "
        "| ndcg@10 | ndcg vs clean, no defence |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        ratio = r["target_hr@20"] / base_hr if base_hr > 0 else float("inf")
        caught = f"{r['caught']}/{r['fakes']}" if "fakes" in r else "–"
        flagged = str(r.get("genuine_flagged", r["flagged"]))
        lines.append(
            f"| {r['attack']} | {100 * r['size']:.0f} % | {caught} | {flagged} | {r['defence']} | "
            f"{r['target_hr@20']:.4f} | {ratio:.2f} | {r['ndcg@10']:.4f} | "
            f"{100 * (r['ndcg@10'] / base_ndcg - 1):+.2f} % |"
        )
    lines.append("")
    return lines + _careful_table(res) + _timing_lines(res)


def _careful_table(res: dict[str, Any]) -> list[str]:
    if not res.get("careful"):
        return []
    lines = [
        "Detection only, by how the fakes are stamped:",
        "",
        "| attack | size | timing | fakes caught | genuine flagged | reasons |",
        "|---|---|---|---|---|---|",
    ]
    for r in res["careful"]:
        reasons = ", ".join(f"{k} {v}" for k, v in r["reasons"].items())
        lines.append(
            f"| {r['attack']} | {100 * r['size']:.0f} % | {r['timing']} | "
            f"{r['caught']}/{r['fakes']} | {r['genuine_flagged']} | {reasons} |"
        )
    return [*lines, ""]


def _timing_lines(res: dict[str, Any]) -> list[str]:
    t = res.get("detection_timing")
    if not t:
        return []
    return [
        f"Detector time on the full data set ({t['rows']:.0f} rows, best of 3, load average "
        f"{t['load_average']:.1f}): `detect_shilling` {t['detect_shilling']:.2f} s in all "
        f"({t['flagged']:.0f} users flagged), of which the burstiness statistic "
        f"{t['no_sessions']:.3f} s.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    """Run, write results.json and the RESULTS.md section."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", default=["ml100k", "retail"])
    p.add_argument("--defences", nargs="+", default=list(DEFENCES), choices=DEFENCES)
    p.add_argument("--sizes", nargs="+", type=float, default=list(SIZES))
    p.add_argument("--trials", type=int, default=5)
    # a trial-count budget: the seconds are only a guard, so load does not change the trials
    p.add_argument("--seconds", type=float, default=1e6)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(1)
    budget = TuneBudget(args.trials, args.seconds)
    commit = checkout(subject=True)
    OUT.mkdir(exist_ok=True)
    for name in args.datasets:
        start = time.perf_counter()
        res = run_dataset(name, budget, tuple(args.defences), tuple(args.sizes))
        res.update(
            commit=commit,
            minutes=(time.perf_counter() - start) / 60,
            load_average=os.getloadavg(),
            budget={"trials": budget.n_trials, "seconds": budget.seconds},
        )
        (OUT / f"{name}.json").write_text(json.dumps(res, indent=2))
    # the section shows every data set run so far (each file names its own commit)
    results = [json.loads(f.read_text()) for f in sorted(OUT.glob("*.json"))]
    save_section("shilling", section(results, budget))
    assemble()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
