"""The protocol: known answers on a toy split, and ML-100K checked against a plain loop."""

from __future__ import annotations

import json
import math
from functools import cache

import numpy as np
import pandas as pd
import pytest

from recolab.data import InteractionData, Vocabulary, build_interactions
from recolab.errors import DataError
from recolab.evaluation import EvalResult, Protocol, evaluate, format_table
from recolab.models import EASERecommender, ItemKNNRecommender, PopularityRecommender
from recolab.models.base import Recommender
from tests.models._ml100k import ml100k_u1

LOG3 = math.log2(3)
USERS = Vocabulary.from_ids(["a", "b", "c"])
ITEMS = Vocabulary.from_ids(["x", "y", "z", "w"])
META = pd.DataFrame({"genres": ["A", "A", "A|B", "B"]}, index=["x", "y", "z", "w"])


def split(kind: str = "implicit") -> tuple[InteractionData, InteractionData]:
    """train a:{x, y} b:{x} c:{z}; test a:{z, w} b:{y}; w is never in training."""
    train = pd.DataFrame({"user": list("abac"), "item": list("xxyz"), "value": [5.0, 3, 4, 2]})
    test = pd.DataFrame({"user": list("aab"), "item": list("zwy"), "value": [4.0, 2, 5]})
    make = lambda f: build_interactions(  # noqa: E731
        f, kind=kind, users=USERS, items=ITEMS, item_meta=META
    )
    return make(train), make(test)


