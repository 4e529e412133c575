"""``recolab train``: train the weighted-objective model and write its bundle."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from recolab.cli import emit, users_mapping

NAME = "train"
HELP = "train the λ-conditioned weighted-objective model and export it as a bundle"

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the arguments of ``train``."""
    p.add_argument("--train", required=True, metavar="TRAIN", help="interactions to train on")
    p.add_argument(
        "--valid",
        metavar="VALID",
        help="held-out interactions: early stopping, and the front over λ stored in the bundle",
    )
    p.add_argument("--items", metavar="ITEMS", help="item catalogue with titles / texts")
    p.add_argument(
        "--users",
        metavar="USERS",
        help="user attributes (user id + columns such as age, gender, occupation)",
    )
    p.add_argument(
        "--users-id-column",
        metavar="COLUMN",
        help="the user id column of --users (default: found by its name)",
    )
    p.add_argument("--config", metavar="CFG.toml", help="training options ([train] table)")
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="bundle folder or .zip")
    p.add_argument("--epochs", type=int, help="maximum epochs (overrides the config)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where to train")
    p.add_argument("--no-text", action="store_true", help="do not use item text embeddings")


def run(args: argparse.Namespace) -> int:
    """Train, export, print a summary."""
    from recolab.data.io import load_interactions, load_users
    from recolab.data.splits import given_files
    from recolab.features.users import user_attribute_summary
    from recolab.pipeline import train_and_export
    from recolab.training import TrainConfig

    overrides: dict[str, Any] = {"epochs": args.epochs, "device": args.device}
    if args.no_text:
        overrides["use_text"] = False
    if args.config:
        config = TrainConfig.from_toml(args.config, **overrides)
    else:
        config = TrainConfig.from_dict({k: v for k, v in overrides.items() if v is not None})
    if args.valid:
        train, valid = given_files(args.train, args.valid, items=args.items)
    else:
        train, valid = load_interactions(args.train, items=args.items), None
    mapping = users_mapping(args.users, args.users_id_column)
    if args.users:
        train.user_meta = load_users(args.users, mapping)
        summary = user_attribute_summary(train)
        emit(
            f"user attributes: {len(summary['columns'])} columns for "
            f"{summary['users_with_attributes']} of {summary['users']} users "
            f"({summary['unknown_ids']} unknown ids ignored)"
        )

    def progress(event: dict[str, Any]) -> None:
        shown = {k: v for k, v in event.items() if isinstance(v, int | float)}
        log.info(
            "epoch %s/%s %s",
            event["epoch"],
            event["epochs"],
            " ".join(f"{k}={v:.4g}" for k, v in shown.items() if k not in ("epoch", "epochs")),
        )

    result = train_and_export(train, valid, config, args.out, valid=valid, on_progress=progress)
    emit(f"bundle: {result['bundle']}")
    emit(
        f"trained {result['epochs_run']} epochs in {result['train_seconds']:.1f} s on "
        f"{result['device']} ({result['stopped_by']}); bundle {result['model_bytes']:,} bytes"
    )
    if result["front"] and valid is not None:
        from recolab.evaluation import format_table

        rows = {f"λ={r['lam']:g}": r for r in result["front"]}
        rows.update({r["model"]: r for r in result["references"]})
        keys = ["precision@10", "recall@20", "ndcg@10", "coverage@20", "novelty@20"]
        emit(format_table(rows, keys=keys))
    return 0
