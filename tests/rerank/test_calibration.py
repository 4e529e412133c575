"""Calibration (Steck 2018): known answers worked out by hand, two categories A and B."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recolab.rerank import Calibration
from tests.rerank._tiny import cand, implicit

ITEMS = ["i0", "i1", "i2", "i3", "i4"]
# i0, i1: A only; i2: B only; i3: A and B (q = 1/2, 1/2); i4: no category (contributes nothing)
VECTORS = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
R = math.sqrt(1.5)  # rel of scores (3, 2, 1) is (R, 0, -R)


@pytest.fixture(scope="module")
def reranker() -> Calibration:
    # u0 saw i0, i2, i4 -> p = mean(q(i0), q(i2)) = (1/2, 1/2) (i4 has no mass)
    # u1 saw i0, i1, i3 -> p = ((1,0) + (1,0) + (1/2,1/2)) / 3 = (5/6, 1/6)
    # u2 saw only i4 -> no category mass: no profile
    pairs = [("u0", "i0"), ("u0", "i2"), ("u0", "i4"), ("u1", "i0"), ("u1", "i1"), ("u1", "i3")]
    train = implicit([*pairs, ("u2", "i4")], users=["u0", "u1", "u2"], items=ITEMS)
    return Calibration().fit(train, item_vectors=VECTORS)


def kl(p: tuple[float, float], q_list: tuple[float, float], a: float = 0.01) -> float:
    """KL(p || (1-a) q_list + a p) over categories with p > 0, written out."""
    total = 0.0
    for pc, qc in zip(p, q_list, strict=True):
        if pc > 0:
            total += pc * math.log(pc / ((1 - a) * qc + a * pc))
    return total


def test_profiles_and_categories(reranker: Calibration) -> None:
    np.testing.assert_allclose(
        reranker.categories_, [[1, 0], [1, 0], [0, 1], [0.5, 0.5], [0, 0]], atol=1e-12
    )
    np.testing.assert_allclose(reranker.profiles_, [[0.5, 0.5], [5 / 6, 1 / 6], [0, 0]], atol=1e-12)


def test_kl_by_hand_two_categories(reranker: Calibration) -> None:
    # p = (1/2, 1/2), a list of A only: q~ = 0.99·(1, 0) + 0.01·(1/2, 1/2) = (0.995, 0.005)
    # KL = 1/2·ln(0.5/0.995) + 1/2·ln(0.5/0.005) = 1/2·(-0.6882) + 1/2·4.6052 = 1.9585
    assert kl((0.5, 0.5), (1, 0)) == pytest.approx(1.9585, abs=1e-4)
    # p = (5/6, 1/6): A only -> q~ = (0.99833, 0.00167): 5/6·ln(0.83472) + 1/6·ln(100) = 0.6170
    assert kl((5 / 6, 1 / 6), (1, 0)) == pytest.approx(0.6170, abs=1e-4)
    # A+B item alone -> q~ = (0.50333, 0.49667): 5/6·ln(1.65563) + 1/6·ln(0.33557) = 0.2382
    assert kl((5 / 6, 1 / 6), (0.5, 0.5)) == pytest.approx(0.2382, abs=1e-4)
    # list i0 + i3 -> q = (3/4, 1/4), q~ = (0.75083, 0.24917) -> 0.0199
    assert kl((5 / 6, 1 / 6), (0.75, 0.25)) == pytest.approx(0.0199, abs=1e-4)
    # the re-ranker's own penalties for u1's candidates i0, i1, i3: before and after i0
    penalty = reranker._penalty(cand([[0, 1, 3]], [[3, 2, 1]], users=[1]))
    np.testing.assert_allclose(penalty(None), [[0.6170, 0.6170, 0.2382]], atol=1e-4)
    np.testing.assert_allclose(penalty(np.array([0])), [[0.6170, 0.6170, 0.0199]], atol=1e-4)


def test_known_orders_balanced_profile(reranker: Calibration) -> None:
    # u0, p = (1/2, 1/2); candidates i0 (A), i1 (A), i2 (B), rel (R, 0, -R).
    # Position 1: each list of one has KL 1.9585 -> i0. Position 2: i1 gives A only
    # (0 - λ·1.9585), i2 balances the list (KL 0: -R) -> i2 iff λ > R / 1.9585 = 0.6253.
    c = cand([[0, 1, 2]], [[3, 2, 1]], users=[0])
    assert R / kl((0.5, 0.5), (1, 0)) == pytest.approx(0.6253, abs=1e-4)
    assert reranker.rerank(c, 3, 0.0).tolist() == [[0, 1, 2]]
    assert reranker.rerank(c, 3, 0.6).tolist() == [[0, 1, 2]]
    assert reranker.rerank(c, 3, 0.65).tolist() == [[0, 2, 1]]


def test_known_orders_skewed_profile(reranker: Calibration) -> None:
    # u1, p = (5/6, 1/6); candidates i0 (A), i1 (A), i3 (A+B), rel (R, 0, -R).
    # Position 1: i0 R - 0.617λ vs i3 -R - 0.238λ -> i0 for λ < 2R/0.379 = 6.46.
    # Position 2: i1 0 - 0.617λ vs i3 -R - 0.0199λ -> i3 iff λ > R/0.597 = 2.051.
    c = cand([[0, 1, 3]], [[3, 2, 1]], users=[1])
    gap = kl((5 / 6, 1 / 6), (1, 0)) - kl((5 / 6, 1 / 6), (0.75, 0.25))
    assert R / gap == pytest.approx(2.051, abs=1e-3)
    assert reranker.rerank(c, 3, 2.0).tolist() == [[0, 1, 3]]
    assert reranker.rerank(c, 3, 2.1).tolist() == [[0, 3, 1]]
    # λ = 7 > 6.46: i3 first; then i0 R - 7·KL((3/4, 1/4)) = 1.225-0.139 beats i1 -> i3, i0, i1
    assert reranker.rerank(c, 3, 7.0).tolist() == [[3, 0, 1]]


def test_no_profile_keeps_base_order(reranker: Calibration) -> None:
    # u2 has no category mass, user 7 is not in the training data: penalty 0
    c = cand([[0, 1, 2], [0, 1, 2]], [[3, 2, 1], [3, 2, 1]], users=[2, 7])
    assert reranker.rerank(c, 3, 100.0).tolist() == [[0, 1, 2], [0, 1, 2]]


def test_item_without_category_and_padding(reranker: Calibration) -> None:
    # u0, p = (1/2, 1/2); candidates i0 (A), i4 (none), i2 (B), padding; rel (R, 0, -R); λ = 1.
    # Position 1: i0 R-1.9585 = -0.73; i4 alone has no mass: q~ = 0.01·p, KL = ln(100) = 4.605
    # -> 0-4.605; i2 -R-1.9585 -> i0. Position 2: i4 adds nothing: list stays A only,
    # 0-1.9585; i2 balances: -R-0 = -1.22 -> i2. Then i4, then padding.
    c = cand([[0, 4, 2, -1]], [[3, 2, 1, 0]], users=[0])
    assert reranker.rerank(c, 5, 1.0).tolist() == [[0, 2, 4, -1, -1]]


def test_rejects_bad_vectors_and_alpha() -> None:
    train = implicit([("u0", "i0")], items=ITEMS)
    with pytest.raises(ValueError, match="non-negative"):
        Calibration().fit(train, item_vectors=-VECTORS)
    with pytest.raises(ValueError, match="item_vectors"):
        Calibration().fit(train)
    with pytest.raises(ValueError, match="alpha"):
        Calibration(alpha=0.0).fit(train, item_vectors=VECTORS)


def test_penalty_matches_the_definition_on_random_data() -> None:
    # The sparse evaluation of the penalty against KL written out per user and candidate.
    rng = np.random.default_rng(3)
    n_items, n_cat, a = 9, 4, 0.01
    vectors = (rng.random((n_items, n_cat)) < 0.4) * rng.random((n_items, n_cat))
    vectors[5] = 0.0
    pairs = [(f"u{u}", f"i{i}") for u in range(4) for i in range(n_items) if rng.random() < 0.5]
    train = implicit(pairs, [f"u{u}" for u in range(4)], [f"i{i}" for i in range(n_items)])
    reranker = Calibration(alpha=a).fit(train, item_vectors=vectors)
    q, p = reranker.categories_, reranker.profiles_
    items = np.array([rng.permutation(n_items)[:6] for _ in range(4)])
    c = cand(items.tolist(), np.sort(rng.random((4, 6)))[:, ::-1].tolist())
    penalty = reranker._penalty(c)
    picks: list[list[int]] = [[] for _ in range(4)]
    last = None
    for _ in range(3):
        got = penalty(last)
        for u in range(4):
            for j, i in enumerate(items[u]):
                listed = [x for x in [*picks[u], int(i)] if q[x].sum() > 0]
                q_list = q[listed].mean(axis=0) if listed else np.zeros(n_cat)
                smooth = (1 - a) * q_list + a * p[u]
                want = sum(
                    p[u, g] * math.log(p[u, g] / smooth[g]) for g in range(n_cat) if p[u, g] > 0
                )
                assert got[u, j] == pytest.approx(want, abs=1e-12)
        last = rng.integers(0, 6, size=4)
        for u in range(4):
            picks[u].append(int(items[u, last[u]]))
