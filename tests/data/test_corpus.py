"""Every bad-input corpus case ends in exit 0 with balanced counts, or exit 2 with one line
naming the file (and the row where meaningful); never a traceback (issue 13)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recolab.cli import main
from tests.data.corpus import CASES, build

ROOT = Path(__file__).resolve().parents[2]


def _balanced(report: dict) -> None:
    dropped = sum(report["dropped"].values())
    assert report["rows_read"] == report["rows_kept"] + dropped + report["duplicates_merged"]
    assert report["rows_read"] > 0
    cat = report.get("catalogue")
    if cat is not None:
        assert cat["rows_read"] == cat["rows_kept"] + sum(cat["dropped"].values())


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert sum(c.expect == "ok" for c in CASES.values()) >= 20
    assert sum(c.expect == "error" for c in CASES.values()) >= 20


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_in_process(
    name: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = CASES[name]
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    folder = tmp_path / "in"
    folder.mkdir()
    path, extra = build(name, folder)
    out = tmp_path / "report.json"
    caplog.set_level(logging.WARNING)
    rc = main(["data-report", str(path), *extra, "--json", str(out)])
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert all(r.exc_info is None for r in caplog.records)
    if case.expect == "ok":
        assert rc == 0, [r.getMessage() for r in errors]
        assert not errors
        report = json.loads(out.read_text())
        _balanced(report)
        if case.check is not None:
            case.check(report)
        assert "check:" in capsys.readouterr().out
        return
    assert rc == 2, f"expected a refusal, got exit {rc}"
    assert len(errors) == 1, [r.getMessage() for r in errors]
    message = errors[0].getMessage()
    assert "\n" not in message
    named = str(extra[-1]) if "--items" in extra and "catalogue" in name else str(path)
    assert Path(named).name in message, message
    if case.match:
        assert case.match in message.lower(), message
    if case.row is not None:
        assert f"row {case.row}" in message, message
    if case.column is not None:
        assert repr(case.column) in message, message


SUBPROCESS_CASES = ["truncated_gzip", "xlsx", "fifo", "utf16_le_bom", "gzip_bomb_text", "huge_line"]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_case_through_the_cli(name: str, tmp_path: Path) -> None:
    """The real CLI: exit 0 or 2, no traceback on stderr, at most one error line."""
    case = CASES[name]
    path, extra = build(name, tmp_path)
    env = {**os.environ, **case.env}
    proc = subprocess.run(
        [sys.executable, "-m", "recolab", "data-report", str(path), *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    error_lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("ERROR")]
    if case.expect == "ok":
        assert proc.returncode == 0, proc.stderr
        assert not error_lines
        assert "check:" in proc.stdout
    else:
        assert proc.returncode == 2, proc.stderr
        assert len(error_lines) == 1 and path.name in error_lines[0], proc.stderr
