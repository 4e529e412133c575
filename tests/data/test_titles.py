"""Item titles from a log's title / name / description column (issue 14, point 3)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recolab.data.columns import ROLE_ALIASES, detect_columns
from recolab.data.interactions import item_titles
from recolab.data.io import load_interactions

RETAIL_HEADER = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
)


def _retail(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "retail.csv"
    path.write_text(RETAIL_HEADER + "\n".join(rows) + "\n")
    return path


def _titles(data) -> dict[str, str]:
    return dict(zip(map(str, data.items.ids), item_titles(data) or [], strict=True))


def test_description_column_is_detected_as_title() -> None:
    cols = RETAIL_HEADER.strip().split(",")
    assert detect_columns(cols)["title"] == "Description"
    assert detect_columns(["user", "item", "Product Name"])["title"] == "Product Name"
    assert "summary" not in ROLE_ALIASES["title"]  # a review's summary is not the item's


def test_most_frequent_non_empty_description_is_the_title(tmp_path: Path) -> None:
    path = _retail(
        tmp_path,
        [
            "1,10A,red mug,1,2011-01-01 10:00,1.0,10,UK",
            "2,10A,RED MUG,1,2011-01-02 10:00,1.0,11,UK",
            "3,10A,RED MUG,1,2011-01-03 10:00,1.0,12,UK",
            "4,10A,,1,2011-01-03 10:00,1.0,13,UK",
            "5,20B,,2,2011-01-04 10:00,2.0,10,UK",
            "6,30C,blue cup,1,2011-01-05 10:00,2.0,11,UK",
            "7,30C,Blue Cup,1,2011-01-05 11:00,2.0,12,UK",
        ],
    )
    data = load_interactions(path)
    titles = _titles(data)
    assert titles["10A"] == "RED MUG"  # twice against once; the empty cell is not counted
    assert titles["20B"] == ""  # no description at all: shown by its id
    assert titles["30C"] == "blue cup"  # a tie: the first seen
    assert data.item_meta is not None and data.item_meta.loc["10A", "text"] == "RED MUG"
    lines = "\n".join(data.report.summary_lines())
    assert "items with a title: 2 of 3; without one (shown by id): 1" in lines
    assert "(2 items had more than one)" in lines
    assert data.report.columns["title"] == "Description"
    # titles from the log are not a catalogue file: no "item catalogue None" note
    assert not any("catalogue" in note for note in data.report.notes)
    data.report.check_balance()
    assert data.n_interactions == 7  # the title column changes no count


def test_titles_only_from_kept_rows(tmp_path: Path) -> None:
    path = _retail(
        tmp_path,
        [
            "1,10A,mug,1,2011-01-01 10:00,1.0,10,UK",
            "C2,10A,returned mug,-1,2011-01-01 10:00,1.0,10,UK",
            "C3,10A,returned mug,-1,2011-01-01 10:00,1.0,11,UK",
        ],
    )
    assert _titles(load_interactions(path))["10A"] == "mug"


def test_catalogue_titles_win_and_the_log_fills_the_rest(tmp_path: Path) -> None:
    path = _retail(
        tmp_path,
        [
            "1,10A,log a,1,2011-01-01 10:00,1.0,10,UK",
            "2,20B,log b,1,2011-01-01 10:00,1.0,10,UK",
            "3,30C,log c,1,2011-01-01 10:00,1.0,11,UK",
        ],
    )
    items = tmp_path / "items.csv"
    items.write_text("StockCode,Description\n10A,catalogue a\n20B,\nZ9,catalogue z\n")
    data = load_interactions(path, items=items)
    titles = _titles(data)
    assert titles == {"10A": "catalogue a", "20B": "log b", "30C": "log c", "Z9": "catalogue z"}
    # the catalogue file's note counts the log's items it lacks (30C)
    note = next(n for n in data.report.notes if n.startswith("item catalogue"))
    assert note.endswith("1 interacted items have no catalogue entry")


def test_item_titles_falls_back_per_item(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("user,item\nu1,1\nu1,2\n")
    items = tmp_path / "items.csv"
    items.write_text("item,title,description\n1,One,first\n2,,second\n")
    data = load_interactions(path, items=items)
    assert _titles(data) == {"1": "One", "2": "second"}


def test_log_without_title_column_has_no_titles(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("user,item,rating\nu1,1,4\nu2,2,5\n")
    data = load_interactions(path)
    assert data.item_meta is None and item_titles(data) is None
    assert isinstance(data.frame, pd.DataFrame) and "title" not in data.frame.columns
