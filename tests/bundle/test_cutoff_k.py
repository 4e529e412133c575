"""The bundle's default list length k* (objectives.k) and its validation cut-off curves."""

from __future__ import annotations

from pathlib import Path

import pytest

from recolab.bundle import export_bundle, load
from recolab.data.synthetic import synthetic_interactions
from recolab.errors import BundleError
from recolab.models.weighted import WeightedObjectiveRecommender
from recolab.training import TrainConfig

from .hostile import config_of, read_members, with_config, write_zip

CUTOFFS = {
    "validation": "given",
    "max_k": 3,
    "curves": [
        {
            "lam": 0.0,
            "precision": [0.5, 0.4, 0.3],
            "recall": [0.1, 0.2, 0.3],
            "f1": [0.17, 0.27, 0.3],
        }
    ],
}


@pytest.fixture(scope="module")
def model():
    data = synthetic_interactions(60, 40, n_interactions=800, rank=4, seed=3)
    return WeightedObjectiveRecommender(TrainConfig(epochs=1, dim=4, seed=0)).fit(data)


@pytest.fixture(scope="module")
def with_k(model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("k") / "model.zip"
    return export_bundle(model, path, lam=0.0, k=7, cutoffs=CUTOFFS)


def test_k_star_is_the_default_list_length(model, with_k):
    loaded = load(with_k)
    assert loaded.default_k == 7 and loaded.config["cutoffs"] == CUTOFFS
    user = str(model.users_.ids[0])
    assert len(loaded.recommend([user])) == 7
    assert len(loaded.recommend([user], k=3)) == 3  # an explicit k wins
    history = [str(model.items_.ids[i]) for i in (1, 2)]
    assert len(loaded.recommend_for_history(history)) == 7


def test_a_bundle_without_k_serves_ten(model, tmp_path):
    loaded = load(export_bundle(model, tmp_path / "old.zip", lam=0.0))
    assert "k" not in loaded.config["objectives"] and loaded.config["cutoffs"] is None
    assert loaded.default_k == 10
    assert len(loaded.recommend([str(model.users_.ids[0])])) == 10
    # a bundle written before the field existed has no "cutoffs" key at all
    files = read_members(tmp_path / "old.zip")
    cfg = config_of(files)
    del cfg["cutoffs"]
    assert load(write_zip(tmp_path / "older.zip", with_config(files, cfg))).default_k == 10


@pytest.mark.parametrize("k", [0, -1, 2.5, True, 10_001])
def test_export_refuses_a_bad_k(model, tmp_path, k):
    with pytest.raises(BundleError, match="k must be"):
        export_bundle(model, tmp_path / "bad.zip", k=k)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["objectives"].update(k=0), "objectives.k"),
        (lambda c: c["objectives"].update(k="7"), "objectives.k"),
        (lambda c: c["cutoffs"]["curves"][0].update(precision=[0.5, 0.4]), "points"),
        (lambda c: c["cutoffs"]["curves"][0].update(recall=[0.1, 2.0, 0.3]), "recall"),
        (lambda c: c["cutoffs"].update(extra=1), "cutoffs"),
    ],
)
def test_load_validates_k_and_curves(with_k, tmp_path, change, message):
    files = read_members(with_k)
    cfg = config_of(files)
    change(cfg)
    bad = write_zip(tmp_path / "bad.zip", with_config(files, cfg))
    with pytest.raises(BundleError, match=message):
        load(bad)


def test_recommend_refuses_a_bad_k(with_k, model):
    with pytest.raises(BundleError, match="k must be"):
        load(with_k).recommend([str(model.users_.ids[0])], k=0)
