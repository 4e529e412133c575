"""A base averaging several tuned trials, through the bundle and ``update``: the members are
stored, validated on load, and each is rescaled and re-solved by an update exactly as a
retrain on the union would solve it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recolab.bundle import export_bundle, load
from recolab.data.io import load_interactions
from recolab.models.averaged_linear import AveragedLinearAutoencoder
from recolab.models.tradeoff import TradeoffRecommender
from recolab.rerank import make_reranker
from recolab.tuning.select import fit_base
from recolab.tuning.study import params_from
from tests.bundle.hostile import config_of, read_members, with_config, write_zip
from tests.test_update import _aligned, _log

#: Two tuned trials as a study stores them, the most accurate first.
MEMBERS = [
    {"l2_scale": 0.5, "dropout": 0.2, "user_norm": 0.5, "item_norm": 0.1},
    {"l2_scale": 2.0, "dropout": 0.0, "user_norm": 0.0, "item_norm": 0.0},
]


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[TradeoffRecommender, Path, pd.DataFrame]:
    events = _log(40, range(25), seed=1, day=1)
    (tmp_path / "train.csv").write_text(events.to_csv(index=False))
    data = load_interactions(tmp_path / "train.csv")
    base = fit_base(MEMBERS, data, device="cpu")
    assert isinstance(base, AveragedLinearAutoencoder)
    model = TradeoffRecommender(base, make_reranker("popularity"), 2.0, n_candidates=15).fit(data)
    model.selection_ = {"base": {"trial": MEMBERS[0], "members": MEMBERS}}
    return model, export_bundle(model, tmp_path / "mean.zip", lam=0.5, k=5), events


def test_the_members_round_trip_and_serve_the_same_lists(bundle: tuple) -> None:
    model, path, _ = bundle
    loaded = load(path)
    base = loaded.model.base
    assert isinstance(base, AveragedLinearAutoencoder)
    assert base.members == model.base.members and base.params == model.base.params
    assert loaded.config["base"]["members"][1]["l2"] == model.base.members[1].l2
    users = list(model.users_.ids)
    np.testing.assert_array_equal(base.weights_, model.base.weights_)
    want = model.recommend(np.arange(len(users)), 5, lam=0.5)[0]
    got = loaded.model.recommend(np.arange(len(users)), 5, lam=0.5)[0]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda base: base.update(members=[base["params"]]), "members"),  # one member
        (lambda base: base["members"][1].update(dropout=1.5), "dropout"),
        (lambda base: base.update(type="sparse-linear-autoencoder", neighbours=4), "members"),
    ],
)
def test_bad_members_are_refused_on_load(
    bundle: tuple, tmp_path: Path, change: object, message: str
) -> None:
    _, path, _ = bundle
    files = read_members(path)
    config = config_of(files)
    change(config["base"])  # type: ignore[operator]
    bad = write_zip(tmp_path / "bad.zip", with_config(files, config))
    with pytest.raises(Exception, match=message):
        load(bad)


def test_an_update_re_solves_each_member_as_a_retrain_on_the_union(
    bundle: tuple, tmp_path: Path
) -> None:
    _, path, events = bundle
    more = _log(15, range(30), seed=2, day=2, first_user=10)
    updated = load(path).update(more, device="cpu")
    base = updated.model.base
    assert isinstance(base, AveragedLinearAutoencoder) and len(base.members) == 2
    (tmp_path / "union.csv").write_text(pd.concat([events, more]).to_csv(index=False))
    union = load_interactions(tmp_path / "union.csv")
    x = union.matrix(binary=True)
    assert base.members == tuple(params_from(v, x) for v in MEMBERS)  # both l2 rescaled
    retrained = fit_base(MEMBERS, union, device="cpu")
    order = np.asarray(union.items.ids)
    w = _aligned(base.weights_, np.asarray(updated.model.items_.ids), order)
    np.testing.assert_allclose(w, retrained.weights_, atol=1e-5)


def test_an_update_with_nothing_new_leaves_the_scores_unchanged(bundle: tuple) -> None:
    model, path, events = bundle
    loaded = load(path)
    updated = loaded.update(events, device="cpu")
    users = np.arange(len(model.users_))
    np.testing.assert_allclose(updated.model.score(users), loaded.model.score(users), atol=1e-6)
