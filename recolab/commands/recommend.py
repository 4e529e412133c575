"""``recolab recommend``: top-k lists from an exported bundle."""

from __future__ import annotations

import argparse

from recolab.cli import (
    check_weights_apply,
    emit,
    float_in,
    int_in,
    objective_weight,
    parse_pairs,
    weights_dict,
)

#: Longest list ``-k`` may ask for.
MAX_K = 10_000

NAME = "recommend"
HELP = "recommend from an exported bundle, for a known user or a new user's history"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the arguments of ``recommend``."""
    p.add_argument("--bundle", required=True, metavar="B.zip", help="exported model bundle")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--user", metavar="ID", help="a user known to the model")
    who.add_argument("--history", metavar="ITEM,ITEM,...", help="item ids of a new user")
    p.add_argument(
        "--attributes",
        nargs="+",
        metavar="NAME=VALUE",
        help="a new user's attributes, e.g. age=31 occupation=writer (models trained with "
        "user attributes; with or without --history)",
    )
    p.add_argument(
        "-k",
        type=int_in(1, MAX_K),
        default=None,
        help=f"list length, 1-{MAX_K} (default: the bundle's cut-off k*, chosen by α on "
        "validation at export; 10 for a bundle without one)",
    )
    p.add_argument(
        "--lambda",
        dest="lam",
        type=float_in(0.0),
        help="trade-off λ, a finite number ≥ 0 (default: as exported)",
    )
    p.add_argument(
        "--weights",
        nargs="+",
        type=objective_weight,
        metavar="OBJECTIVE=W",
        help="per-objective weights, e.g. exposure=0 novelty=1 (λ_objective = λ × W)",
    )
    seen = p.add_mutually_exclusive_group()
    seen.add_argument(
        "--exclude-seen",
        dest="exclude_seen",
        action="store_const",
        const=True,
        default=None,
        help="leave the user's own items out (default: as the bundle says; a model trained "
        "with --repeat keeps them)",
    )
    seen.add_argument(
        "--include-seen",
        dest="exclude_seen",
        action="store_const",
        const=False,
        help="keep the user's own items (repeat purchases), whatever the bundle says",
    )
    p.add_argument(
        "--require-signature",
        action="store_true",
        help="refuse a bundle that is unsigned or not verified with RECOLAB_BUNDLE_KEY",
    )


def run(args: argparse.Namespace) -> int:
    """Print the list as a table."""
    from recolab.bundle import load
    from recolab.errors import RecolabError
    from recolab.pipeline import objective_lambdas

    if args.user is None and args.history is None and not args.attributes:
        raise RecolabError("name a --user, or a new user's --history and/or --attributes")
    if args.user is not None and args.attributes:
        raise RecolabError("--attributes describe a new user; a known --user has their own")
    attributes = parse_pairs(args.attributes, "--attributes", "NAME=VALUE") or None
    model = load(args.bundle, require_signature=args.require_signature)
    if attributes and not model.config.get("user_attributes"):
        raise RecolabError(f"{args.bundle}: the model was trained without user attributes")
    exclude = model.resolve_exclude_seen(args.exclude_seen)
    weights = weights_dict(args.weights)
    check_weights_apply(model, weights, args.bundle)
    lam = model.default_lam if args.lam is None else args.lam
    at = objective_lambdas(lam, weights) if weights else args.lam
    if args.user is not None:
        df = model.recommend([args.user], k=args.k, lam=at, exclude_seen=exclude)
    else:
        items = [i.strip() for i in (args.history or "").split(",") if i.strip()]
        df = model.recommend_for_history(
            items, k=args.k, lam=at, exclude_seen=exclude, attributes=attributes
        )
    if args.k is None:
        emit(f"k = {model.default_k} (the bundle's default list length; -k to change it)")
    lo, hi = model.lambda_range
    mechanism = (model.config.get("mechanism") or {}).get("name")
    if mechanism:
        emit(f"λ = {lam:g} (range {lo:g}–{hi:g}, calibrated on validation); re-ranker: {mechanism}")
    else:
        shown = ", ".join(f"{k}={v:g}" for k, v in weights.items()) if weights else "as trained"
        emit(f"λ = {lam:g} (trained range {lo:g}–{hi:g}); objective weights: {shown}")
    emit(_seen_line(exclude, args.exclude_seen is None, model.repeat))
    emit(df.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def _seen_line(exclude: bool, by_bundle: bool, repeat: bool) -> str:
    """Whether the list leaves the user's own items out, and who decided it."""
    what = "left out" if exclude else "kept (repeat purchases)"
    if by_bundle:
        why = "trained with repeat purchases" if repeat else "the default"
        return f"seen items: {what}, as the bundle says ({why}); --include-seen/--exclude-seen"
    return f"seen items: {what} (asked for; the bundle says {'keep' if repeat else 'leave out'})"
