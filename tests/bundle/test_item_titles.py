"""Item titles travel in the bundle's items.csv (issue 14, point 3); old bundles load."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from recolab.bundle import export_bundle, load
from recolab.data.io import load_interactions
from recolab.models.weighted import WeightedObjectiveRecommender
from recolab.training import TrainConfig

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def _retail_log(path: Path) -> Path:
    rows = []
    for u in range(12):
        for j in range(4):
            item = (u + j) % 9
            day = f"2011-01-0{j + 1} 10:00"
            rows.append(f"{100 + u},{2000 + item},PRODUCT NUMBER {item},1,{day},1.5,{50 + u},UK")
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def _fit(tmp_path: Path) -> WeightedObjectiveRecommender:
    data = load_interactions(_retail_log(tmp_path / "retail.csv"))
    return WeightedObjectiveRecommender(TrainConfig(epochs=2, dim=4, seed=0)).fit(data)


def test_titles_round_trip_through_items_csv(tmp_path: Path) -> None:
    model = _fit(tmp_path)
    path = export_bundle(model, tmp_path / "m.zip")
    with zipfile.ZipFile(path) as zf:
        items = pd.read_csv(io.BytesIO(zf.read("items.csv")), dtype=str)
    assert list(items.columns) == ["index", "id", "title"]
    assert (items["title"] == "PRODUCT NUMBER " + items["id"].str[-1]).all()
    loaded = load(path)
    recs = loaded.recommend([str(loaded.model.users_.ids[0])], k=3)
    assert "title" in recs.columns
    assert (recs["title"] == "PRODUCT NUMBER " + recs["item"].astype(str).str[-1]).all()


def test_a_bundle_without_titles_still_loads(tmp_path: Path) -> None:
    model = _fit(tmp_path)
    model.item_titles_ = None  # as a bundle written before titles were carried
    path = export_bundle(model, tmp_path / "old.zip")
    with zipfile.ZipFile(path) as zf:
        assert zf.read("items.csv").decode().splitlines()[0] == "index,id"
    loaded = load(path)
    assert loaded.model.item_titles_ is None
    recs = loaded.recommend([str(loaded.model.users_.ids[0])], k=3)
    assert "title" not in recs.columns and len(recs) == 3
