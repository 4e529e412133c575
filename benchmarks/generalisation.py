"""Generalisation benchmark: recolab's default model against peers tuned the same way,
on several data sets and seeds, choosing everything on validation and reporting test once.

For each data set and seed:

1. split train/test (the data set's protocol), then carve validation out of train
   (:func:`recolab.tuning.validation_split`, the same rule recolab's training uses);
2. **recolab**: :func:`recolab.tuning.fit_tuned` (Optuna study over the closed-form base,
   every trade-off mechanism calibrated on validation, the best by validation hypervolume
   is the default), timed with its peak memory;
3. **peers**, each tuned on the same validation split and refitted on train: EASE (l2 grid),
   ``implicit`` ALS and BPR (small grids); each gets the same re-rankers, with λ ranges
   calibrated on validation;
4. on test, once: λ = 0 against tuned EASE (ratios, paired Wilcoxon over users on
   ndcg@10), and the hypervolume of (ndcg@10, coverage@20) and (ndcg@10, novelty@20) of
   recolab's default front against the best peer + re-ranker front (the best on *test*,
   which flatters the peers).

Usage::

    python benchmarks/generalisation.py                       # all data sets, seeds 0-2
    python benchmarks/generalisation.py --datasets ml100k-u1 --seeds 0
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from peers import ImplicitAdapter, MemoryMeter, WithNewcomers, machine_load  # noqa: E402

from recolab.data.interactions import InteractionData  # noqa: E402
from recolab.data.io import load_interactions  # noqa: E402
from recolab.data.splits import given_files, random_holdout, temporal_split  # noqa: E402
from recolab.data.synthetic import synthetic_interactions  # noqa: E402
from recolab.evaluation import evaluate  # noqa: E402
from recolab.features.tabular import genre_vectors  # noqa: E402
from recolab.metrics import per_user_accuracy  # noqa: E402
from recolab.models.base import Recommender  # noqa: E402
from recolab.models.ease import EASERecommender  # noqa: E402
from recolab.pareto import hypervolume  # noqa: E402
from recolab.rerank import ReRankedRecommender, make_reranker  # noqa: E402
from recolab.tuning import (  # noqa: E402
    fit_tuned,
    is_forward_split,
    tune_score,
    validation_split,
)
from recolab.tuning.fronts import (  # noqa: E402
    MechanismFront,
    available_mechanisms,
    front_hypervolumes,
    measure_front,
    mechanism_front,
)
from recolab.tuning.study import mean_gram_diagonal  # noqa: E402

log = logging.getLogger("benchmarks.generalisation")

SHARED = HERE.parent.parent / "shared" / "datasets"
KS = (10, 20)
SEEDS = (0, 1, 2)
#: EASE's l2 grid, as multiples of the mean item count (400 on ML-100K is ≈ 8×).
EASE_SCALES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
FRONT_POINTS = 11


@dataclass
class Case:
    """One data set × seed: the split, and the item-side inputs of the re-rankers."""

    dataset: str
    seed: int
    train: InteractionData
    test: InteractionData
    vectors: np.ndarray | None
    categories: np.ndarray | None


def _ml100k_given() -> tuple[InteractionData, InteractionData]:
    folder = SHARED / "ml-100k"
    return given_files(folder / "u1.base", folder / "u1.test", items=folder / "u.item")


def _ml100k_all() -> InteractionData:
    folder = SHARED / "ml-100k"
    return load_interactions(folder / "u.data", items=folder / "u.item")


def _retail() -> InteractionData:
    return load_interactions(SHARED / "online-retail" / "online_retail.parquet")


def _synthetic() -> InteractionData:
    return synthetic_interactions(3000, 2000, density=0.012, popularity_skew=1.1, seed=0)


def _synthetic_wide() -> InteractionData:
    """Few users, a wide catalogue: 610 × 9,000, 81,000 interactions (the shape of the
    held-out movie-ratings set of issue 17, where a trial's solve is slow)."""
    return synthetic_interactions(610, 9000, n_interactions=81000, popularity_skew=1.1, seed=0)


def load_case(dataset: str, seed: int) -> Case:
    """The split of ``dataset`` for ``seed`` (u1 and the temporal split are fixed; the
    seed then only moves validation and the tuner)."""
    splits: dict[str, Callable[[], tuple[InteractionData, InteractionData]]] = {
        "ml100k-u1": _ml100k_given,
        "ml100k-random": lambda: random_holdout(_ml100k_all(), 0.2, seed=seed),
        "retail-temporal": lambda: temporal_split(_retail(), 0.2),
        "retail-random": lambda: random_holdout(_retail(), 0.2, seed=seed),
        "synthetic": lambda: random_holdout(_synthetic(), 0.2, seed=seed),
        "synthetic-wide": lambda: random_holdout(_synthetic_wide(), 0.2, seed=seed),
    }
    train, test = splits[dataset]()
    genres = genre_vectors(train.item_meta, train.items)
    has = genres.shape[1] > 0
    return Case(dataset, seed, train, test, genres if has else None, genres if has else None)


def eval_metrics(
    model: Recommender,
    case: Case,
    data: tuple[InteractionData, InteractionData],
    lam: float | None = None,
) -> dict[str, float]:
    train, test = data
    return evaluate(model, train, test, ks=KS, lam=lam, item_vectors=case.vectors).metrics


# --- peers, tuned on validation ---------------------------------------------------------


def ease_candidates(x_mean: float) -> list[tuple[str, Callable[[], Recommender]]]:
    return [
        (f"ease l2={s * x_mean:.3g}", lambda s=s: WithNewcomers(EASERecommender(l2=s * x_mean)))
        for s in EASE_SCALES
    ]


def implicit_candidates(family: str) -> list[tuple[str, Callable[[], Recommender]]]:
    """The small grids of ``implicit`` ALS and BPR (one thread each, seeded)."""
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    if family == "als":
        grid = [
            (
                f"als f={f} reg={r:g}",
                partial(AlternatingLeastSquares, factors=f, regularization=r, iterations=15),
            )
            for f in (64, 128)
            for r in (0.1, 1.0, 10.0)
        ]
    else:
        grid = [
            (
                f"bpr f={f} lr={lr:g}",
                partial(
                    BayesianPersonalizedRanking,
                    factors=f,
                    learning_rate=lr,
                    regularization=0.01,
                    iterations=100,
                ),
            )
            for f in (64, 128)
            for lr in (0.01, 0.05)
        ]
    return [
        (label, _with_newcomers(partial(make, random_state=0, num_threads=1), label))
        for label, make in grid
    ]


def _with_newcomers(make: Callable[[], Any], label: str) -> Callable[[], Recommender]:
    return lambda: WithNewcomers(ImplicitAdapter(make, label))


def tune_peer(
    family: str, case: Case, fit: InteractionData, valid: InteractionData
) -> dict[str, Any]:
    """Fit every configuration on ``fit``, pick by the validation score recolab's tuner
    uses, refit the winner on the whole train. Test is not read here."""
    if family == "ease":
        grid = ease_candidates(mean_gram_diagonal(fit.matrix(binary=True), 0.0))
    else:
        grid = implicit_candidates(family)
    best: dict[str, Any] | None = None
    start = time.perf_counter()
    for label, make in grid:
        model = make().fit(fit)
        score = tune_score(eval_metrics(model, case, (fit, valid)))
        if best is None or score > best["score"]:
            best = {"label": label, "make": make, "score": score, "on_fit": model}
    assert best is not None
    if family == "ease":  # same l2 scale, rescaled to the whole train's Gram matrix
        scale = float(best["label"].split("=")[1]) / mean_gram_diagonal(fit.matrix(binary=True), 0)
        l2 = scale * mean_gram_diagonal(case.train.matrix(binary=True), 0.0)
        final = WithNewcomers(EASERecommender(l2=l2)).fit(case.train)
        best["label"], best["final"] = f"ease l2={l2:.3g}", final
    else:
        best["final"] = best["make"]().fit(case.train)
    best["seconds"] = time.perf_counter() - start
    log.info(
        "%s %s: %s chosen on validation (%.4f)", case.dataset, family, best["label"], best["score"]
    )
    return best


# --- fronts on test ---------------------------------------------------------------------


def test_front(
    base_on_fit: Recommender,
    base: Recommender,
    name: str,
    case: Case,
    split: tuple[InteractionData, InteractionData],
    chosen: MechanismFront | None = None,
) -> tuple[pd.DataFrame, MechanismFront]:
    """λ range and candidate-list length chosen on validation (``chosen``, else calibrated
    here over ``base_on_fit``), then the front measured on test; with the validation front."""
    fit, valid = split
    if chosen is None:
        chosen = mechanism_front(
            base_on_fit, name, fit, valid, vectors=case.vectors, categories=case.categories
        )
    side = case.categories if name == "calibration" else case.vectors
    reranker = make_reranker(name)
    model = ReRankedRecommender(base, reranker, n_candidates=chosen.n_candidates, item_vectors=side)
    lambdas = np.round(np.linspace(0.0, chosen.lam_high, FRONT_POINTS), 6)
    front = measure_front(model.fit(case.train), case.train, case.test, lambdas, case.vectors)
    return front, chosen


def floor_hypervolume(front: pd.DataFrame, floor: float) -> float:
    """Area of (ndcg@10, coverage@20) dominated above the accuracy ``floor``."""
    points = front[["ndcg@10", "coverage@20"]].to_numpy(float)
    return hypervolume(points, reference=[floor, 0.0])


def wilcoxon_ndcg(a: Recommender, b: Recommender, case: Case) -> tuple[float, float]:
    """Mean per-user ndcg@10 difference (a − b) on test and the paired Wilcoxon p-value."""
    from scipy.stats import wilcoxon

    test_m = case.test.matrix(binary=True)
    users = np.flatnonzero(test_m.getnnz(axis=1) > 0)
    per = [per_user_accuracy(m.recommend(users, 10)[0], test_m[users], 10)["ndcg"] for m in (a, b)]
    diff = per[0] - per[1]
    if not np.any(diff != 0):
        return 0.0, 1.0
    return float(diff.mean()), float(wilcoxon(per[0], per[1]).pvalue)


def coverage_at_loss(front: pd.DataFrame, loss: float = 0.05) -> float:
    """Largest coverage@20 among the points within ``loss`` of the front's λ = 0 ndcg@10."""
    ok = front["ndcg@10"] >= (1 - loss) * front["ndcg@10"].iloc[0]
    return float(front.loc[ok, "coverage@20"].max())


def run_case(dataset: str, seed: int) -> dict[str, Any]:
    """Everything for one data set and seed; returns a JSON-ready record."""
    case = load_case(dataset, seed)
    log.info(
        "%s seed %d: %d users, %d items, %d train / %d test",
        dataset,
        seed,
        case.train.n_users,
        case.train.n_items,
        case.train.n_interactions,
        case.test.n_interactions,
    )
    forward = is_forward_split(case.train, case.test)  # as `recolab train` decides it
    with MemoryMeter() as mem:
        start = time.perf_counter()
        tuned = fit_tuned(
            case.train,
            vectors=case.vectors,
            categories=case.categories,
            seed=seed,
            device="cpu",
            forward=forward,
        )
        pipeline_s = time.perf_counter() - start
    split = validation_split(case.train, seed=seed, forward=forward)
    fit, valid = split.fit, split.valid
    ours0 = eval_metrics(tuned.base, case, (case.train, case.test))
    mech = tuned.mechanism
    # what the exported model serves unless asked: the front's most accurate λ on validation
    ours_default = eval_metrics(tuned.recommender(), case, (case.train, case.test))
    ours_front, _ = test_front(tuned.base, tuned.base, mech.name, case, (fit, valid), mech)
    peers = {fam: tune_peer(fam, case, fit, valid) for fam in ("ease", "als", "bpr")}
    ease0 = eval_metrics(peers["ease"]["final"], case, (case.train, case.test))
    diff, p = wilcoxon_ndcg(tuned.base, peers["ease"]["final"], case)
    peer_fronts, peer_valid_hv = {}, {}
    for fam, info in peers.items():
        for name in available_mechanisms(case.vectors, case.categories):
            front, chosen = test_front(info["on_fit"], info["final"], name, case, (fit, valid))
            peer_fronts[f"{fam}+{name}"] = front
            peer_valid_hv[f"{fam}+{name}"] = chosen.hypervolume
    floor = 0.8 * ease0["ndcg@10"]
    hv_ours = {**front_hypervolumes(ours_front), "floor": floor_hypervolume(ours_front, floor)}
    hv_peers = {
        k: {**front_hypervolumes(f), "floor": floor_hypervolume(f, floor)}
        for k, f in peer_fronts.items()
    }
    return {
        "dataset": dataset,
        "seed": seed,
        "sizes": [
            case.train.n_users,
            case.train.n_items,
            case.train.n_interactions,
            case.test.n_interactions,
        ],
        "validation": tuned.validation,
        "pipeline_s": pipeline_s,
        "peak_mib": mem.peak_bytes / 2**20,
        "base_params": tuned.tuning.params.to_dict(),
        "n_members": len(tuned.members),
        "n_trials": len(tuned.tuning.trials),
        "mechanism": mech.name,
        "n_candidates": mech.n_candidates,
        "lam_high": mech.lam_high,
        "validation_hv": {f.name: f.hypervolume for f in tuned.fronts},
        "ours0": ours0,
        "lam_default": mech.lam_default,
        "ours_default": ours_default,
        "ease0": ease0,
        "ease_label": peers["ease"]["label"],
        "peer_labels": {k: v["label"] for k, v in peers.items()},
        "wilcoxon_ndcg10": {"mean_diff": diff, "p": p},
        "peer_validation_hv": peer_valid_hv,
        "hv_ours": hv_ours,
        "hv_peers": hv_peers,
        "coverage_at_5pct": coverage_at_loss(ours_front),
        "ease_coverage": ease0["coverage@20"],
        "ours_front": ours_front.to_dict("records"),
        "peer_fronts": {k: f.to_dict("records") for k, f in peer_fronts.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=["ml100k-u1", "ml100k-random", "retail-temporal", "retail-random", "synthetic"],
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--out", default=str(HERE / "generalisation_runs"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("recolab.evaluation", "recolab.models", "recolab.rerank", "implicit"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log.info("start: %s", machine_load())
    for dataset in args.datasets:
        for seed in args.seeds:
            record = run_case(dataset, seed)
            (out / f"{dataset}-seed{seed}.json").write_text(json.dumps(record, indent=1))
            log.info(
                "%s seed %d: ratio R@20 %.3f N@10 %.3f; HV %.3f of best peer; %.1f s",
                dataset,
                seed,
                record["ours0"]["recall@20"] / record["ease0"]["recall@20"],
                record["ours0"]["ndcg@10"] / record["ease0"]["ndcg@10"],
                record["hv_ours"]["ndcg@10|coverage@20"]
                / max(v["ndcg@10|coverage@20"] for v in record["hv_peers"].values()),
                record["pipeline_s"],
            )
    log.info("end: %s", machine_load())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
