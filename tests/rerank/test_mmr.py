"""MMR: known answers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recolab.rerank import MMR
from recolab.rerank import mmr as mmr_module
from tests.rerank._tiny import cand, implicit

ITEMS = ["i0", "i1", "i2", "i3", "i4"]
# Directions: i0 and i1 along x (cos 1), i2 along y (cos 0 with them), i3 diagonal
# (cos 1/sqrt(2) with i0, i1, i2), i4 all zero (cos 0 with everything). Unnormalised on purpose.
VECTORS = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [2.0, 2.0], [0.0, 0.0]])


@pytest.fixture(scope="module")
def reranker() -> MMR:
    train = implicit([("u1", "i0"), ("u1", "i2"), ("u2", "i1")], items=ITEMS)
    return MMR().fit(train, item_vectors=VECTORS)


def test_vectors_are_normalised(reranker: MMR) -> None:
    h = 1 / math.sqrt(2)
    np.testing.assert_allclose(
        reranker.vectors_, [[1, 0], [1, 0], [0, 1], [h, h], [0, 0]], atol=1e-7
    )


def test_known_orders(reranker: MMR) -> None:
    # scores 4, 3, 2, 1 -> rel (1.342, 0.447, -0.447, -1.342) (mean 2.5, sd sqrt(1.25))
    c = cand([[0, 1, 2, 3]], [[4, 3, 2, 1]])
    assert reranker.rerank(c, 4, 0.0).tolist() == [[0, 1, 2, 3]]
    # λ = 0.1, after i0: i1 0.447-0.1 = 0.347, i2 -0.447-0 , i3 -1.342-0.071 -> i1;
    # then i2 -0.447 vs i3 -1.41 -> i2; base order kept
    assert reranker.rerank(c, 4, 0.1).tolist() == [[0, 1, 2, 3]]
    # λ = 1: first pick rel only -> i0. Then i1 0.447-1 = -0.553, i2 -0.447-0 = -0.447,
    # i3 -1.342-0.707 = -2.049 -> i2. Then i1 -0.553 (max cos 1), i3 -2.049 -> i1, then i3.
    assert reranker.rerank(c, 4, 1.0).tolist() == [[0, 2, 1, 3]]
    assert reranker.rerank(c, 2, 1.0).tolist() == [[0, 2]]


def test_first_pick_is_the_base_best(reranker: MMR) -> None:
    # i3 resembles everyone, yet nothing is selected before the first pick: no penalty
    c = cand([[3, 0, 2]], [[3, 2, 1]])
    assert reranker.rerank(c, 1, 100.0).tolist() == [[3]]


def test_zero_vector_and_padding(reranker: MMR) -> None:
    # i0, i1, i4 with scores 3, 2, 1 -> rel (1.225, 0, -1.225), then padding.
    # λ = 2: i0; then i1 0-2·1 = -2, i4 -1.225-2·0 = -1.225 -> i4; then i1; then nothing.
    c = cand([[0, 1, 4, -1]], [[3, 2, 1, 0]])
    assert reranker.rerank(c, 5, 2.0).tolist() == [[0, 4, 1, -1, -1]]
    # λ = 1: i1 -1 > i4 -1.225 -> base order
    assert reranker.rerank(c, 5, 1.0).tolist() == [[0, 1, 4, -1, -1]]


def test_users_are_independent_across_batches(
    reranker: MMR, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = cand(
        [[0, 1, 2, 3], [0, 1, 4, -1], [2, 3, 0, 1]], [[4, 3, 2, 1], [3, 2, 1, 0], [4, 3, 2, 1]]
    )
    whole = reranker.rerank(c, 4, 1.0)
    monkeypatch.setattr("recolab.rerank.base.GATHER_ELEMENTS", 1)  # one user per batch
    np.testing.assert_array_equal(reranker.rerank(c, 4, 1.0), whole)


def test_needs_item_vectors() -> None:
    train = implicit([("u1", "i0")], items=ITEMS)
    with pytest.raises(ValueError, match="item_vectors"):
        MMR().fit(train)
    with pytest.raises(ValueError, match="n_items=5"):
        MMR().fit(train, item_vectors=np.ones((4, 2)))


def test_cached_pair_cosines_give_the_same_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n_items, n_users, width = 40, 7, 12
    reranker = MMR()
    reranker.vectors_ = rng.normal(size=(n_items, 5)).astype(np.float32)
    reranker.vectors_ /= np.linalg.norm(reranker.vectors_, axis=1, keepdims=True)
    reranker.n_items_ = n_items
    items = np.stack([rng.permutation(n_items)[:width] for _ in range(n_users)])
    items[0, -3:] = -1  # padding at the end of one list
    scores = np.sort(rng.normal(size=(n_users, width)), axis=1)[:, ::-1].copy()
    c = cand(items.tolist(), scores.tolist())
    cached = reranker.rerank(c, 6, 0.7)
    assert reranker._pairs[0]() is c  # kept for the next λ over the same candidates
    pairs = reranker._pairs[1]
    reranker.rerank(c, 6, 1.5)
    assert reranker._pairs[1] is pairs
    monkeypatch.setattr(mmr_module, "PAIR_CACHE_ELEMENTS", 0)  # recomputed at each position
    np.testing.assert_array_equal(reranker.rerank(c, 6, 0.7), cached)
