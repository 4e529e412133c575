"""Bundles of the sparse neighbourhood base (large catalogues): its weights are stored and
served sparse, never made dense (items² floats is what that base exists to avoid)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import recolab.models.sparse_linear as sparse_linear
import recolab.tuning.sparsity as sparsity
from recolab.bundle import export_bundle, load
from recolab.bundle.schema import dense_bytes, parse_config
from recolab.data.synthetic import synthetic_interactions
from recolab.models.sparse_linear import SparseLinearAutoencoder
from recolab.tuning import TuneBudget
from recolab.tuning.select import fit_tuned

from ._updates import update_known_and_new_user
from .hostile import config_of, read_members, with_config, write_zip


@pytest.fixture
def sparse_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, Path]:
    """A default model forced onto the sparse base (4 neighbours over 60 items), exported."""
    monkeypatch.setattr(sparse_linear, "SPARSE_ABOVE_ITEMS", 10)
    monkeypatch.setattr(sparse_linear, "DEFAULT_NEIGHBOURS", 4)
    monkeypatch.setattr(sparsity, "NEIGHBOUR_GRID", (4,))  # kept at 4, not chosen
    data = synthetic_interactions(200, 60, n_interactions=3000, seed=3)
    tuned = fit_tuned(
        data, budget=TuneBudget(2, 600), seed=0, device="cpu", mechanisms=["popularity"]
    )
    assert isinstance(tuned.base, SparseLinearAutoencoder)
    model = tuned.recommender()
    return model, export_bundle(model, tmp_path / "sparse.zip", lam=0.0)


def test_sparse_weights_round_trip_without_a_dense_copy(sparse_bundle: tuple) -> None:
    model, path = sparse_bundle
    loaded = load(path)
    base = loaded.model.base
    assert isinstance(base, SparseLinearAutoencoder) and base.neighbours == 4
    assert sp.issparse(base.weights_)
    assert (base.weights_ != model.base.weights_).nnz == 0
    assert np.diff(base.weights_.tocsc().indptr).max() <= 4
    users = np.arange(model.train_.shape[0])
    # at the λ it was exported with (its own default is what validation chose), and another
    for lam in (0.0, model.lam_default):
        want, _ = model.recommend(users, 10, lam=lam)
        got, _ = loaded.model.recommend(users, 10, lam=lam)
        np.testing.assert_array_equal(got, want)


def test_the_memory_plan_counts_the_stored_sparse_weights_not_items_squared(
    sparse_bundle: tuple,
) -> None:
    _, path = sparse_bundle
    cfg = parse_config(read_members(path)["config.json"])[1]
    assert cfg.base.type == "sparse-linear-autoencoder"
    assert dense_bytes(cfg) == 0  # the item-item weights are the only matrix here


def test_the_card_names_the_neighbours_chosen_on_validation(sparse_bundle: tuple) -> None:
    _, path = sparse_bundle
    card = read_members(path)["MODEL_CARD.md"].decode()
    line = next(x for x in card.splitlines() if "neighbours per item" in x)
    assert "4 (validation scores 4: 0." in line


def test_neighbours_belong_to_the_sparse_base_only(sparse_bundle: tuple, tmp_path: Path) -> None:
    _, path = sparse_bundle
    members = read_members(path)
    config = config_of(members)
    config["base"]["type"] = "linear-autoencoder"  # a dense base with a neighbourhood size
    bad = write_zip(tmp_path / "bad.zip", with_config(members, config))
    with pytest.raises(Exception, match="neighbours"):
        load(bad)


def test_an_update_keeps_the_sparse_base(sparse_bundle: tuple) -> None:
    _, updated = update_known_and_new_user(sparse_bundle[1])
    base = updated.model.base
    assert isinstance(base, SparseLinearAutoencoder) and base.neighbours == 4
    assert sp.issparse(base.weights_)
    assert base.weights_.shape == (len(updated.model.items_), len(updated.model.items_))
