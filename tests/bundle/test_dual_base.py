"""Bundles of a base solved in dual form (fewer users than items): the binary matrix it was
solved on is stored, not items² weights, and the load solves it again to the same lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recolab.bundle import export_bundle, load
from recolab.bundle.schema import dense_bytes, memory_plan, parse_config
from recolab.data.synthetic import synthetic_interactions
from recolab.tuning import TuneBudget
from recolab.tuning.select import fit_tuned

from ._updates import update_known_and_new_user
from .hostile import config_of, read_members, with_config, write_zip


@pytest.fixture(scope="module")
def dual_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """A default model of 80 users × 600 items (a mean of trials when the study allows)."""
    data = synthetic_interactions(80, 600, n_interactions=2400, popularity_skew=1.1, seed=5)
    tuned = fit_tuned(
        data, budget=TuneBudget(6, 600), seed=0, device="cpu", mechanisms=["popularity"]
    )
    assert tuned.base.dual_ is not None
    model = tuned.recommender()
    return model, export_bundle(model, tmp_path_factory.mktemp("dual") / "dual.zip", lam=0.0)


def test_dual_base_round_trips_to_the_same_lists(dual_bundle: tuple) -> None:
    model, path = dual_bundle
    loaded = load(path)
    base = loaded.model.base
    assert base.dual_ is not None and len(base.dual_) == len(model.base.dual_)
    assert type(base) is type(model.base)
    assert base._weights is not None  # 600 items: W formed at load, scoring reads it
    users = np.arange(model.train_.shape[0])
    np.testing.assert_allclose(base.score(users), model.base.score(users), atol=1e-5)
    for lam in (0.0, 0.5 * model.lam_high):
        want, _ = model.recommend(users, 10, lam=lam)
        got, _ = loaded.model.recommend(users, 10, lam=lam)
        np.testing.assert_array_equal(got, want)


def test_the_bundle_holds_the_solve_matrix_not_items_squared(dual_bundle: tuple) -> None:
    model, path = dual_bundle
    members = read_members(path)
    cfg = parse_config(members["config.json"])[1]
    assert cfg.base.solver == "dual"
    assert set(cfg.weights_layout) == {"solve_matrix"}
    assert tuple(cfg.weights_layout["solve_matrix"].shape) == model.base.solve_matrix_.shape
    assert dense_bytes(cfg) == 0
    n = model.train_.shape[1]
    assert len(members["weights.safetensors"]) < 4 * n * n / 10
    # the load plans for each member's users × users solve
    plan = memory_plan(cfg, {k: len(v) for k, v in members.items()}, model.train_.nnz)
    assert plan > 8 * 80 * 80 * (len(cfg.base.members or [None]) + 3)


def test_a_dual_bundle_needs_fewer_users_than_items(dual_bundle: tuple, tmp_path: Path) -> None:
    _, path = dual_bundle
    members = read_members(path)
    config = config_of(members)
    config["weights_layout"]["solve_matrix"]["shape"][0] = 600  # as many users as items
    with pytest.raises(Exception, match="fewer users than 600 items"):
        load(write_zip(tmp_path / "square.zip", with_config(members, config)))
    config = config_of(members)
    config["base"]["type"] = "sparse-linear-autoencoder"
    config["base"]["neighbours"] = 4
    with pytest.raises(Exception, match="dual solver is for the dense linear base only"):
        load(write_zip(tmp_path / "sparse.zip", with_config(members, config)))


def test_an_update_re_solves_in_dual_form(dual_bundle: tuple) -> None:
    loaded, updated = update_known_and_new_user(dual_bundle[1])
    base = updated.model.base
    assert base.dual_ is not None
    assert base.solve_matrix_.shape == (loaded.model.train_.shape[0] + 1, 600)


def test_the_model_card_says_the_base_was_solved_in_dual_form(dual_bundle: tuple) -> None:
    from recolab.bundle.card import _selection_options

    _, path = dual_bundle
    config = config_of(read_members(path))
    assert config["selection"]["base"]["solver"] == "dual"
    assert "users × users" in _selection_options(config)["solved"]
    assert "solved" not in _selection_options({"base": {"type": "linear-autoencoder"}})
