"""Assemble ``benchmarks/RESULTS.md`` from the sections each benchmark script writes.

Every script (``run.py``, ``conditioning.py``, ``scaling.py``) saves its own markdown
section under ``benchmarks/sections/`` and then calls :func:`assemble`, so each can be re-run
alone without losing the others' results.
"""

from __future__ import annotations

import logging
import subprocess
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = HERE / "sections"
RESULTS = HERE / "RESULTS.md"

#: Order of the sections in RESULTS.md (missing ones are skipped).
ORDER = (
    "header",
    "generalisation",
    "blend",
    "relambda",
    "evaluation_speed",
    "pipeline_time",
    "incremental",
    "repeat",
    "shilling",
    "ml100k",
    "targets",
    "second_split",
    "sparsity",
    "cold_start",
    "new_users",
    "conditioning",
    "scaling",
    "sampled_softmax",
    "dashboard",
)

log = logging.getLogger(__name__)


def save_section(name: str, text: str) -> Path:
    """Write one section (markdown) and return its path."""
    if name not in ORDER:
        raise ValueError(f"unknown section {name!r}; sections are {', '.join(ORDER)}")
    SECTIONS.mkdir(exist_ok=True)
    path = SECTIONS / f"{name}.md"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    path.write_text(f"{text.rstrip()}\n\n_Section generated {stamp}._\n", encoding="utf-8")
    return path


def assemble() -> Path:
    """Concatenate the saved sections, in :data:`ORDER`, into ``RESULTS.md``."""
    parts = [
        (SECTIONS / f"{name}.md").read_text(encoding="utf-8")
        for name in ORDER
        if (SECTIONS / f"{name}.md").exists()
    ]
    RESULTS.write_text("\n".join(parts), encoding="utf-8")
    log.info("wrote %s (%d sections)", RESULTS, len(parts))
    return RESULTS


def checkout(*watched: str, subject: bool = False) -> str:
    """The commit a run measured, for a report: the short hash (with its date and subject
    when ``subject``), and the paths among ``watched`` (default ``recolab``) that had
    uncommitted changes; ``unknown`` outside git."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=HERE.parent, capture_output=True, text=True, check=False
            )
        except OSError:
            return ""
        return done.stdout

    fmt = "--format=%h %cd %s" if subject else "--format=%h"
    head = git("log", "-1", fmt, "--date=iso").strip()
    if not head:
        return "unknown"
    dirty = [
        ln[3:] for ln in git("status", "--short", "--", *(watched or ("recolab",))).splitlines()
    ]
    note = f" (uncommitted changes in {', '.join(dirty)})" if dirty else ""
    return head[:160] + note


def code_block(text: str) -> str:
    """A fenced block for fixed-width tables."""
    return f"```text\n{text.rstrip()}\n```\n"


def markdown_table(rows: list[dict[str, object]], columns: list[str], digits: int = 4) -> str:
    """A GitHub markdown table of ``rows`` (dicts) restricted to ``columns``."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            if v != v:  # NaN
                return "-"
            return (
                f"{v:.{digits}g}"
                if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3)
                else (f"{v:.{digits}f}")
            )
        return "-" if v is None else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"
