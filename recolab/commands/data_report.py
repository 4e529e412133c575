"""``recolab data-report FILE``: load an interaction file and say what was kept and dropped."""

from __future__ import annotations

import argparse
import json

from recolab.cli import emit, parse_pairs
from recolab.data.io import DUPLICATE_POLICIES, load_interactions
from recolab.fileio import write_text_atomic

NAME = "data-report"
HELP = "load an interaction file and report what was kept, dropped and merged, and why"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the arguments of ``data-report``."""
    p.add_argument("file", metavar="FILE", help="interaction log: CSV, TSV or Parquet")
    p.add_argument("--items", metavar="ITEMS", help="item catalogue (titles, descriptions)")
    p.add_argument(
        "--map",
        metavar="ROLE=COLUMN",
        action="append",
        default=[],
        help="use COLUMN for ROLE (user, item, rating, timestamp, quantity, price, event, "
        "invoice); repeatable",
    )
    p.add_argument(
        "--duplicates",
        choices=DUPLICATE_POLICIES,
        default=None,
        help="how repeated user-item rows are merged (default: last for ratings, sum for events)",
    )
    p.add_argument("--json", metavar="OUT.json", help="also write the report as JSON here")


def run(args: argparse.Namespace) -> int:
    """Load ``args.file``, print the report, optionally write it as JSON; returns 0."""
    mapping = parse_pairs(args.map, "--map", "ROLE=COLUMN") or None
    data = load_interactions(args.file, mapping, items=args.items, duplicate_policy=args.duplicates)
    report = data.report
    assert report is not None
    for line in report.summary_lines():
        emit(line)
    if args.json:
        write_text_atomic(args.json, json.dumps(report.to_dict(), indent=2))
        emit(f"report written to {args.json}")
    return 0
