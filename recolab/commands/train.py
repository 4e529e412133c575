"""``recolab train``: train the weighted-objective model and write its bundle."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from recolab.cli import emit, float_in, int_in, users_mapping
from recolab.data.splits import SPLIT_CHOICES
from recolab.errors import DataError
from recolab.rerank import RERANKERS

NAME = "train"
HELP = (
    "train recolab's model (default: a linear base tuned on validation plus the trade-off "
    "mechanism with the best validation front) and export it as a bundle"
)

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the arguments of ``train``."""
    p.add_argument("--train", required=True, metavar="TRAIN", help="interactions to train on")
    p.add_argument(
        "--valid",
        metavar="VALID",
        help="validation interactions (default: carved out of TRAIN: each user's latest 20 %% "
        "of a timed log, else a per-user random 20 %%); tuning and early stopping use it",
    )
    p.add_argument(
        "--test",
        metavar="TEST",
        help="test interactions: the front over λ stored in the bundle, measured once after "
        "every choice was made on validation",
    )
    p.add_argument(
        "--split",
        choices=SPLIT_CHOICES,
        help="without --test: split TRAIN and report on its test part: random (per-user 20 %%), "
        "temporal (the last 20 %% of interactions in time) or last-basket (each user's last "
        "basket); default: no test part (the whole file is trained on)",
    )
    p.add_argument(
        "--repeat",
        action="store_true",
        help="repeat purchases (consumables): keep each user's own items among the test "
        "candidates, so an item bought again counts as a hit",
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
    p.add_argument(
        "--model",
        choices=("auto", "weighted"),
        help="auto (default): tuned linear base + trade-off mechanism; weighted: the "
        "λ-conditioned network",
    )
    p.add_argument("--trials", type=int_in(1), help="auto: most tuning trials (default 30)")
    p.add_argument(
        "--tune-seconds",
        type=float_in(0.0, lo_open=True),
        help="auto: tuning budget (default 60 s)",
    )
    p.add_argument(
        "--mechanism",
        choices=("auto", *RERANKERS),
        help="auto: the trade-off mechanism (default: the best re-ranker on validation; "
        "'conditioned' is the trained residual, measured only when asked for)",
    )
    p.add_argument(
        "--epochs", type=int_in(1), help="weighted: maximum epochs (overrides the config)"
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where to train")
    p.add_argument("--no-text", action="store_true", help="do not use item text embeddings")
    p.add_argument(
        "--defend",
        choices=("off", "downweight", "remove"),
        help="auto: profiles the data report flags as suspicious (shilling) are kept (off, "
        "default), down-weighted (a quarter of their interactions kept) or removed before "
        "training",
    )

    add_distributed_arguments(p)


def add_distributed_arguments(p: argparse.ArgumentParser) -> None:
    """``--nproc`` and the options of a run over several machines (torchrun's)."""
    p.add_argument(
        "--nproc",
        type=int_in(1),
        help="auto: processes on this machine, launched through torchrun (gloo on CPU, NCCL "
        "with one GPU each on CUDA); each builds the Gram matrix of its share of the users",
    )
    p.add_argument("--nnodes", type=int_in(1), default=1, help="machines in the run (default 1)")
    p.add_argument(
        "--node-rank", type=int_in(0), default=0, help="this machine's index (0 … nnodes − 1)"
    )
    p.add_argument("--master-addr", metavar="HOST", help="address of machine 0 (several machines)")
    p.add_argument("--master-port", type=int_in(1), metavar="PORT", help="a free port on machine 0")


def _load_data(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(train, valid, test) from the files, or TRAIN split by ``--split``."""
    if args.split and args.test:
        raise DataError("--split splits TRAIN into train and test: give it without --test")
    if args.split:
        from recolab.pipeline import load_split

        train, test = load_split(args.train, items=args.items, split=args.split)
        valid = None
        if args.valid:
            raise DataError("--split with --valid: validation is carved out of the split's train")
        emit(f"split: {test.name}")
    else:
        train, valid, test = load_train_files(args.train, args.valid, args.test, args.items)
    return train, valid, test


def load_train_files(
    train: str, valid: str | None, test: str | None, items: str | None
) -> tuple[Any, Any, Any]:
    """(train, valid, test) on shared vocabularies; valid and test are ``None`` when not
    given."""
    from recolab.data.io import load_interactions
    from recolab.data.splits import given_files

    if valid is None and test is None:
        return load_interactions(train, items=items), None, None
    named = {n: h for n, h in (("valid", valid), ("test", test)) if h is not None}
    loaded = given_files(train, *named.values(), items=items)
    halves = dict(zip(named, loaded[1:], strict=True))
    return loaded[0], halves.get("valid"), halves.get("test")


def summary_line(result: dict[str, Any]) -> str:
    """One line on what was trained, how long it took and the bundle's size."""
    size = f"bundle {result['model_bytes']:,} bytes"
    if result.get("model_type") == "linear-rerank":
        selection = result["selection"]
        chosen = next(m for m in selection["mechanisms"] if m["name"] == selection["mechanism"])
        lo, hi = chosen["lambda_range"]
        return (
            f"tuned {result['epochs_run']} trials on validation ({selection['validation']}); "
            f"trade-off mechanism {selection['mechanism']}, λ in [{lo:.3g}, {hi:.3g}], "
            f"default λ {chosen['lambda_default']:.3g} (most accurate on validation); "
            f"{result['train_seconds']:.1f} s on {result['device']}; {size}"
        )
    return (
        f"trained {result['epochs_run']} epochs in {result['train_seconds']:.1f} s on "
        f"{result['device']} ({result['stopped_by']}); {size}"
    )


def _launch_ranks(args: argparse.Namespace, config: Any) -> bool:
    """With more than one process asked for, run this command on every rank through
    torchrun and return ``True`` once they all finished (:mod:`recolab.distributed`)."""
    from recolab.distributed.launch import LaunchPlan, launch_cli
    from recolab.distributed.runtime import launched

    plan = LaunchPlan(
        nproc=config.nproc,
        nnodes=getattr(args, "nnodes", 1),
        node_rank=getattr(args, "node_rank", 0),
        master_addr=getattr(args, "master_addr", None),
        master_port=getattr(args, "master_port", None),
    )
    if not plan.distributed or launched():
        return False
    values = {k: v for k, v in vars(args).items() if not callable(v)}
    launch_cli(values, plan, config.device)
    return True


def run(args: argparse.Namespace) -> int:
    """Train, export, print a summary."""
    from recolab.data.io import load_users
    from recolab.features.users import user_attribute_summary
    from recolab.pipeline import train_and_export
    from recolab.training import TrainConfig

    overrides: dict[str, Any] = {
        "epochs": args.epochs,
        "device": args.device,
        "model": args.model,
        "tune_trials": args.trials,
        "tune_seconds": args.tune_seconds,
        "mechanism": args.mechanism,
        "defend": args.defend,
    }
    if args.no_text:
        overrides["use_text"] = False
    if args.repeat:
        overrides["repeat"] = True
    overrides["nproc"] = getattr(args, "nproc", None)
    if args.config:
        config = TrainConfig.from_toml(args.config, **overrides)
    else:
        config = TrainConfig.from_dict({k: v for k, v in overrides.items() if v is not None})
    if _launch_ranks(args, config):
        return 0
    train, valid, test = _load_data(args)
    mapping = users_mapping(args.users, args.users_id_column)
    if args.users:
        if config.model != "weighted":
            emit("note: user attributes are used by --model weighted only; this model ignores them")
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

    if config.model == "weighted" and test is None:
        test = valid  # the weighted model's front is reported on its validation set
    from recolab.distributed.runtime import rank_session

    rows = None
    if config.repeat and config.model == "auto":  # the rows behind repeat purchases
        from recolab.pipeline import repeat_rows

        rows = repeat_rows(train, args.train, test=args.test, items=args.items, split=args.split)
    with rank_session(config.device) as writes:  # joins the ranks when torchrun started us
        result = train_and_export(
            train, test, config, args.out, valid=valid, on_progress=progress, rows=rows
        )
    if not writes:
        return 0
    emit(f"bundle: {result['bundle']}")
    emit(summary_line(result))
    if result["front"] and test is not None:
        from recolab.evaluation import format_table

        rows = {f"λ={r['lam']:g}": r for r in result["front"]}
        rows.update({r["model"]: r for r in result["references"]})
        keys = ["precision@10", "recall@20", "ndcg@10", "coverage@20", "novelty@20"]
        emit(format_table(rows, keys=keys))
    return 0
