"""Candidates, relevance standardisation, λ checks, the registry and the docstring examples."""

from __future__ import annotations

import doctest
import importlib
import json

import numpy as np
import pytest

from recolab.data.prices import ITEM_PRICE
from recolab.data.synthetic import synthetic_interactions
from recolab.models.linear import LinearAutoencoder
from recolab.rerank import (
    MMR,
    RERANKERS,
    Calibration,
    Candidates,
    ConditionedResidual,
    ConditionedRevenue,
    ExposedPopularityPenalty,
    ExposureGreedy,
    PopularityPenalty,
    ReRankedRecommender,
    ReRanker,
    RevenueBoost,
    make_reranker,
)
from recolab.rerank.base import (
    base_order,
    check_lam,
    scores_of,
    standardised_relevance,
    top_columns,
)
from tests.rerank._tiny import cand, implicit

MODULES = [
    "__init__",
    "base",
    "popularity",
    "mmr",
    "exposure",
    "calibration",
    "revenue",
    "conditioned",
]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module: str) -> None:
    name = "recolab.rerank" if module == "__init__" else f"recolab.rerank.{module}"
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_candidates_coerce_and_validate() -> None:
    c = Candidates([0], [[2, -1]], [[1.5, 7.0]])
    assert c.items.dtype == np.int64 and c.users.dtype == np.int64
    assert c.scores.dtype == np.float32
    assert c.scores.tolist() == [[1.5, -np.inf]]  # padding gets -inf
    assert c.valid.tolist() == [[True, False]] and c.n_candidates == 2
    with pytest.raises(ValueError, match="end of a row"):
        Candidates([0], [[-1, 2]], [[0.0, 1.0]])
    with pytest.raises(ValueError, match="finite"):
        Candidates([0], [[1, 2]], [[np.nan, 1.0]])
    with pytest.raises(ValueError, match="must both be"):
        Candidates([0, 1], [[1, 2]], [[1.0, 1.0]])


def test_standardised_relevance_by_hand() -> None:
    # user 0: scores 4, 2, 0 -> mean 2, population sd sqrt(8/3) -> ±sqrt(3/2), 0
    # user 1: one real candidate -> 0; user 2: equal scores -> sd floored, rel 0
    c = cand([[1, 2, 3], [1, -1, -1], [1, 2, -1]], [[4, 2, 0], [9, 0, 0], [5, 5, 0]])
    r = np.sqrt(1.5)
    np.testing.assert_allclose(
        standardised_relevance(c), [[r, 0, -r], [0, 0, 0], [0, 0, 0]], atol=1e-12
    )


def test_standardised_relevance_ignores_scale() -> None:
    a = cand([[0, 1, 2]], [[3.0, 2.0, 0.5]])
    b = cand([[0, 1, 2]], [[3000.0 + 7, 2000.0 + 7, 500.0 + 7]])
    np.testing.assert_allclose(standardised_relevance(a), standardised_relevance(b), atol=1e-6)


def test_base_order_pads_short_lists() -> None:
    c = cand([[4, 5, -1]], [[2, 1, 0]])
    assert base_order(c, 2).tolist() == [[4, 5]]
    assert base_order(c, 5).tolist() == [[4, 5, -1, -1, -1]]


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "x"])
def test_check_lam_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="lam"):
        check_lam(bad)  # type: ignore[arg-type]


def test_registry_and_names() -> None:
    expected = {
        "popularity": PopularityPenalty,
        "popularity-exposure": ExposedPopularityPenalty,
        "mmr": MMR,
        "exposure": ExposureGreedy,
        "calibration": Calibration,
        "revenue": RevenueBoost,
        "conditioned": ConditionedResidual,
        "conditioned-revenue": ConditionedRevenue,
    }
    assert expected == RERANKERS
    objectives = {name: cls.objective for name, cls in RERANKERS.items()}
    assert objectives == {
        "popularity": "novelty",
        "popularity-exposure": "coverage",
        "mmr": "diversity",
        "exposure": "coverage",
        "calibration": "calibration",
        "revenue": "revenue",
        "conditioned": "coverage",
        "conditioned-revenue": "revenue",
    }


@pytest.mark.parametrize("name", sorted(RERANKERS))
def test_config_round_trips_through_json(name: str) -> None:
    reranker = make_reranker(name)
    config = json.loads(json.dumps(reranker.to_config()))
    assert config["name"] == name
    again = make_reranker(**config)
    assert type(again) is type(reranker) and again.to_config() == reranker.to_config()


def test_make_reranker_unknown_names_the_known() -> None:
    with pytest.raises(
        ValueError, match="calibration, conditioned, conditioned-revenue, exposure, mmr, popularity"
    ):
        make_reranker("serendipity")
    assert make_reranker("calibration", alpha=0.2).to_config() == {
        "name": "calibration",
        "alpha": 0.2,
    }


