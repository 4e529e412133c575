"""Shipped samples load with metadata; the folder can be moved with RECOLAB_SAMPLE_DATA."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from recolab.data.samples import (
    SAMPLES,
    available_samples,
    load_ml100k_split,
    load_sample,
    sample_dir,
    sample_path,
)
from recolab.errors import DataError

REPO = Path(__file__).resolve().parents[2]


def test_sample_files_and_licences_present() -> None:
    assert SAMPLES == ("ml-100k", "retail-sample")
    root = REPO / "sample_data"
    # MovieLens 100K may not be redistributed: it is read from the licensed shared copy
    assert not (root / "ml-100k").exists()
    shared = (REPO / ".." / "shared" / "datasets" / "ml-100k").resolve()
    assert sample_path("ml-100k").resolve() == shared
    assert available_samples() == SAMPLES
    licence = (root / "retail-sample" / "LICENSE.txt").read_text()
    assert "CC BY 4.0" in licence and "Chen" in licence and "Sain" in licence


def test_load_ml100k_sample() -> None:
    data = load_sample("ml-100k")
    assert (data.n_users, data.n_items, data.n_interactions) == (943, 1682, 100_000)
    assert data.item_meta is not None and data.user_meta is not None
    assert data.item_texts is not None and data.item_texts[data.items.index(["1"])[0]].startswith(
        "Toy Story (1995)"
    )
    assert data.user_meta.loc["1", "occupation"] == "technician"
    assert data.user_meta.loc["1", "age"] == 24


def test_load_retail_sample_keeps_quantity_and_price() -> None:
    data = load_sample("retail-sample")
    assert data.kind == "implicit"
    assert {"quantity", "price"} <= set(data.frame.columns)
    assert data.n_interactions == 6871  # counted independently in test_io
    assert data.item_meta is not None
    assert data.item_meta.loc["85123A", "text"] == "WHITE HANGING HEART T-LIGHT HOLDER"
    data.report.check_balance()  # type: ignore[union-attr]


def test_load_ml100k_split_u1() -> None:
    train, test = load_ml100k_split("u1")
    assert (train.n_interactions, test.n_interactions) == (80_000, 20_000)
    assert train.items is test.items and train.users is test.users
    assert train.item_meta is not None and test.user_meta is not None
    with pytest.raises(DataError, match="not shipped"):
        load_ml100k_split("u2")  # the shared copy holds u1 only


def test_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(REPO / "sample_data" / "retail-sample", tmp_path / "retail-sample")
    monkeypatch.setenv("RECOLAB_SAMPLE_DATA", str(tmp_path))
    assert sample_dir() == tmp_path
    assert load_sample("retail-sample").report.source.startswith(str(tmp_path))  # type: ignore[union-attr]
    with pytest.raises(DataError, match=r"not shipped with recolab .* licence"):
        load_sample("ml-100k")
    assert available_samples() == ("retail-sample",)
    with pytest.raises(DataError, match="unknown sample"):
        load_sample("nope")
