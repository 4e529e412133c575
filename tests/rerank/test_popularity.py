"""PopularityPenalty: known answers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recolab.rerank import PopularityPenalty
from tests.rerank._tiny import cand, implicit

R = math.sqrt(1.5)  # standardised relevance of scores (3, 2, 1): (R, 0, -R)


@pytest.fixture(scope="module")
def reranker() -> PopularityPenalty:
    # n_users: a = 3, b = 1, c = 1, d = 0 (catalogue only).
    # log1p over the trained items a, b, c: 2L, L, L with L = log 2 -> mean 4L/3,
    # population sd L·sqrt(2)/3 -> z(a) = sqrt(2), z(b) = z(c) = -1/sqrt(2),
    # and d: (0 - 4L/3) / (L·sqrt(2)/3) = -2·sqrt(2).
    train = implicit(
        [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "c"), ("u3", "a")],
        items=["a", "b", "c", "d"],
    )
    return PopularityPenalty().fit(train)


def test_penalty_is_z_score_of_log_popularity(reranker: PopularityPenalty) -> None:
    s = math.sqrt(2)
    np.testing.assert_allclose(reranker.penalty_, [s, -1 / s, -1 / s, -2 * s], atol=1e-12)


def test_known_orders(reranker: PopularityPenalty) -> None:
    c = cand([[0, 1, 2]], [[3, 2, 1]])  # a, b, c; rel = (R, 0, -R)
    assert reranker.rerank(c, 3, 0.0).tolist() == [[0, 1, 2]]
    # λ = 0.1: a 1.22-0.14 = 1.08, b 0+0.07, c -1.22+0.07: base order kept
    assert reranker.rerank(c, 3, 0.1).tolist() == [[0, 1, 2]]
    # λ = 1: a 1.225-1.414 = -0.19, b 0+0.707 = 0.71, c -1.225+0.707 = -0.52 -> b, a, c
    assert reranker.rerank(c, 3, 1.0).tolist() == [[1, 0, 2]]
    assert reranker.rerank(c, 2, 1.0).tolist() == [[1, 0]]
    # λ = 3: a 1.225-4.24 = -3.02, b 0+2.12 = 2.12, c -1.225+2.12 = 0.90 -> b, c, a
    assert reranker.rerank(c, 3, 3.0).tolist() == [[1, 2, 0]]


def test_padding_is_respected(reranker: PopularityPenalty) -> None:
    # user 0: a, c (rel 1, -1) and padding; user 1: only b.
    c = cand([[0, 2, -1], [1, -1, -1]], [[5, 1, 0], [1, 0, 0]])
    # λ = 0.5: a 1-0.71 = 0.29, c -1+0.35 = -0.65 -> a, c
    assert reranker.rerank(c, 4, 0.5).tolist() == [[0, 2, -1, -1], [1, -1, -1, -1]]
    # λ = 1: a 1-1.41 = -0.41, c -1+0.71 = -0.29 -> c, a
    assert reranker.rerank(c, 4, 1.0).tolist() == [[2, 0, -1, -1], [1, -1, -1, -1]]


def test_ties_keep_base_order(reranker: PopularityPenalty) -> None:
    # b and c have the same penalty; equal base scores give equal objectives at any λ
    c = cand([[1, 2], [2, 1]], [[1, 1], [1, 1]])
    assert reranker.rerank(c, 2, 2.0).tolist() == [[1, 2], [2, 1]]


def test_equal_popularity_means_no_penalty() -> None:
    train = implicit([("u1", "a"), ("u2", "b")], items=["a", "b", "c"])
    reranker = PopularityPenalty().fit(train)
    assert reranker.penalty_.tolist() == [0.0, 0.0, 0.0]
    assert reranker.rerank(cand([[0, 1]], [[2, 1]]), 2, 10.0).tolist() == [[0, 1]]


def test_exposed_penalty_by_hand() -> None:
    from recolab.rerank import ExposedPopularityPenalty

    # as above, z = (√2, −1/√2, −1/√2, −2√2); the base shows b (not c): + weight 1 on a, b
    # gives (√2 + 1, 1 − 1/√2, −1/√2, −2√2) over the trained a, b, c: mean 2/3 (√2 of a and
    # the two −1/√2 cancel to 0, plus 2/3), then z-scored again over a, b, c
    train = implicit(
        [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "c"), ("u3", "a")],
        items=["a", "b", "c", "d"],
    )
    reranker = ExposedPopularityPenalty(weight=1.0).fit(train)
    reranker.observe_base(np.array([[0, 1], [0, -1], [1, -1]]))
    s = math.sqrt(2)
    raw = np.array([s + 1, 1 - 1 / s, -1 / s, -2 * s])
    trained = raw[:3]
    np.testing.assert_allclose(reranker.penalty_, (raw - trained.mean()) / trained.std())
    # b and c had equal popularity; now the unshown c is penalised less
    assert reranker.penalty_[2] < reranker.penalty_[1]
    c = cand([[1, 2]], [[1, 1]])
    assert reranker.rerank(c, 2, 1.0).tolist() == [[2, 1]]
    assert reranker.to_config() == {"name": "popularity-exposure", "weight": 1.0}
    with pytest.raises(ValueError, match="weight"):
        ExposedPopularityPenalty(weight=-1.0)


def test_exposed_penalty_without_exposure_is_the_plain_one(reranker: PopularityPenalty) -> None:
    from recolab.rerank import ExposedPopularityPenalty

    train = implicit(
        [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "c"), ("u3", "a")],
        items=["a", "b", "c", "d"],
    )
    exposed = ExposedPopularityPenalty(weight=0.0).fit(train)
    exposed.observe_base(np.array([[0, 1]]))
    np.testing.assert_allclose(exposed.penalty_, reranker.penalty_, atol=1e-12)