@pytest.mark.parametrize("name", sorted(RERANKERS))
def test_rerank_refuses_before_fit_and_bad_lam(name: str) -> None:
    reranker: ReRanker = make_reranker(name)
    c = cand([[0, 1]], [[2, 1]])
    with pytest.raises(ValueError, match="not fitted"):
        reranker.rerank(c, 2, 1.0)
    train = implicit([("u", "a"), ("u", "b"), ("v", "a")])
    reranker.fit(train, item_vectors=np.eye(2))
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lam"):
            reranker.rerank(c, 2, bad)
    with pytest.raises(ValueError, match="outside"):
        reranker.rerank(cand([[0, 5]], [[2, 1]]), 2, 1.0)


@pytest.mark.parametrize("name", sorted(RERANKERS))
def test_lam_zero_is_base_order_exactly(name: str) -> None:
    rng = np.random.default_rng(0)
    n_items = 12
    pairs = [(f"u{u}", f"i{i}") for u in range(6) for i in range(n_items) if rng.random() < 0.4]
    train = implicit(pairs, items=[f"i{i}" for i in range(n_items)])
    reranker = make_reranker(name).fit(train, item_vectors=rng.random((n_items, 3)))
    items = np.array([rng.permutation(n_items)[:6] for _ in range(4)])
    items[1, 4:] = -1
    scores = -np.sort(-rng.normal(size=items.shape), axis=1)
    c = Candidates(np.arange(4), items, np.where(items >= 0, scores, -np.inf))
    np.testing.assert_array_equal(reranker.rerank(c, 5, 0.0), items[:, :5])
    out = reranker.rerank(c, 8, 0.7)
    assert out.shape == (4, 8) and out.dtype == np.int64
    for row, got in zip(items, out, strict=True):  # a permutation of the real candidates
        real = row[row >= 0]
        assert sorted(got[got >= 0]) == sorted(real) and (got[real.size :] == -1).all()


@pytest.mark.parametrize("name", sorted(RERANKERS))
def test_empty_inputs(name: str) -> None:
    train = implicit([("u", "a"), ("u", "b"), ("v", "a")])
    reranker = make_reranker(name).fit(train, item_vectors=np.eye(2))
    empty = Candidates(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)))
    assert reranker.rerank(empty, 2, 1.0).shape == (0, 2)
    assert reranker.rerank(cand([[0, 1]], [[1, 0]]), 0, 1.0).shape == (1, 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("k", [1, 3, 7, 12, 29, 40])
def test_top_columns_is_the_stable_sort_prefix(k: int, dtype: type) -> None:
    """Selection then a sort of k equals the full stable sort, on rows full of ties (few
    distinct values) and with -inf padding at the end of some rows (floats: the
    ``torch.topk`` path; integers: ``np.argpartition``)."""
    rng = np.random.default_rng(k)
    values = rng.integers(0, 5, size=(300, 30)).astype(np.float64)
    if dtype is not np.int64:
        values[::7, 20:] = -np.inf
        values[1::5] += rng.normal(size=30)  # rows without ties
    values = values.astype(dtype)
    expected = np.argsort(-values, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(top_columns(values, k), expected)
    # a strided view (every other column) is read as it is
    wide = np.repeat(values, 2, axis=1)[:, ::2]
    np.testing.assert_array_equal(top_columns(wide, k), expected)


def test_top_columns_ranks_nan_last_as_numpys_sort_does() -> None:
    """``torch.topk`` would put NaN first; the selection must not."""
    values = np.array([[1.0, np.nan, 3.0, 2.0], [0.5, 0.1, 0.9, 0.3]])
    expected = np.argsort(-values, axis=1, kind="stable")[:, :2]
    assert expected.tolist() == [[2, 3], [2, 0]]
    np.testing.assert_array_equal(top_columns(values, 2), expected)


@pytest.mark.parametrize("name", sorted(RERANKERS))
def test_recommend_items_are_recommends_items(name: str) -> None:
    """The items-only path gives exactly :meth:`recommend`'s items, at λ = 0 and above."""
    data = synthetic_interactions(60, 40, n_interactions=900, rank=4, seed=3)
    train = data.with_frame(data.frame.assign(**{ITEM_PRICE: 1.0 + data.frame["item_idx"] % 5}))
    vectors = np.random.default_rng(0).random((train.n_items, 3))
    model = ReRankedRecommender(LinearAutoencoder(l2=5.0), make_reranker(name), 15, vectors)
    model.fit(train)
    users = np.arange(train.n_users)
    for lam in (0.0, 0.3, 2.0):
        items, _ = model.recommend(users, 10, lam=lam)
        np.testing.assert_array_equal(model.recommend_items(users, 10, lam=lam), items)


def test_scores_of_finds_each_chosen_items_score_and_refuses_strangers() -> None:
    c = Candidates(
        users=np.array([0, 1]),
        items=np.array([[4, 2, 9], [2, 7, -1]]),
        scores=np.array([[3.0, 2.0, 1.0], [5.0, 4.0, 0.0]]),
    )
    chosen = np.array([[9, 4], [7, -1]])
    assert scores_of(c, chosen).tolist() == [[1.0, 3.0], [4.0, -np.inf]]
    assert scores_of(c, chosen[:, ::-1]).tolist() == [[3.0, 1.0], [-np.inf, 4.0]]  # cached keys
    with pytest.raises(ValueError, match="not among"):
        scores_of(c, np.array([[11, 4], [2, 7]]))
