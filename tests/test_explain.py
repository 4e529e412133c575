"""recolab.explain: what λ changed in a list and which objective moved each item."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import recolab
from recolab.bundle import export_bundle
from recolab.data.synthetic import synthetic_interactions
from recolab.explain import ItemStatistics, change_table, reason
from recolab.models.linear import LinearAutoencoder, LinearParams
from recolab.models.tradeoff import TradeoffRecommender
from recolab.rerank import make_reranker


def _model(objective: str, **extra) -> SimpleNamespace:
    return SimpleNamespace(reranker=SimpleNamespace(objective=objective, **extra), **extra)


STATS = ItemStatistics(
    user_share=np.array([0.5, 0.25, 0.0005, 0.1, 0.02]),
    list_share=np.array([0.9, 0.4, 0.0, 0.003, 0.2]),
)


def test_change_table_by_hand() -> None:
    table = change_table(_model("novelty"), before=[1, 2, 3], after=[1, 4, 2], stats=STATS)
    assert table["index"].tolist() == [1, 4, 2, 3]
    assert table["change"].tolist() == ["kept", "added", "kept", "dropped"]
    assert table["rank_before"].tolist()[0] == 1 and table["rank_after"].tolist()[0] == 1
    assert table.loc[2, "rank_before"] == 2 and table.loc[2, "rank_after"] == 3
    assert np.isnan(table.loc[1, "rank_before"]) and np.isnan(table.loc[3, "rank_after"])
    assert table.loc[1, "reason"] == "added for novelty: 2.0 % of users have it"
    assert table.loc[3, "reason"] == "dropped for novelty: 10.0 % of users have it"
    assert table.loc[0, "reason"] == ""


def test_reasons_by_objective() -> None:
    assert reason(_model("coverage"), STATS, 3, [3], True) == (
        "added for coverage: in 0.3 % of the λ = 0 lists"
    )
    assert reason(_model("novelty"), STATS, 2, [2], True) == (
        "added for novelty: 0.05 % of users have it"
    )
    # unit vectors: item 0 = (1, 0), 1 = (0, 1), 2 = (1, 1)/√2 → mean similarity of 2 to
    # [0, 1] is (1/√2 + 1/√2)/2 = 0.71
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    text = reason(_model("diversity", item_vectors=vectors), STATS, 2, [0, 1, 2], True)
    assert text == "added for diversity: mean similarity to the list 0.71"
    prices = np.array([1.0, 2.0, 9.0, 3.0, np.nan])
    assert reason(_model("revenue", prices_=prices), STATS, 2, [2], False) == (
        "dropped for revenue: price 9.00 (median 2.50)"
    )
    assert reason(_model("calibration"), STATS, 0, [0], True).startswith("added for calibration")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    data = synthetic_interactions(150, 80, n_interactions=3000, rank=5, seed=3)
    base = LinearAutoencoder(LinearParams(l2=20.0)).fit(data)
    model = TradeoffRecommender(base, make_reranker("popularity"), 3.0, n_candidates=40)
    path = export_bundle(model.fit(data), tmp_path_factory.mktemp("x") / "m.zip")
    return recolab.load(path)


def test_api_diff_of_a_known_user(loaded) -> None:
    user = loaded.model.users_.ids[0]
    same = loaded.changes(user_id=user, k=10, lam=0.0)
    assert (same["change"] == "kept").all() and len(same) == 10
    moved = loaded.changes(user_id=user, k=10, lam=3.0)
    now = loaded.recommend([user], k=10, lam=3.0)["item"].tolist()
    base = loaded.recommend([user], k=10, lam=0.0)["item"].tolist()
    assert moved.loc[moved["rank_after"].notna(), "item"].tolist() == now
    assert set(moved.loc[moved["change"] == "dropped", "item"]) == set(base) - set(now)
    added = moved[moved["change"] == "added"]
    assert len(added) == len(set(now) - set(base)) > 0
    assert added["reason"].str.startswith("added for novelty").all()


def test_api_diff_of_a_history_and_bad_arguments(loaded) -> None:
    history = loaded.model.items_.ids[:3].tolist()
    table = loaded.changes(history_ids=history, k=5, lam=3.0, lam_from=0.0)
    assert table["rank_after"].notna().sum() == 5
    with pytest.raises(ValueError, match="exactly one"):
        loaded.changes(k=5)
