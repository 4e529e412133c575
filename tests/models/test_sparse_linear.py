"""The neighbourhood-restricted EASE/EDLAE base: known answers on tiny data, the memory plan
checked before allocating, and the switch from the dense base."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

import recolab.memory
import recolab.models.sparse_linear as sparse_linear
from recolab.data import build_interactions
from recolab.data.interactions import InteractionData
from recolab.data.synthetic import synthetic_interactions
from recolab.errors import DataError
from recolab.models.ease import EASERecommender
from recolab.models.linear import LinearAutoencoder, LinearParams
from recolab.models.sparse_linear import (
    SparseLinearAutoencoder,
    exact_sparse_plan,
    make_linear_base,
    sparse_gram,
    sparse_plan,
)


def _tiny() -> InteractionData:
    frame = pd.DataFrame(
        {
            "user": ["a", "a", "a", "b", "b", "c", "c", "d", "d", "d", "e"],
            "item": ["x", "y", "z", "x", "y", "y", "w", "x", "z", "w", "z"],
            "value": 1.0,
        }
    )
    return build_interactions(frame, kind="implicit")


@pytest.mark.parametrize(
    "params",
    [
        LinearParams(l2=2.0),
        LinearParams(l2=0.5, dropout=0.3, user_norm=0.5, item_norm=0.25),
    ],
)
def test_full_neighbourhoods_equal_the_dense_solve(params: LinearParams) -> None:
    data = synthetic_interactions(80, 15, n_interactions=300, seed=2)
    dense = LinearAutoencoder(params, device="cpu").fit(data).weights_
    model = SparseLinearAutoencoder(params, neighbours=14, device="cpu").fit(data)
    np.testing.assert_allclose(model.weights_.toarray(), dense, atol=1e-6)


def test_full_neighbourhoods_equal_plain_ease_on_a_tiny_matrix() -> None:
    data = _tiny()
    ease = EASERecommender(l2=1.0).fit(data).weights_
    model = SparseLinearAutoencoder(l2=1.0, neighbours=3, device="cpu").fit(data)
    np.testing.assert_allclose(model.weights_.toarray(), ease, atol=1e-6)
    users = np.arange(data.n_users)
    np.testing.assert_allclose(model.score(users), data.matrix(binary=True) @ ease, atol=1e-5)


def test_one_neighbour_by_hand() -> None:
    # item y: co-occurs with x (users a, b), z (a), w (c): its neighbour is x, and
    # b_xy = G_xy / (G_xx + l2) = 2 / (3 + 1)
    data = _tiny()
    model = SparseLinearAutoencoder(l2=1.0, neighbours=1, device="cpu").fit(data)
    x, y = data.items.index(["x", "y"])
    column = model.weights_[:, y].toarray().ravel()
    assert column[x] == pytest.approx(0.5)
    assert np.count_nonzero(column) == 1


def test_columns_keep_at_most_m_weights_on_the_most_co_occurring_items() -> None:
    data = synthetic_interactions(300, 120, n_interactions=4000, seed=0)
    model = SparseLinearAutoencoder(l2=5.0, neighbours=7, device="cpu").fit(data)
    w = model.weights_.tocsc()
    assert max(np.diff(w.indptr)) <= 7
    gram = sparse_gram(data.matrix(binary=True), 0.0).toarray()
    np.fill_diagonal(gram, -1)
    j = int(np.argmax(np.diff(w.indptr)))
    kept = w.indices[w.indptr[j] : w.indptr[j + 1]]
    assert gram[kept, j].min() >= np.sort(gram[:, j])[-7]


def test_neighbourhood_systems_read_the_gram_exactly() -> None:
    # every entry of each (padded) neighbourhood's system and right-hand side, against the
    # dense Gram; padding (-1) and pairs that never co-occur read 0
    data = synthetic_interactions(60, 40, n_interactions=400, seed=3)
    x = data.matrix(binary=True)
    gram = sparse_gram(x, 0.5)
    dense = (x.T @ sp.diags(np.maximum(x.getnnz(axis=1), 1) ** -0.5) @ x).toarray()
    assert np.count_nonzero(dense == 0) > 0  # some pairs never co-occur
    np.testing.assert_allclose(gram.toarray(), dense, rtol=1e-6)
    hood = sparse_linear.neighbourhoods(gram, 6)
    hood[::3, -2:] = -1
    targets = np.arange(len(hood))
    got = sparse_linear._gram_among(gram, hood, targets)
    for t in range(len(hood)):
        for i, row in enumerate(hood[t]):
            want = [dense[row, c] if row >= 0 and c >= 0 else 0 for c in [*hood[t], t]]
            np.testing.assert_allclose(got[t, i], want, rtol=1e-6)


def test_plan_bounds_the_gram_by_hand() -> None:
    # users a..e hold 3, 2, 2, 3, 1 items; x is in a, b, d: 3 + 2 + 3 = 8, capped at 4 items;
    # y in a, b, c: 7 → 4; z in a, d, e: 7 → 4; w in c, d: 5 → 4. Σ n_u² = 27 > 16
    x = _tiny().matrix(binary=True)
    plan = sparse_plan(x, 64)
    assert plan.gram_entries == 16
    assert plan.neighbours == 3
    assert sparse_gram(x, 0.0).nnz <= plan.gram_entries
    big = synthetic_interactions(500, 400, n_interactions=3000, seed=0).matrix(binary=True)
    n_u = np.asarray(big.getnnz(axis=1))
    bound = sparse_plan(big, 8).gram_entries
    assert sparse_gram(big, 0.0).nnz <= bound < int((n_u**2).sum())


def test_the_exact_count_equals_the_grams_entries() -> None:
    x = synthetic_interactions(500, 400, n_interactions=3000, seed=0).matrix(binary=True)
    exact = exact_sparse_plan(x, 8)
    assert exact.gram_entries == sparse_gram(x, 0.0).nnz < sparse_plan(x, 8).gram_entries


def test_a_loose_bound_is_replaced_by_the_exact_count(monkeypatch: pytest.MonkeyPatch) -> None:
    x = synthetic_interactions(500, 400, n_interactions=3000, seed=0).matrix(binary=True)
    bound, exact = sparse_plan(x, 8).bytes, exact_sparse_plan(x, 8).bytes
    between = (bound + exact) // 2
    # memory for the exact plan but not for the bound: the model is fitted
    monkeypatch.setattr(recolab.memory, "available_memory_bytes", lambda: int(between / 0.8))
    data = synthetic_interactions(500, 400, n_interactions=3000, seed=0)
    model = SparseLinearAutoencoder(l2=1.0, neighbours=8, device="cpu").fit(data)
    assert model.plan_.gram_entries == sparse_gram(x, 0.0).nnz


def test_a_plan_that_does_not_fit_is_refused_with_its_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recolab.memory, "available_memory_bytes", lambda: 2**20)
    data = synthetic_interactions(100, 300, n_interactions=2000, seed=0)
    with pytest.raises(DataError, match=r"300 items \([\d,]+ entries at most\) needs [\d.]+ MiB"):
        SparseLinearAutoencoder(l2=1.0, device="cpu").fit(data)


def test_the_base_turns_sparse_above_the_threshold_or_when_dense_does_not_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = LinearParams(l2=1.0)
    assert type(make_linear_base(params, 1000, "cpu")) is LinearAutoencoder
    assert isinstance(make_linear_base(params, 20_001, "cpu"), SparseLinearAutoencoder)
    monkeypatch.setattr(sparse_linear, "SPARSE_ABOVE_ITEMS", 10)
    assert isinstance(make_linear_base(params, 11, "cpu"), SparseLinearAutoencoder)
    monkeypatch.setattr(sparse_linear, "SPARSE_ABOVE_ITEMS", 10**9)
    monkeypatch.setattr(recolab.memory, "available_memory_bytes", lambda: 2**20)
    # 300 items dense: 2.1 MiB > 80 % of 1 MiB, so the sparse base takes over
    assert isinstance(make_linear_base(params, 300, torch.device("cpu")), SparseLinearAutoencoder)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="zero_diagonal"):
        SparseLinearAutoencoder(l2=1.0, zero_diagonal=False)
    with pytest.raises(ValueError, match="neighbours"):
        SparseLinearAutoencoder(l2=1.0, neighbours=0)


def test_fold_in_and_stored_weights_match_the_fitted_model() -> None:
    data = synthetic_interactions(200, 60, n_interactions=2000, seed=4)
    model = SparseLinearAutoencoder(l2=3.0, neighbours=10, device="cpu").fit(data)
    x = data.matrix(binary=True)
    users = np.arange(5)
    np.testing.assert_allclose(model.score_history(x[users]), model.score(users), atol=1e-6)
    again = SparseLinearAutoencoder.from_weights(model.weights_, data, model.params)
    np.testing.assert_array_equal(again.score(users), model.score(users))
