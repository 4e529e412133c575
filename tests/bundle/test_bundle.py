"""Bundles: round trip, fold-in, and every way a bad archive is refused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import recolab
from recolab.bundle import SCHEMA_VERSION, export_bundle, load
from recolab.data.synthetic import synthetic_interactions
from recolab.errors import BundleError
from recolab.models.weighted import WeightedObjectiveRecommender
from recolab.training import TrainConfig


@pytest.fixture(scope="module")
def model():
    data = synthetic_interactions(150, 80, n_interactions=3000, rank=6, seed=2)
    return WeightedObjectiveRecommender(TrainConfig(epochs=3, dim=8, seed=0)).fit(data)


@pytest.fixture(scope="module")
def bundle(model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("b") / "model.zip"
    return export_bundle(model, path, lam=0.1, metrics={"recall@20": 0.5})


def test_round_trip_recommendations_equal(model, bundle):
    loaded = recolab.load(bundle)
    users = model.users_.ids[:20].tolist()
    for lam in (0.0, 0.1, 0.3):
        df = loaded.recommend(users, k=10, lam=lam)
        idx, _ = model.recommend(model.users_.index(users), 10, lam=lam)
        expected = [model.items_.ids[i] for row in idx for i in row if i >= 0]
        assert df["item"].tolist() == expected
    assert loaded.default_lam == pytest.approx(0.1)
    assert loaded.config["metrics"] == {"recall@20": 0.5}


def test_folder_bundle_and_weights_identical(model, tmp_path):
    folder = export_bundle(model, tmp_path / "folder")
    loaded = load(folder)
    for name, array in model.weight_arrays().items():
        np.testing.assert_array_equal(loaded.model.weight_arrays()[name], array)


def test_pruned_model_stored_sparse_and_smaller(model, tmp_path):
    dense = export_bundle(model, tmp_path / "dense.zip")
    pruned = model.prune(0.9)
    sparse = export_bundle(pruned, tmp_path / "sparse.zip")
    cfg = load(sparse).config
    assert any(v["storage"] == "sparse" for v in cfg["weights_layout"].values())
    assert sparse.stat().st_size < dense.stat().st_size
    users = np.arange(10)
    a, _ = pruned.recommend(users, 5)
    b, _ = load(sparse).model.recommend(users, 5)
    np.testing.assert_array_equal(a, b)


def test_new_user_by_history(model, bundle):
    loaded = load(bundle)
    user = 3
    history = model.items_.ids[model.train_[user].indices].tolist()
    new = loaded.recommend_for_history([*history, "not-an-item"], k=5, lam=0.0)
    known = loaded.recommend([model.users_.ids[user]], k=5, lam=0.0)
    assert new["item"].tolist() == known["item"].tolist()


def test_unknown_user_is_a_clear_error(bundle):
    with pytest.raises(BundleError, match="unknown user"):
        load(bundle).recommend(["nobody"], k=3)


def _rewrite(src: Path, dst: Path, change) -> Path:
    with zipfile.ZipFile(src) as zin:
        files = {n: zin.read(n) for n in zin.namelist()}
    files = change(files)
    with zipfile.ZipFile(dst, "w") as zout:
        for name, data in files.items():
            zout.writestr(name, data)
    return dst


def test_tampered_weights_refused(bundle, tmp_path):
    def flip(files):
        w = bytearray(files["weights.safetensors"])
        w[-1] ^= 0xFF
        files["weights.safetensors"] = bytes(w)
        return files

    with pytest.raises(BundleError, match="checksum"):
        load(_rewrite(bundle, tmp_path / "t.zip", flip))


def test_wrong_schema_version_refused(bundle, tmp_path):
    def bump(files):
        cfg = json.loads(files["config.json"])
        cfg["schema_version"] = SCHEMA_VERSION + 1
        files["config.json"] = json.dumps(cfg).encode()
        return files

    with pytest.raises(BundleError, match="schema version"):
        load(_rewrite(bundle, tmp_path / "v.zip", bump))


def test_truncated_foreign_and_escaping_archives_refused(bundle, tmp_path):
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
    with pytest.raises(BundleError):
        load(truncated)
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(BundleError, match="not a recolab bundle"):
        load(foreign)
    evil = _rewrite(bundle, tmp_path / "evil.zip", lambda f: {**f, "../../escape.txt": b"x"})
    with pytest.raises(BundleError, match="escaping"):
        load(evil)
    assert not (tmp_path.parent / "escape.txt").exists()
    with pytest.raises(BundleError, match="no bundle"):
        load(tmp_path / "missing.zip")


def test_new_items_scored_from_text_like_cold_catalogue_items(tmp_path):
    """An item with text but no interactions is scored through the text path alone, so
    scoring its text as a brand-new item gives the same numbers."""
    import pandas as pd

    from recolab.data import build_interactions
    from recolab.features.text import TextEncoder

    titles = [f"{g} film number {i}" for i, g in enumerate(["comedy", "war", "space"] * 8)]
    items = [f"i{i}" for i in range(len(titles))]
    meta = pd.DataFrame({"title": titles, "text": titles}, index=items)
    rng = np.random.default_rng(0)
    rows = [(f"u{u}", items[i]) for u in range(40) for i in rng.choice(23, 6, replace=False)]
    frame = pd.DataFrame(rows, columns=["user", "item"]).drop_duplicates().assign(value=1.0)
    data = build_interactions(frame, kind="implicit", item_meta=meta)  # item i23 is cold
    encoder = TextEncoder(cache_dir=tmp_path / "cache")
    text = encoder.encode(data.item_texts)
    model = WeightedObjectiveRecommender(TrainConfig(epochs=3, dim=8)).fit(data, item_text=text)
    cold = data.items.index(["i23"])[0]
    assert model.candidates_[cold]  # reachable through its text
    loaded = load(export_bundle(model, tmp_path / "m.zip"))
    users = ["u0", "u5"]
    new = loaded.score_new_items([titles[23]], users, lam=0.1, encoder=encoder)
    direct = model.score(model.users_.index(users), lam=0.1)[:, [cold]]
    np.testing.assert_allclose(new, direct, rtol=1e-4, atol=1e-4)


def test_extra_files_and_fingerprint_survive_a_re_export(model, bundle, tmp_path):
    loaded = load(bundle)
    assert loaded.config["data_fingerprint"] == model.data_fingerprint_
    again = export_bundle(
        loaded.model, tmp_path / "again.zip", extra_files={"MODEL_CARD.md": b"# card"}
    )
    with zipfile.ZipFile(again) as z:
        assert z.read("MODEL_CARD.md") == b"# card"
    assert load(again).config["data_fingerprint"] == model.data_fingerprint_
    with pytest.raises(BundleError, match="may not replace"):
        export_bundle(model, tmp_path / "bad.zip", extra_files={"config.json": b"{}"})
    assert not (tmp_path / "bad.zip").exists()
