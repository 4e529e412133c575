"""``recolab update``: add a new period of events to a bundle without a full retrain."""

from __future__ import annotations

import argparse
from pathlib import Path

from recolab.cli import emit, parse_pairs

NAME = "update"
HELP = (
    "add new events to an exported bundle (new users and items, the base re-solved once "
    "with its tuned options, the re-ranker refitted) and write the updated bundle"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the arguments of ``update``."""
    p.add_argument("--bundle", required=True, metavar="B.zip", help="the bundle to update")
    p.add_argument(
        "--new",
        required=True,
        metavar="EVENTS",
        help="the new events: CSV, TSV or Parquet, read and cleaned as a training log",
    )
    p.add_argument("--out", required=True, metavar="B2.zip", help="updated bundle folder or .zip")
    p.add_argument(
        "--map",
        metavar="ROLE=COLUMN",
        action="append",
        default=[],
        help="use COLUMN for ROLE (user, item, timestamp, quantity, price, title, ...) in "
        "EVENTS; repeatable (default: detected, as at training)",
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument(
        "--require-signature",
        action="store_true",
        help="refuse a bundle that is unsigned or not verified with RECOLAB_BUNDLE_KEY",
    )


def run(args: argparse.Namespace) -> int:
    """Load, update, write; print what the update read and changed."""
    from recolab.bundle import load
    from recolab.errors import RecolabError
    from recolab.update import check_updatable, export_updated, read_events

    if Path(args.out).resolve() == Path(args.bundle).resolve():
        raise RecolabError("--out must differ from --bundle: the original bundle is kept")
    mapping = parse_pairs(args.map, "--map", "ROLE=COLUMN") or None
    events = read_events(args.new, mapping)  # bad events fail before the bundle is read
    model = load(args.bundle, require_signature=args.require_signature)
    check_updatable(model.config, args.bundle)
    updated = model.update(events, device=args.device)
    path = export_updated(updated.model, updated.config, updated.config["updates"], args.out)
    last = updated.config["updates"][-1]
    emit(
        f"{last['source']}: {last['rows_kept']:,} of {last['rows_read']:,} rows kept; "
        f"{last['new_users']:,} new users, {last['new_items']:,} new items, "
        f"{last['pairs_added']:,} new user-item pairs over {last['users_updated']:,} users"
    )
    emit(
        f"base re-solved once (l2 {last['l2']:.4g}, tuned options kept) and re-ranker "
        f"refitted in {last['seconds']:.1f} s"
    )
    emit(
        f"bundle: {path} ({len(updated.model.users_):,} users, {len(updated.model.items_):,} items)"
    )
    return 0
