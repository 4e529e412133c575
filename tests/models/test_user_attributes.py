"""User attributes in the weighted model: new users with attributes only, bundles, ML-100K."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recolab.bundle import export_bundle, load
from recolab.config import TrainConfig
from recolab.data import build_interactions
from recolab.data.samples import load_sample
from recolab.data.splits import cold_user_split
from recolab.evaluation import evaluate
from recolab.models.popularity import PopularityRecommender
from recolab.models.weighted import WeightedObjectiveRecommender


def _two_groups(seed: int = 0):
    """Users of group A interact only with items 0-29, group B only with items 30-59, with
    the same popularity profile, so popularity alone cannot tell the groups apart."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, 31)
    rows = []
    for u in range(200):
        group = u % 2
        picks = rng.choice(30, size=12, replace=False, p=weights / weights.sum())
        rows += [(f"u{u}", f"i{group * 30 + i}", 1.0) for i in picks]
    frame = pd.DataFrame(rows, columns=["user", "item", "value"])
    meta = pd.DataFrame(
        {"group": ["A" if u % 2 == 0 else "B" for u in range(200)]},
        index=pd.Index([f"u{u}" for u in range(200)], name="user"),
    )
    return build_interactions(frame, kind="implicit", user_meta=meta, name="two-groups")


@pytest.fixture(scope="module")
def groups():
    return _two_groups()


@pytest.fixture(scope="module")
def with_attributes(groups):
    cfg = TrainConfig(epochs=30, dim=16, batch_size=32, lr=0.01, cold_user_share=0.3, seed=0)
    return WeightedObjectiveRecommender(cfg).fit(groups)


def _share_in_group_a(model, attributes) -> float:
    scores = model.fold_in([], attributes=attributes)
    top = np.argsort(-scores)[:10]
    ids = [model.items_.ids[i] for i in top]
    return float(np.mean([int(i[1:]) < 30 for i in ids]))


def test_new_user_lists_follow_their_attributes(with_attributes):
    model = with_attributes
    assert model.user_encoder_.tokens == ["group=A", "group=B", "group=other"]
    assert _share_in_group_a(model, {"group": "A"}) >= 0.9
    assert _share_in_group_a(model, {"group": "B"}) <= 0.1


def test_bundle_keeps_user_attributes(with_attributes, groups, tmp_path):
    model = with_attributes
    loaded = load(export_bundle(model, tmp_path / "m.zip"))
    assert loaded.config["user_attributes"] == model.user_encoder_.to_dict()
    users = np.arange(groups.n_users)
    np.testing.assert_allclose(loaded.model.score(users, 0.1), model.score(users, 0.1), rtol=1e-5)
    got = loaded.recommend_for_history([], k=5, attributes={"group": "B"})
    expected = np.argsort(-model.fold_in([], attributes={"group": "B"}))[:5]
    assert got["item"].tolist() == [model.items_.ids[i] for i in expected]


@pytest.mark.slow
def test_ml100k_new_users_beat_popularity():
    """10 % of ML-100K users held out entirely: their lists come from age, gender,
    occupation and zip alone, and must rank better than the popularity list."""
    train, test = cold_user_split(load_sample("ml-100k"), user_fraction=0.1, seed=0)
    pop = evaluate(PopularityRecommender().fit(train), train, test, ks=(20,)).metrics
    model = WeightedObjectiveRecommender(TrainConfig(use_text=False)).fit(train)
    got = evaluate(model, train, test, ks=(20,), lam=0.0).metrics
    blind = WeightedObjectiveRecommender(TrainConfig(use_user_attributes=False)).fit(train)
    without = evaluate(blind, train, test, ks=(20,), lam=0.0).metrics
    assert got["recall@20"] > 1.03 * pop["recall@20"]
    assert got["recall@20"] > without["recall@20"]
