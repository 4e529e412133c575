"""Tables and figure of the generalisation benchmark, from the JSON records of
``generalisation.py`` (one per data set and seed); writes the ``generalisation`` section of
``RESULTS.md`` and ``generalisation.png``.

Usage::

    python benchmarks/generalisation_report.py [--runs benchmarks/generalisation_runs]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from report import assemble, markdown_table, save_section  # noqa: E402

log = logging.getLogger("benchmarks.generalisation_report")

PAIR = "ndcg@10|coverage@20"
NOVELTY_PAIR = "ndcg@10|novelty@20"
DETAIL_COLUMNS = [
    *("dataset", "seed", "r20", "n10", "r20_def", "n10_def", "lam_def", "diff", "p"),
    *("hv", "best_peer", "hv_valid_peer", "hv_easepop"),
    *("hv_nov", "hv_floor", "cov5", "mechanism", "members", "ease", "seconds"),
]
ORDER = ["ml100k-u1", "ml100k-random", "retail-temporal", "retail-random", "synthetic"]


def load_runs(folder: Path) -> list[dict[str, Any]]:
    """Every record, in data-set then seed order."""
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(runs, key=lambda r: (rank.get(r["dataset"], 99), r["seed"]))


def per_seed(run: dict[str, Any]) -> dict[str, Any]:
    """One row of derived figures for one data set and seed."""
    peers = run["hv_peers"]
    best_test = max(peers, key=lambda k: peers[k][PAIR])
    # like for like: each peer's mechanism chosen on validation, then the largest peer front
    by_family: dict[str, str] = {}
    for key, hv in run["peer_validation_hv"].items():
        family = key.split("+")[0]
        if family not in by_family or hv > run["peer_validation_hv"][by_family[family]]:
            by_family[family] = key
    best_valid = max(by_family.values(), key=lambda k: peers[k][PAIR])
    return {
        "dataset": run["dataset"],
        "seed": run["seed"],
        "r20": run["ours0"]["recall@20"] / run["ease0"]["recall@20"],
        "n10": run["ours0"]["ndcg@10"] / run["ease0"]["ndcg@10"],
        "r20_def": _at_default(run, "recall@20"),
        "n10_def": _at_default(run, "ndcg@10"),
        "lam_def": run.get("lam_default", 0.0),
        "p": run["wilcoxon_ndcg10"]["p"],
        "diff": run["wilcoxon_ndcg10"]["mean_diff"],
        "hv": run["hv_ours"][PAIR] / peers[best_test][PAIR],
        "best_peer": best_test,
        "hv_valid_peer": run["hv_ours"][PAIR] / peers[best_valid][PAIR],
        "hv_easepop": run["hv_ours"][PAIR] / peers["ease+popularity"][PAIR],
        "hv_nov": run["hv_ours"][NOVELTY_PAIR] / max(v[NOVELTY_PAIR] for v in peers.values()),
        "hv_floor": run["hv_ours"]["floor"] / max(v["floor"] for v in peers.values()),
        "cov5": run["coverage_at_5pct"] / run["ease_coverage"],
        "mechanism": f"{run['mechanism']} (C={run['n_candidates']})",
        "members": run.get("n_members", 1),
        "seconds": run["pipeline_s"],
        "peak_mib": run["peak_mib"],
        "ease": run["ease_label"],
    }


def _at_default(run: dict[str, Any], metric: str) -> float:
    """Test ``metric`` at the served default λ over tuned EASE's (λ = 0 in older runs)."""
    return run.get("ours_default", run["ours0"])[metric] / run["ease0"][metric]


def mean_sd(values: pd.Series, digits: int = 3) -> str:
    """``mean ± sd (min)`` over seeds."""
    v = values.to_numpy(float)
    sd = v.std(ddof=1) if len(v) > 1 else 0.0
    return f"{v.mean():.{digits}f} ± {sd:.{digits}f} (min {v.min():.{digits}f})"


def summary_rows(rows: pd.DataFrame) -> list[dict[str, object]]:
    """One row per data set: mean ± sd (min) over seeds of every ratio."""
    out = []
    for dataset, g in rows.groupby("dataset", sort=False):
        out.append(
            {
                "data": dataset,
                "seeds": len(g),
                "R@20 / EASE": mean_sd(g["r20"]),
                "N@10 / EASE": mean_sd(g["n10"]),
                "R@20 / EASE, default λ": mean_sd(g["r20_def"]),
                "N@10 / EASE, default λ": mean_sd(g["n10_def"]),
                "HV cov / peers max": mean_sd(g["hv"]),
                "HV cov / peer (valid)": mean_sd(g["hv_valid_peer"]),
                "HV cov / EASE+pop": mean_sd(g["hv_easepop"]),
                "HV nov / peers max": mean_sd(g["hv_nov"]),
                "HV above 0.8·EASE": mean_sd(g["hv_floor"]),
                "cov@5% / EASE": mean_sd(g["cov5"], 2),
                "time s (max)": f"{g['seconds'].mean():.1f} ({g['seconds'].max():.1f})",
                "peak MiB": f"{g['peak_mib'].max():.0f}",
            }
        )
    return out


