"""The own-item weight of the linear base (repeat purchases): r added to the diagonal of W,
the same whether solved with it or added afterwards, on every linear base."""

from __future__ import annotations

import numpy as np
import pytest

from recolab.data.synthetic import synthetic_interactions
from recolab.models.averaged_linear import AveragedLinearAutoencoder
from recolab.models.linear import LinearAutoencoder, LinearParams, add_to_diagonal
from recolab.models.sparse_linear import SparseLinearAutoencoder
from tests.models._tiny import tiny


def dense(weights: object) -> np.ndarray:
    return weights.toarray() if hasattr(weights, "toarray") else np.asarray(weights)


def test_own_items_score_r_more_by_hand() -> None:
    # users a: {x, y}, b: {y}; EASE's zero diagonal, then r = 5 on it
    data = tiny([("a", "x"), ("a", "y"), ("b", "y")], items=["x", "y"])
    plain = LinearAutoencoder(l2=1.0, device="cpu").fit(data)
    own = LinearAutoencoder(l2=1.0, repeat_weight=5.0, device="cpu").fit(data)
    assert np.diag(plain.weights_).tolist() == [0.0, 0.0]
    np.testing.assert_allclose(np.diag(own.weights_), [5.0, 5.0])
    # b's scores: own item y gains 5, x (not bought) is unchanged
    np.testing.assert_allclose(own.score([1])[0] - plain.score([1])[0], [0.0, 5.0], atol=1e-6)


@pytest.mark.parametrize("kind", ["dense", "pruned", "averaged", "sparse"])
def test_added_afterwards_equals_solved_with_it(kind: str) -> None:
    data = synthetic_interactions(80, 15, n_interactions=300, seed=2)
    params = LinearParams(l2=2.0, dropout=0.3, item_norm=0.25)
    weighted = LinearParams(l2=2.0, dropout=0.3, item_norm=0.25, repeat_weight=0.7)
    if kind == "dense":
        models = [LinearAutoencoder(p, device="cpu") for p in (params, weighted)]
    elif kind == "pruned":  # the weight never takes one of the 3 kept slots of a column
        models = [LinearAutoencoder(p, top_k=3, device="cpu") for p in (params, weighted)]
    elif kind == "averaged":
        second = LinearParams(l2=8.0)
        models = [
            AveragedLinearAutoencoder([params, second], device="cpu"),
            AveragedLinearAutoencoder(
                [weighted, LinearParams(l2=8.0, repeat_weight=0.7)], device="cpu"
            ),
        ]
    else:
        models = [
            SparseLinearAutoencoder(p, neighbours=5, device="cpu") for p in (params, weighted)
        ]
    plain, solved = (m.fit(data) for m in models)
    added = plain.with_repeat_weight(0.7)
    np.testing.assert_allclose(dense(added.weights_), dense(solved.weights_), atol=1e-6)
    assert added.params.repeat_weight == 0.7
    # and back: the plain weights again, the fitted model untouched
    np.testing.assert_allclose(dense(added.with_repeat_weight(0.0).weights_), dense(plain.weights_))
    assert plain.params.repeat_weight == 0.0
    if kind == "averaged":
        assert all(m.repeat_weight == 0.7 for m in added.members)  # a refit adds it again


def test_add_to_diagonal_keeps_dense_and_sparse_apart() -> None:
    import scipy.sparse as sp

    w = np.arange(4, dtype=np.float32).reshape(2, 2)
    assert add_to_diagonal(w, 1.0).tolist() == [[1.0, 1.0], [2.0, 4.0]]
    assert w.tolist() == [[0.0, 1.0], [2.0, 3.0]]  # a copy
    s = add_to_diagonal(sp.csc_matrix(w), 1.0)
    assert sp.issparse(s) and s.dtype == np.float32 and s.toarray().tolist() == [[1, 1], [2, 4]]


def test_a_negative_or_infinite_weight_is_refused() -> None:
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="repeat_weight"):
            LinearParams(repeat_weight=bad)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_own_items_score_r_per_purchase_by_hand(kind: str) -> None:
    import scipy.sparse as sp

    # a bought x three times and y once, b bought y twice; r = 5 per purchase
    data = tiny([("a", "x"), ("a", "y"), ("b", "y")], items=["x", "y"])
    make = SparseLinearAutoencoder if kind == "sparse" else LinearAutoencoder
    options = {"neighbours": 1} if kind == "sparse" else {}
    plain = make(l2=1.0, device="cpu", **options).fit(data)
    counts = sp.csr_matrix(np.array([[3.0, 1.0], [0.0, 2.0]]))
    counted = plain.with_repeat_weight(5.0).with_purchases(counts)
    np.testing.assert_allclose(
        counted.score([0, 1]) - plain.score([0, 1]), [[15.0, 5.0], [0.0, 10.0]], atol=1e-5
    )
    # without the weight the counts change nothing; dropped, the diagonal's r stays
    np.testing.assert_allclose(plain.with_purchases(counts).score([0, 1]), plain.score([0, 1]))
    once = counted.with_purchases(None).score([0, 1]) - plain.score([0, 1])
    np.testing.assert_allclose(once, [[5.0, 5.0], [0.0, 5.0]], atol=1e-5)
    assert plain.purchases_ is None  # the fitted model untouched
    # a refit or other histories forget counts that no longer match
    assert counted.on_histories(data).purchases_ is None
    assert make(l2=1.0, device="cpu", **options).fit(data).purchases_ is None


def test_purchase_counts_must_match_the_histories() -> None:
    import scipy.sparse as sp

    data = tiny([("a", "x"), ("a", "y"), ("b", "y")], items=["x", "y"])
    model = LinearAutoencoder(l2=1.0, device="cpu").fit(data)
    for bad, match in [
        (np.array([[1.0, 1.0]]), "shape"),
        (np.array([[1.0, 0.0], [0.0, 1.0]]), "exactly the pairs"),  # a's y missing
        (np.array([[1.0, 1.0], [1.0, 1.0]]), "exactly the pairs"),  # b never bought x
        (np.array([[0.5, 1.0], [0.0, 1.0]]), "at least 1"),
        (np.array([[np.inf, 1.0], [0.0, 1.0]]), "finite"),
    ]:
        with pytest.raises(ValueError, match=match):
            model.with_purchases(sp.csr_matrix(bad))
