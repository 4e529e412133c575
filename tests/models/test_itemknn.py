from __future__ import annotations

import numpy as np
import pytest

from recolab.models import ItemKNNRecommender
from tests.models._mixin import RecommenderContract, contract_data
from tests.models._tiny import tiny


class TestItemKNNContract(RecommenderContract):
    def make_model(self) -> ItemKNNRecommender:
        return ItemKNNRecommender(k_neighbors=3, shrink=1.0)


# users × items (a, b, c):  u1: a b   u2: a b c   u3: c
PAIRS = [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b"), ("u2", "c"), ("u3", "c")]


def test_cosine_by_hand() -> None:
    model = ItemKNNRecommender(k_neighbors=10).fit(tiny(PAIRS))
    s = model.similarity_.toarray()
    # |U_a|=2, |U_b|=2, |U_c|=2; a·b = 2, a·c = 1, b·c = 1
    expected = np.array([[0, 1, 0.5], [1, 0, 0.5], [0.5, 0.5, 0]])
    np.testing.assert_allclose(s, expected, rtol=1e-6)
    # u3 (history c) scores a and b by sim(c, ·); u1 (a, b) scores c by 0.5 + 0.5
    scores = model.score(tiny(PAIRS).users.index(["u3", "u1"]))
    np.testing.assert_allclose(scores, [[0.5, 0.5, 0.0], [1.0, 1.0, 1.0]], rtol=1e-6)


def test_shrink_by_hand() -> None:
    model = ItemKNNRecommender(k_neighbors=10, shrink=2.0).fit(tiny(PAIRS))
    s = model.similarity_.toarray()
    # a·b / (√2·√2 + 2) = 2/4 ; a·c / 4 = 1/4
    np.testing.assert_allclose(s[0], [0, 0.5, 0.25], rtol=1e-6)


def test_keeps_k_neighbours_per_target_item() -> None:
    model = ItemKNNRecommender(k_neighbors=1).fit(tiny(PAIRS))
    s = model.similarity_.toarray()
    # column j = target j keeps its single most similar item; c ties a/b at 0.5 → a (lower)
    np.testing.assert_allclose(s, [[0, 1, 0.5], [1, 0, 0], [0, 0, 0]], rtol=1e-6)
    assert (np.count_nonzero(s, axis=0) <= 1).all()


def test_matches_dense_reference_on_random_data() -> None:
    data = contract_data()
    x = data.matrix(binary=True).toarray().astype(np.float64)
    k, shrink = 3, 0.5
    norms = np.sqrt(x.sum(axis=0))
    ref = (x.T @ x) / (np.outer(norms, norms) + shrink)
    np.fill_diagonal(ref, 0.0)
    pruned = np.zeros_like(ref)
    for j in range(ref.shape[1]):  # per target column, stable: ties to the lower index
        top = sorted(range(ref.shape[0]), key=lambda i, j=j: (-ref[i, j], i))[:k]
        top = [i for i in top if ref[i, j] > 0]
        pruned[top, j] = ref[top, j]
    model = ItemKNNRecommender(k_neighbors=k, shrink=shrink).fit(data)
    np.testing.assert_allclose(model.similarity_.toarray(), pruned, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        model.score(np.arange(data.n_users)), x @ pruned, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [({"k_neighbors": 0}, "k_neighbors"), ({"k_neighbors": 2.5}, "k_neighbors"),
     ({"shrink": -1.0}, "shrink")],
)  # fmt: skip
def test_rejects_bad_options(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ItemKNNRecommender(**options).fit(tiny(PAIRS))
