"""``python -m recolab``: one sub-command per module in :mod:`recolab.commands`.

Each module there defines ``NAME`` (the sub-command), ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. The CLI holds no computation of its own:
commands call the same library functions the dashboard calls.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

import recolab.commands
from recolab.errors import DataError, RecolabError

log = logging.getLogger("recolab")
T = TypeVar("T")


def emit(text: object = "") -> None:
    """Write one result line (or block) to standard output: the CLI's results go here,
    diagnostics go to logging on standard error."""
    sys.stdout.write(f"{text}\n")


def parse_pairs(
    pairs: Sequence[str] | None,
    option: str,
    form: str,
    convert: Callable[[str], T] = str,  # type: ignore[assignment]
) -> dict[str, T]:
    """Parse ``KEY=VALUE`` command-line values (e.g. ``--map user=CustomerID``,
    ``--weights exposure=0``) into a dict; a malformed one is a :class:`DataError` that
    names the option and the expected ``form``."""
    out: dict[str, T] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        try:
            if not sep or not key.strip() or not value.strip():
                raise ValueError(pair)
            out[key.strip()] = convert(value.strip())
        except ValueError:
            raise DataError(f"{option} expects {form}, got {pair!r}") from None
    return out


def users_mapping(users: str | None, id_column: str | None) -> dict[str, str] | None:
    """The mapping of ``--users-id-column`` for :func:`recolab.data.io.load_users`
    (``None``: detection); the option without ``--users`` is a :class:`RecolabError`."""
    if not id_column:
        return None
    if not users:
        raise RecolabError("--users-id-column needs --users")
    return {"user": id_column}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(prog="recolab", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(recolab.commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"recolab.commands.{info.name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input, 1 other failure)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args._run(args) or 0)
    except RecolabError as exc:
        log.error("%s", exc)
        return 2
    except FileNotFoundError as exc:
        log.error("file not found: %s", exc.filename or exc)
        return 2
