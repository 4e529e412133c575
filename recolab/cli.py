"""``python -m recolab``: one sub-command per module in :mod:`recolab.commands`.

Each module there defines ``NAME`` (the sub-command), ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. The CLI holds no computation of its own:
commands call the same library functions the dashboard calls.

Numbers are checked where they are parsed: the argument types below (:func:`int_in`,
:func:`float_in`, :func:`objective_weight`) refuse NaN, infinities and values out of range
with a one-line usage error (exit 2). Every failure after parsing reaches the user as one
line on standard error, never a traceback (``-v`` shows it): exit 2 for bad input and
workspace faults (:class:`~recolab.errors.RecolabError`, ``OSError``, ``sqlite3.Error``),
1 for anything unexpected.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import pkgutil
import sqlite3
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar

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


#: The secondary objectives a ``--weights`` value may name: those of the weighted network
#: (``recolab.training.OBJECTIVES``) and of the re-rankers (``recolab.rerank``); repeated
#: here so that parsing imports neither torch nor the models (a test keeps them equal).
OBJECTIVE_NAMES = ("novelty", "exposure", "diversity", "coverage", "calibration", "revenue")


def _bounds(lo: float | None, hi: float | None, lo_open: bool) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '≥'} {lo:g}")
    if hi is not None:
        parts.append(f"≤ {hi:g}")
    return " and ".join(parts)


def int_in(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``[lo, hi]`` (either bound optional)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(
                f"must be an integer {_bounds(lo, hi, False)}, got {text!r}"
            )
        return value

    parse.__name__ = "integer"
    return parse


def float_in(
    lo: float | None = None, hi: float | None = None, *, lo_open: bool = False
) -> Callable[[str], float]:
    """An argparse ``type``: a finite number in ``[lo, hi]`` (``(lo, hi]`` with
    ``lo_open``); NaN and infinities are refused."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if (lo is not None and (value <= lo if lo_open else value < lo)) or (
            hi is not None and value > hi
        ):
            raise argparse.ArgumentTypeError(
                f"must be a number {_bounds(lo, hi, lo_open)}, got {text!r}"
            )
        return value

    parse.__name__ = "number"
    return parse


def objective_weight(text: str) -> tuple[str, float]:
    """An argparse ``type`` for ``--weights``: ``OBJECTIVE=W`` with a known objective and a
    finite weight ≥ 0; collect with ``dict(args.weights)``."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name or not value.strip():
        raise argparse.ArgumentTypeError(f"expected OBJECTIVE=WEIGHT, got {text!r}")
    if name not in OBJECTIVE_NAMES:
        raise argparse.ArgumentTypeError(
            f"unknown objective {name!r} in {text!r}; expected one of {', '.join(OBJECTIVE_NAMES)}"
        )
    try:
        weight = float_in(0.0)(value.strip())
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"weight of {name}: {exc}") from None
    return name, weight


def weights_dict(pairs: Sequence[tuple[str, float]] | None) -> dict[str, float] | None:
    """``--weights`` values as a dict (``None`` when not given); an objective named twice
    is a :class:`RecolabError`."""
    if not pairs:
        return None
    out: dict[str, float] = {}
    for name, weight in pairs:
        if name in out:
            raise RecolabError(f"--weights names {name} twice")
        out[name] = weight
    return out


def check_weights_apply(model: object, weights: dict[str, float] | None, where: str) -> None:
    """Refuse ``--weights`` naming an objective the loaded ``model`` does not trade off
    (it would be ignored silently or fail deep inside scoring)."""
    if not weights:
        return
    inner = getattr(model, "model", model)
    names = getattr(inner, "objectives_", None)
    if names is None and getattr(inner, "reranker", None) is not None:
        names = (inner.reranker.objective,)  # type: ignore[attr-defined]
    if names is None:
        return
    stray = sorted(set(weights) - set(names))
    if stray:
        raise RecolabError(
            f"{where}: the model trades accuracy against {', '.join(names)} only; "
            f"--weights {', '.join(stray)} does not apply to it"
        )


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on standard error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE`` and exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = Parser(prog="recolab", description=__doc__.splitlines()[0])
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


def one_line(exc: BaseException) -> str:
    """``exc``'s message on one line (its lines joined with "; ")."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return "; ".join(lines) or type(exc).__name__


def report_error(exc: Exception, verbose: bool = False) -> int:
    """Log ``exc`` as one line (with its traceback only when ``verbose``); the exit status:
    2 for bad input and workspace faults, 1 for anything unexpected."""
    trace = exc if verbose else None
    if isinstance(exc, RecolabError):
        log.error("%s", one_line(exc), exc_info=trace)
        return 2
    if isinstance(exc, FileNotFoundError):
        log.error("file not found: %s", exc.filename or one_line(exc), exc_info=trace)
        return 2
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        log.error("%s%s", where, exc.strerror or one_line(exc), exc_info=trace)
        return 2
    if isinstance(exc, sqlite3.Error):
        log.error("job store: %s", one_line(exc), exc_info=trace)
        return 2
    if isinstance(exc, MemoryError):
        log.error("out of memory%s", f": {one_line(exc)}" if str(exc) else "", exc_info=trace)
        return 1
    log.error(
        "internal error: %s: %s%s",
        type(exc).__name__,
        one_line(exc),
        "" if verbose else " (run with -v for the traceback)",
        exc_info=trace,
    )
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input or workspace fault, 1 other
    failure, 130 interrupted). No traceback reaches the user unless ``-v`` asks for it."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception as exc:
        return report_error(exc, verbose=args.verbose)
