"""``python -m recolab data-report``: prints the report, writes JSON, fails cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recolab.cli import main

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
RETAIL = DATASETS / "online-retail-sample" / "online_retail_sample.csv"


def test_retail_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "report.json"
    assert main(["data-report", str(RETAIL), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "rows read: 10000" in text
    assert "dropped, missing user id: 2291" in text
    assert "non-product row" in text and "return or cancellation" in text
    assert "check: 6871 kept + 2420 dropped + 709 merged = 10000 read" in text
    report = json.loads(out.read_text())
    assert (
        report["rows_kept"] + sum(report["dropped"].values()) + report["duplicates_merged"]
        == report["rows_read"]
    )
    assert not list(out.parent.glob("*.tmp"))  # temp file replaced, not left behind


def test_mapping_and_duplicates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.csv"
    path.write_text("who,what,stars\na,x,1\na,x,5\n")
    assert (
        main(
            [
                "data-report",
                str(path),
                "--map",
                "user=who",
                "--map",
                "item=what",
                "--duplicates",
                "max",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "columns: user=who, item=what, rating=stars" in text
    assert "policy max): 1" in text


def test_bad_input_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("user,item\nu,i\n")
    assert main(["data-report", str(path), "--map", "item=nope"]) == 2
    assert main(["data-report", str(path), "--map", "oops"]) == 2
    assert main(["data-report", str(tmp_path / "missing.csv")]) == 2


def test_catalogue_and_warnings_are_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "user,item,rating\n" + "".join(f"u{k},a,{1 + k % 5}\n" for k in range(20)) + "v,b,90\n"
    )
    items = tmp_path / "items.csv"
    items.write_text("item,title\na,Apple\n,No id\na,Again\n")
    assert main(["data-report", str(log), "--items", str(items)]) == 0
    text = capsys.readouterr().out
    assert "warning: mixed rating scales" in text
    assert "dropped, missing item id: 1 (e.g. rows 2)" in text
    assert "catalogue check: 1 kept + 2 dropped = 3 read" in text
