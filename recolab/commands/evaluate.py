"""``recolab evaluate``: baselines on a split, or an exported model over λ."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from recolab.cli import (
    check_weights_apply,
    emit,
    float_in,
    int_in,
    objective_weight,
    weights_dict,
)

NAME = "evaluate"
HELP = "evaluate a baseline, or an exported model across λ, under the evaluation protocol"

BASELINES = ("popularity", "itemknn", "ease")
TABLE_KEYS = (
    "precision@10",
    "recall@10",
    "recall@20",
    "ndcg@10",
    "ndcg@20",
    "coverage@20",
    "novelty@20",
    "recent_share@20",
    "revenue@20",
    "rmse",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the arguments of ``evaluate``."""
    src = p.add_argument_group("data: --train/--test files, or a built-in --dataset")
    src.add_argument("--train", metavar="TRAIN", help="training interactions (with a header)")
    src.add_argument("--test", metavar="TEST", help="test interactions (with a header)")
    src.add_argument("--items", metavar="ITEMS", help="item catalogue (titles, genres)")
    src.add_argument("--dataset", choices=("ml-100k",), help="a built-in sample")
    src.add_argument(
        "--split",
        help="with --dataset: its split (default u1); with --train and no --test: random "
        "(per-user 20 %%), temporal (the last 20 %% of interactions in time) or last-basket "
        "(each user's last basket); default temporal for a timed behaviour log, else random",
    )
    p.add_argument(
        "--repeat",
        action="store_true",
        help="repeat purchases (consumables): keep each user's own training items among the "
        "candidates, so a test item bought again counts as a hit",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", choices=BASELINES, help="a baseline to fit and evaluate")
    what.add_argument("--model-dir", metavar="MODEL_DIR", help="an exported bundle (.zip/folder)")
    p.add_argument(
        "--lambdas", type=float_in(0.0), nargs="+", help="λ values ≥ 0 (with --model-dir)"
    )
    p.add_argument(
        "--weights",
        nargs="+",
        type=objective_weight,
        metavar="OBJECTIVE=W",
        help="per-objective weights (with --model-dir), e.g. novelty=0.5 exposure=1; "
        "λ_objective = λ × W; default: the trained weights",
    )
    p.add_argument(
        "--k", type=int_in(1, 10_000), nargs="+", default=[10, 20], help="cut-offs (default 10 20)"
    )
    p.add_argument(
        "--l2", type=float_in(0.0, lo_open=True), default=400.0, help="EASE L2 (default 400)"
    )
    p.add_argument("--json", metavar="OUT.json", help="write the results as JSON here")
    p.add_argument(
        "--require-signature",
        action="store_true",
        help="with --model-dir: refuse a bundle that is unsigned or not verified with "
        "RECOLAB_BUNDLE_KEY",
    )


def _split(args: argparse.Namespace) -> tuple[Any, Any, str]:
    from recolab.data.samples import load_ml100k_split
    from recolab.data.splits import SPLIT_CHOICES, given_files
    from recolab.errors import DataError
    from recolab.pipeline import load_split

    if args.dataset:
        name = args.split or "u1"
        train, test = load_ml100k_split(name)
        return train, test, f"{args.dataset} {name}"
    if not args.train:
        raise DataError("evaluate needs --train (and --test, or a --split of it), or --dataset")
    if args.test:
        if args.split:
            raise DataError("--split splits --train into train and test: give it without --test")
        train, test = given_files(args.train, args.test, items=args.items)
        return train, test, f"{args.train} / {args.test}"
    if args.split is not None and args.split not in SPLIT_CHOICES:
        raise DataError(
            f"--split {args.split!r}: for a --train file use one of {', '.join(SPLIT_CHOICES)}"
        )
    train, test = load_split(args.train, items=args.items, split=args.split or "auto")
    return train, test, f"{args.train}, split {test.name}"


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def run(args: argparse.Namespace) -> int:
    """Evaluate and print a table (and JSON when asked)."""
    from recolab.evaluation import Protocol, evaluate, format_table
    from recolab.features.tabular import genre_vectors
    from recolab.fileio import write_text_atomic

    train, test, source = _split(args)
    genres = genre_vectors(train.item_meta, train.items)
    vectors = genres if genres.shape[1] > 0 else None
    rules = Protocol(ks=tuple(args.k), exclude_seen=not args.repeat)
    protocol = rules.describe(train, test)
    protocol["data"] = source
    if args.model:
        model = _baseline(args)
        result = evaluate(model.fit(train), train, test, item_vectors=vectors, protocol=rules)
        protocol = {**result.protocol, "data": source}
        payload: dict[str, Any] = {
            "model": args.model,
            "protocol": protocol,
            "metrics": _clean(result.metrics),
        }
        rows = {args.model: result.metrics}
    else:
        payload, rows = _evaluate_bundle(args, train, test, vectors, protocol)
    emit(f"data: {source}")
    emit(_split_line(protocol))
    for rule in protocol["rules"]:
        emit(f"  - {rule}")
    if protocol.get("model_selection"):
        emit(f"  - model chosen on: {protocol['model_selection']}")
    keys = [k for k in TABLE_KEYS if any(k in r for r in rows.values())]
    emit(format_table(rows, keys=keys))
    if args.json:
        write_text_atomic(args.json, json.dumps(payload, indent=2, default=str))
    return 0


def _split_line(protocol: dict[str, Any]) -> str:
    """The split's sizes in one line, cold users and items counted."""
    p = protocol
    return (
        f"split: train {p['n_train_interactions']:,} interactions, {p['n_train_users']:,} "
        f"users, {p['n_train_items']:,} items; test {p['n_test_interactions']:,} interactions, "
        f"{p['n_test_users']:,} users ({p['n_test_users_unseen']:,} not in train), "
        f"{p['n_test_items']:,} items ({p['n_test_items_unseen']:,} not in train); "
        f"{p['n_test_interactions_repeat']:,} test pairs repeat a training pair"
    )


def _baseline(args: argparse.Namespace) -> Any:
    from recolab.models.ease import EASERecommender
    from recolab.models.itemknn import ItemKNNRecommender
    from recolab.models.popularity import PopularityRecommender

    if args.model == "popularity":
        return PopularityRecommender()
    if args.model == "itemknn":
        return ItemKNNRecommender()
    return EASERecommender(l2=args.l2)


def _evaluate_bundle(
    args: argparse.Namespace, train: Any, test: Any, vectors: Any, protocol: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    from recolab.bundle import bundle_size, load
    from recolab.evaluation import Protocol
    from recolab.pipeline import lambda_front

    loaded = load(args.model_dir, require_signature=args.require_signature)
    selection = (loaded.config.get("selection") or {}).get("validation")
    if selection:
        protocol["model_selection"] = f"{selection}, carved out of its training data"
    weights = weights_dict(args.weights)
    check_weights_apply(loaded, weights, args.model_dir)
    lo, hi = loaded.lambda_range
    lambdas = args.lambdas or [round(lo + f * (hi - lo), 6) for f in (0, 0.25, 0.5, 0.75, 1.0)]
    front = lambda_front(
        loaded.for_data(train),
        train,
        test,
        lambdas,
        ks=args.k,
        item_vectors=vectors,
        weights=weights,
        protocol=Protocol(ks=tuple(args.k), exclude_seen=not args.repeat),
    )
    path = Path(args.model_dir)
    size = bundle_size(path)
    cfg = loaded.config
    entries = []
    rows = {}
    for rec in front.to_dict("records"):
        metrics = {k: v for k, v in rec.items() if k not in ("model", "lam")}
        entries.append(
            {
                "lambda": rec["lam"],
                "metrics": _clean(metrics),
                "sparsity": cfg.get("sparsity"),
                "model_bytes": size,
                "train_seconds": cfg.get("train_seconds"),
                "device": cfg.get("device"),
            }
        )
        rows[f"λ={rec['lam']:g}"] = metrics
    payload = {
        "model": f"recolab {cfg.get('model_type', 'weighted-objective')}",
        "bundle": str(path),
        "lambda_range": [lo, hi],
        "protocol": protocol,
        "lambdas": entries,
    }
    return payload, rows