def test_evaluate_by_hand() -> None:
    train, test = split()
    result = evaluate(PopularityRecommender().fit(train), train, test, ks=(1, 2))
    m = result.metrics
    # popularity x:2 y:1 z:1 (w: no training user, not a candidate)
    # a (saw x, y) → [z, -]; b (saw x) → [y, z] (y and z tie: lower index first)
    assert result.n_users == 2  # c has no test interaction
    assert m["precision@1"] == 1.0 and m["recall@1"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["precision@2"] == 0.5 and m["recall@2"] == pytest.approx(0.75)
    assert m["ndcg@2"] == pytest.approx((1 / (1 + 1 / LOG3) + 1) / 2)
    assert m["hit_rate@2"] == 1.0
    assert m["coverage@2"] == pytest.approx(2 / 3)  # {y, z} of 3 training items
    assert m["novelty@2"] == pytest.approx(LOG3)  # z, y, z: 1 user of 3 each
    # exposure over x, y, z = 0, 1, 2 → Gini 4/9
    assert m["gini@2"] == pytest.approx(4 / 9)
    assert m["exposure_equality@2"] == pytest.approx(5 / 9)
    # genres from item_meta: a's list has one item (left out); b: y "A" vs z "A|B" → cos 1/√2
    assert m["diversity@2"] == pytest.approx(1 - 1 / math.sqrt(2))
    assert "rmse" not in m


def test_protocol_counts_by_hand() -> None:
    train, test = split()
    result = evaluate(PopularityRecommender().fit(train), train, test, ks=(2,))
    p = result.protocol
    assert p["n_eval_users"] == 2
    assert p["n_train_users"] == 3
    assert p["n_train_items"] == 3
    assert p["n_items"] == 4
    assert p["n_test_interactions"] == 3
    assert p["n_test_interactions_unseen_items"] == 1
    assert p["ks"] == [2] and p["exclude_seen"] is True
    assert "only content-aware models" in p["unseen_items_note"]
    assert any("only content-aware models" in rule for rule in p["rules"])


def test_protocol_object() -> None:
    p = Protocol(ks=(20, 10, 20))
    assert p.ks == (10, 20)
    with pytest.raises(ValueError, match="positive"):
        Protocol(ks=(0,))
    with pytest.raises(AttributeError):
        p.ks = (5,)  # type: ignore[misc]
    d = p.describe()
    assert "n_eval_users" not in d and d["ks"] == [10, 20]
    assert "the user's own training items included" in Protocol(exclude_seen=False).rules()[0]


def test_ks_override_protocol_and_include_seen() -> None:
    train, test = split()
    model = PopularityRecommender().fit(train)
    result = evaluate(model, train, test, ks=(1,), protocol=Protocol(exclude_seen=False))
    assert result.protocol["ks"] == [1] and result.protocol["exclude_seen"] is False
    # seen items stay in: a → x (2 users), not relevant; b → x too
    assert result.metrics["precision@1"] == 0.0


def test_explicit_vectors_replace_genres() -> None:
    train, test = split()
    model = PopularityRecommender().fit(train)
    same = np.ones((4, 2))
    result = evaluate(model, train, test, ks=(2,), item_vectors=same)
    assert result.metrics["diversity@2"] == pytest.approx(0.0)
    assert result.protocol["diversity_vectors"] == "2 dims"


def test_no_diversity_without_vectors() -> None:
    train, test = split()
    train.item_meta = None
    result = evaluate(PopularityRecommender().fit(train), train, test, ks=(2,))
    assert "diversity@2" not in result.metrics
    assert "coverage@2" in result.metrics


class ConstantRater(PopularityRecommender):
    """Predicts 3 for every pair, except NaN for item w."""

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        out = np.full(len(users), 3.0)
        out[np.asarray(items) == ITEMS.index(["w"])[0]] = np.nan
        return out


def test_rmse_mae_for_explicit_data() -> None:
    train, test = split("explicit")
    result = evaluate(ConstantRater().fit(train), train, test, ks=(1,))
    # z: 4 vs 3, y: 5 vs 3 (w not predicted) → errors 1, 2
    assert result.metrics["rmse"] == pytest.approx(math.sqrt(5 / 2))
    assert result.metrics["mae"] == pytest.approx(1.5)
    assert result.extra["n_rating_pairs_unpredicted"] == 1
    implicit_train, implicit_test = split("implicit")
    other = evaluate(ConstantRater().fit(implicit_train), implicit_train, implicit_test, ks=(1,))
    assert "rmse" not in other.metrics


def test_rejects_mismatched_or_unfitted() -> None:
    train, test = split()
    foreign = build_interactions(test.frame[["user", "item", "value"]], kind="implicit")
    with pytest.raises(DataError, match="vocabularies"):
        evaluate(PopularityRecommender().fit(train), train, foreign)
    with pytest.raises(ValueError, match="not fitted"):
        evaluate(PopularityRecommender(), train, test)
    with pytest.raises(DataError, match="no user has a test interaction"):
        evaluate(PopularityRecommender().fit(train), train, test.with_frame(test.frame.iloc[:0]))


def test_to_dict_is_json() -> None:
    result = EvalResult(metrics={"a@1": 0.5, "b@1": float("nan")}, protocol={"ks": [1]}, n_users=3)
    back = json.loads(json.dumps(result.to_dict()))
    assert back["metrics"] == {"a@1": 0.5, "b@1": None}
    assert back["n_users"] == 3 and back["protocol"] == {"ks": [1]}


def test_format_table_exact() -> None:
    table = format_table(
        {"pop": {"recall@20": 0.14851, "ndcg@10": 0.3}, "ease-400": {"recall@20": 0.3}},
        keys=["recall@20", "ndcg@10"],
    )
    assert table.splitlines() == [
        "model     recall@20  ndcg@10",
        "--------  ---------  -------",
        "pop          0.1485   0.3000",
        "ease-400     0.3000        -",
    ]


def test_format_table_default_columns() -> None:
    table = format_table({"m": {"foo@1": 1.0, "recall@20": 0.5, "ndcg@10": 0.25}})
    header = table.splitlines()[0].split()
    assert header == ["model", "recall@20", "ndcg@10"]  # known metrics, in the standard order
    assert format_table({"m": {"foo@1": 1.0}}).splitlines()[0].split() == ["model", "foo@1"]


# --------------------------------------------------------------------------- ML-100K u1


def loop_reference(
    model: Recommender, train: InteractionData, test: InteractionData, ks: tuple[int, ...]
) -> dict[str, float]:
    """The protocol written the slow, obvious way: one user at a time, Python sets.

    Only the raw scores come from the model (one batch call); which items are ranked, the
    ranking (ties to the lower item index, as documented by ``top_k``) and the metrics are
    recomputed here from the data frames.
    """
    seen: dict[int, set[int]] = {}
    for u, i in zip(train.frame["user_idx"], train.frame["item_idx"], strict=True):
        seen.setdefault(int(u), set()).add(int(i))
    relevant: dict[int, set[int]] = {}
    for u, i in zip(test.frame["user_idx"], test.frame["item_idx"], strict=True):
        relevant.setdefault(int(u), set()).add(int(i))
    in_training = sorted({int(i) for i in train.frame["item_idx"]})
    users = sorted(relevant)
    all_scores = model.score(users).tolist()
    sums = {f"{name}@{k}": 0.0 for k in ks for name in ("precision", "recall", "ndcg")}
    for u, scores in zip(users, all_scores, strict=True):
        pool = [i for i in in_training if i not in seen.get(u, set())]
        pool.sort(key=lambda i, s=scores: (-s[i], i))
        for k in ks:
            hits = [1 if i in relevant[u] else 0 for i in pool[:k]]
            dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
            idcg = sum(1 / math.log2(r + 2) for r in range(min(len(relevant[u]), k)))
            sums[f"precision@{k}"] += sum(hits) / k
            sums[f"recall@{k}"] += sum(hits) / len(relevant[u])
            sums[f"ndcg@{k}"] += dcg / idcg
    return {key: total / len(users) for key, total in sums.items()}


@cache
def ml100k_result(name: str) -> tuple[Recommender, EvalResult]:
    """A baseline fitted on u1.base and evaluated on u1.test (cached across tests)."""
    models = {
        "popularity": PopularityRecommender,
        "ease-400": lambda: EASERecommender(l2=400.0),
        "itemknn-100": lambda: ItemKNNRecommender(k_neighbors=100),
    }
    train, test = ml100k_u1()
    model = models[name]().fit(train)
    return model, evaluate(model, train, test)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["popularity", "ease-400", "itemknn-100"])
def test_ml100k_u1_matches_plain_loop(name: str) -> None:
    train, test = ml100k_u1()
    model, result = ml100k_result(name)
    assert result.n_users == 459  # u1.test covers 459 of the 943 users
    assert result.protocol["n_train_items"] == 1650
    assert result.protocol["n_test_interactions"] == 20_000
    reference = loop_reference(model, train, test, (10, 20))
    for key, value in reference.items():
        assert result.metrics[key] == pytest.approx(value, abs=1e-9), key


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "bands"),
    [
        ("popularity", {"recall@20": (0.14, 0.156)}),
        ("ease-400", {"recall@20": (0.295, 0.315), "ndcg@10": (0.54, 0.58)}),
    ],
)
def test_ml100k_u1_known_levels(name: str, bands: dict[str, tuple[float, float]]) -> None:
    _, result = ml100k_result(name)
    for key, (low, high) in bands.items():
        assert low <= result.metrics[key] <= high, (key, result.metrics[key])
