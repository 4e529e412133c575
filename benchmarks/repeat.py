"""Repeat purchases (``--repeat``): what the base's own-item weight is worth on test.

For each data set (a log with repeat purchases, split globally in time: rows cut before
merging, so a pair bought again after the cut is a test purchase) and seed:

- **recolab, own items not weighed**: ``fit_tuned`` as before 17b2f89 (validation a global
  time cut of the merged pairs, EASE's zero diagonal), its lists keeping own items;
- **recolab, own items weighed**: ``fit_tuned(repeat_rows=...)``: validation cut from the
  rows before merging, the own-item weight chosen on it (``recolab.tuning.repeat``); an
  own item scores that weight times the user's purchases of it;
- **peer, EASE + own-item weight**: EASE's l2 picked on the same validation split (grid of
  8, the generalisation benchmark's), then the same own-item weight search over it (with
  the same purchase counts), then refitted on train: what an analyst could write in ten
  lines.

Everything is chosen on validation; test is read once per model, with the users' own items
among the candidates (``Protocol(exclude_seen=False)``). Data: the full Online Retail log
(``--split temporal``) and a synthetic log of 3,000 users × 1,000 items whose users keep to
five staples each with a rebuy rate drawn per user. The temporal splits are fixed; the seed
moves the study.

Usage::

    python benchmarks/repeat.py            # writes the "repeat" section of RESULTS.md
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from report import assemble, markdown_table, save_section  # noqa: E402

from recolab.data.interactions import InteractionData  # noqa: E402
from recolab.data.io import load_interactions  # noqa: E402
from recolab.data.splits import merge_pairs, temporal_split  # noqa: E402
from recolab.evaluation import Protocol, evaluate  # noqa: E402
from recolab.models.linear import LinearAutoencoder, LinearParams  # noqa: E402
from recolab.tuning import fit_tuned, tune_score, validation_split  # noqa: E402
from recolab.tuning.repeat import choose_repeat_weight  # noqa: E402
from recolab.tuning.study import mean_gram_diagonal  # noqa: E402

log = logging.getLogger("benchmarks.repeat")

SHARED = HERE.parent.parent / "shared" / "datasets"
SEEDS = (0, 1, 2)
EASE_SCALES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
SERVED = Protocol(exclude_seen=False)


def synthetic_rows(folder: Path, seed: int = 0) -> InteractionData:
    """3,000 users × 1,000 items over 120 days: each user has 5 staples bought again at a
    rebuy rate drawn from U(0.1, 0.7), else a Zipf-popular item; 30 purchases each."""
    rng = np.random.default_rng(seed)
    n_users, n_items, per_user = 3000, 1000, 30
    pop = 1.0 / np.arange(1, n_items + 1) ** 1.1
    pop /= pop.sum()
    users = np.repeat(np.arange(n_users), per_user)
    staples = rng.choice(n_items, size=(n_users, 5), p=pop)
    rates = rng.uniform(0.1, 0.7, n_users)
    rebuy = rng.random(users.size) < rates[users]
    own = staples[users, rng.integers(0, 5, users.size)]
    items = np.where(rebuy, own, rng.choice(n_items, users.size, p=pop))
    days = rng.integers(0, 120, users.size)
    frame = pd.DataFrame(
        {
            "user": [f"u{u}" for u in users],
            "item": [f"i{i}" for i in items],
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"),
        }
    )
    frame.to_csv(folder / "repeat_log.csv", index=False)
    return load_interactions(folder / "repeat_log.csv", merge=False)


def split_rows(rows: InteractionData) -> tuple[InteractionData, InteractionData, InteractionData]:
    """(train, test, the training rows unmerged): a global temporal 80/20 cut of the rows."""
    train_rows, test_rows = temporal_split(rows, 0.2)
    return merge_pairs(train_rows), merge_pairs(test_rows), train_rows


def served_metrics(model: Any, train: InteractionData, test: InteractionData) -> dict[str, float]:
    return evaluate(model, train, test, ks=(10, 20), protocol=SERVED, accuracy_only=True).metrics


def ease_peer(train: InteractionData, rows: InteractionData, seed: int) -> tuple[Any, str]:
    """EASE with l2 picked on validation (cut from the rows), then its own-item weight picked
    the same way recolab picks it, refitted on ``train``."""
    split = validation_split(train, seed=seed, forward=True, rows=rows)
    mean = mean_gram_diagonal(split.fit.matrix(binary=True), 0.0)
    scores = {}
    for scale in EASE_SCALES:
        model = LinearAutoencoder(LinearParams(l2=scale * mean), device="cpu").fit(split.fit)
        metrics = evaluate(model, split.fit, split.valid, ks=(10, 20), accuracy_only=True).metrics
        scores[scale] = (tune_score(metrics), model)
    scale = max(scores, key=lambda s: scores[s][0])
    choice = choose_repeat_weight(scores[scale][1].with_purchases(split.fit_purchases), split)
    full = mean_gram_diagonal(train.matrix(binary=True), 0.0)
    params = LinearParams(l2=scale * full, repeat_weight=choice.weight)
    label = f"l2 {scale:g}× mean, weight {choice.multiple:g}× spread"
    model = LinearAutoencoder(params, device="cpu").fit(train)
    return model.with_purchases(rows.matrix(binary=True)), label


def run_case(name: str, rows: InteractionData, seed: int) -> dict[str, Any]:
    train, test, train_rows = split_rows(rows)
    plain = fit_tuned(train, forward=True, seed=seed, device="cpu")
    weighed = fit_tuned(train, forward=True, repeat_rows=train_rows, seed=seed, device="cpu")
    peer, peer_label = ease_peer(train, train_rows, seed)
    out: dict[str, Any] = {"data": name, "seed": seed}
    for label, model in (("plain", plain.base), ("repeat", weighed.base), ("peer", peer)):
        metrics = served_metrics(model, train, test)
        out[f"{label} N@10"] = metrics["ndcg@10"]
        out[f"{label} R@20"] = metrics["recall@20"]
    served = served_metrics(weighed.recommender(), train, test)
    out["repeat N@10, default λ"] = served["ndcg@10"]
    out["weight"] = f"{weighed.repeat.multiple:g}× spread" if weighed.repeat else "-"
    out["peer"] = peer_label
    log.info("%s seed %d: %s", name, seed, out)
    return out


def summary(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name in dict.fromkeys(r["data"] for r in runs):
        mine = [r for r in runs if r["data"] == name]

        def mean(key: str, mine: list[dict[str, Any]] = mine) -> float:
            return statistics.fmean(r[key] for r in mine)

        def ratio(a: str, b: str, mine: list[dict[str, Any]] = mine) -> str:
            values = [r[a] / r[b] for r in mine]
            sd = statistics.pstdev(values)
            return f"{statistics.fmean(values):.3f} ± {sd:.3f} (min {min(values):.3f})"

        rows.append(
            {
                "data": name,
                "seeds": len(mine),
                "N@10 not weighed": mean("plain N@10"),
                "N@10 weighed": mean("repeat N@10"),
                "N@10 EASE + weight": mean("peer N@10"),
                "weighed / not, N@10": ratio("repeat N@10", "plain N@10"),
                "weighed / not, R@20": ratio("repeat R@20", "plain R@20"),
                "weighed / EASE + weight, N@10": ratio("repeat N@10", "peer N@10"),
                "weighed / EASE + weight, R@20": ratio("repeat R@20", "peer R@20"),
            }
        )
    return rows


def section(runs: list[dict[str, Any]], commit: str) -> str:
    table = summary(runs)
    detail = [dict(r) for r in runs]
    return f"""## Repeat purchases: the own-item weight (`--repeat`)

`python benchmarks/repeat.py`, on commit {commit}. {__doc__.split(chr(10) + chr(10))[1]}

{__doc__.split(chr(10) + chr(10))[2]}

### Summary (mean over seeds; ratios mean ± sd, and the worst seed; test, λ = 0)

{markdown_table(table, list(table[0]))}
### Every run

{markdown_table(detail, list(detail[0]))}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--commit", default="(see git log)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            "retail-temporal": load_interactions(
                SHARED / "online-retail" / "online_retail.parquet", merge=False
            ),
            "synthetic-repeat": synthetic_rows(Path(tmp)),
        }
        for name, rows in cases.items():
            runs += [run_case(name, rows, seed) for seed in args.seeds]
    save_section("repeat", section(runs, args.commit))
    assemble()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