def front_png(runs: list[dict[str, Any]], path: Path) -> None:
    """ndcg@10 against coverage@20 on test, seed 0 of each data set: recolab's default
    front, the best peer + re-ranker front and EASE + popularity penalty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    firsts = [r for r in runs if r["seed"] == min(x["seed"] for x in runs)]
    fig, axes = plt.subplots(1, len(firsts), figsize=(4.2 * len(firsts), 3.8), squeeze=False)
    for ax, run in zip(axes[0], firsts, strict=True):
        peers = run["hv_peers"]
        best = max(peers, key=lambda k: peers[k][PAIR])
        curves = {
            f"recolab ({run['mechanism']})": run["ours_front"],
            f"best peer: {best}": run["peer_fronts"][best],
            "ease+popularity": run["peer_fronts"]["ease+popularity"],
        }
        for label, front in curves.items():
            f = pd.DataFrame(front)
            ax.plot(f["coverage@20"], f["ndcg@10"], marker="o", ms=3, label=label)
        ax.set_title(run["dataset"], fontsize=10)
        ax.set_xlabel("coverage@20")
        ax.set_ylabel("ndcg@10")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def section(runs: list[dict[str, Any]], commit: str) -> str:
    """The markdown section."""
    rows = pd.DataFrame([per_seed(r) for r in runs])
    detail = rows.assign(
        p=rows["p"].map(lambda v: f"{v:.2g}"),
        diff=rows["diff"].map(lambda v: f"{v:+.4f}"),
    ).to_dict("records")
    summary = summary_rows(rows)
    floors = (rows.groupby("dataset")[["r20", "n10", "hv"]].mean() >= 1.0).all(axis=1)
    met = ", ".join(d for d, ok in floors.items() if ok) or "none"
    missed = ", ".join(d for d, ok in floors.items() if not ok) or "none"
    return f"""## Generalisation: the default model on several data sets, chosen on validation

`python benchmarks/generalisation.py` then `python benchmarks/generalisation_report.py`, on
commit {commit}. One thread for every library. For each data set and seed: train/test split,
then validation carved out of train by the same rule `recolab train` uses (a global time cut
of train, its last 20 % of interactions, where test lies after train in time: retail-temporal;
else per-user random, or each user's latest 20 % for a timed log); **every choice
(recolab's study, its trade-off mechanism, λ range and candidate count; each peer's grid
and each peer's re-ranker range) is made on validation**, then test is read once.

- recolab: `fit_tuned` defaults (30-trial Optuna study over the linear base, 60 s budget;
  every mechanism's front on validation, the largest (ndcg@10, coverage@20) hypervolume
  chosen; the base: the mean of the trials within 0.5 % of the best validation score (at
  most 5; `members` in the table of runs: 1 for a single trial), or the study's best plain
  EASE when its front of the chosen mechanism is larger on validation; top-k sparsity only
  above 4,096 items with more users than items, so none here). With fewer users than items
  (ML-100K, synthetic-wide) the base is solved in dual form, a users × users system with
  the same weights (`recolab/models/dual.py`).
- "R@20 / EASE", "N@10 / EASE": recolab at λ = 0 (its base) over tuned EASE on test; ", default
  λ": at the λ the model serves by default, its front's most accurate point on validation
  (`lam_def` in the table of runs).
- Peers, tuned on the same validation split and refitted on train: EASE (l2 grid of 8),
  `implicit` ALS (6 configs) and BPR (4 configs); each with every re-ranker, calibrated the
  same way as recolab's.
- "HV cov / peers max": hypervolume of (ndcg@10, coverage@20) on test (reference at the
  origin) over the largest of the 12 peer + re-ranker fronts as measured on test (an upper
  bound for the peers: nothing of recolab's is chosen that way); "peer (valid)": each
  peer's re-ranker chosen on validation, then the largest peer front; "EASE+pop": over
  tuned EASE with the plain popularity penalty, issue 17's ten-line peer (the peers get
  every re-ranker recolab has, so "peers max" includes recolab's own mechanisms on EASE).
  "HV above 0.8·EASE": the same area above 80 % of tuned EASE's test ndcg@10.
- "cov@5% / EASE": coverage@20 of recolab's front within 5 % of its λ = 0 ndcg@10, over
  tuned EASE's coverage@20.
- Time and peak memory: the whole recolab pipeline, tuning included (peak RSS of the
  process, data loading included).
- Data: ML-100K `u1` (given split) and a per-user random 80/20 split of `u.data`; the full
  UCI Online Retail log (4,335 users × 3,659 items after cleaning) with a global temporal
  80/20 split and a per-user random one; synthetic: 3,000 × 2,000, density 0.012, Zipf 1.1;
  synthetic-wide: 610 × 9,000, 81,000 interactions, Zipf 1.1 (the shape of issue 17's
  held-out movie-ratings set; tuned on the whole catalogue in dual form since 7a7c158, on
  its 4,096-item head before, `recolab/tuning/head.py`), a per-user random 80/20 split.
  u1 and the temporal split are fixed: there the seed moves validation and the study only.

### Summary (mean ± sd over seeds, and the worst seed)

{markdown_table(summary, list(summary[0]))}
Floors (mean ≥ 1.00 on R@20, N@10 and HV vs the best peer): met on {met}; not met on {missed}.

### Every run

{markdown_table(detail, DETAIL_COLUMNS)}
`diff`, `p`: mean per-user ndcg@10 difference (recolab − tuned EASE) on test and the paired
Wilcoxon p-value over users.

![fronts](generalisation.png)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=str(HERE / "generalisation_runs"))
    parser.add_argument("--commit", default="(see git log)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    runs = load_runs(Path(args.runs))
    if not runs:
        log.error("no runs in %s", args.runs)
        return 1
    front_png(runs, HERE / "generalisation.png")
    save_section("generalisation", section(runs, args.commit))
    assemble()
    log.info("wrote the generalisation section from %d runs", len(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
