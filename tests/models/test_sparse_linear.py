"""The neighbourhood-restricted EASE/EDLAE base: known answers on tiny data, the memory plan
checked before allocating, and the switch from the dense base."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

import recolab.memory
import recolab.models.neighbour_gram as neighbour_gram
import recolab.models.sparse_linear as sparse_linear
from recolab.data import build_interactions
from recolab.data.interactions import InteractionData
from recolab.data.synthetic import synthetic_interactions
from recolab.errors import DataError
from recolab.models.ease import EASERecommender
from recolab.models.linear import LinearAutoencoder, LinearParams
from recolab.models.neighbour_gram import (
    blocks,
    count_among_neighbours,
    item_sums,
    kept_gram,
    row_bounds,
    top_neighbours,
    user_scale,
)
from recolab.models.sparse_linear import (
    SparseLinearAutoencoder,
    counted_plan,
    make_linear_base,
    sparse_plan,
)


def _dense_gram(x: sp.csr_matrix, user_norm: float = 0.0) -> np.ndarray:
    scale = np.maximum(x.getnnz(axis=1), 1).astype(np.float64) ** -user_norm
    return (x.T @ sp.diags(scale) @ x).toarray()


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


def _cosine(gram: np.ndarray) -> np.ndarray:
    norm = np.sqrt(np.diag(gram))
    out = gram / norm[:, None] / norm[None, :]
    np.fill_diagonal(out, -1)
    return out


def test_columns_keep_at_most_m_weights_on_the_nearest_items_by_cosine() -> None:
    data = synthetic_interactions(300, 120, n_interactions=4000, seed=0)
    model = SparseLinearAutoencoder(l2=5.0, neighbours=7, device="cpu").fit(data)
    w = model.weights_.tocsc()
    assert max(np.diff(w.indptr)) <= 7
    gram = _dense_gram(data.matrix(binary=True))
    cosine = _cosine(gram)
    for j in range(120):
        kept = w.indices[w.indptr[j] : w.indptr[j + 1]]
        assert cosine[kept, j].min() >= np.sort(cosine[:, j])[-7] - 1e-6
    # not the most co-occurring: some column keeps an item outside its 7 largest G_ij
    np.fill_diagonal(gram, -1)
    outside = [
        j
        for j in range(120)
        for i in w.indices[w.indptr[j] : w.indptr[j + 1]]
        if gram[i, j] < np.sort(gram[:, j])[-7]
    ]
    assert outside


def test_a_rare_item_that_always_co_occurs_beats_a_popular_one_by_hand() -> None:
    # item q is in every list; r only in a's and b's, with t. For t: G_tq = 3, G_tr = 2, but
    # the cosine is 3/√(3·6) = 0.71 for q against 2/√(3·2) = 0.82 for r: r is t's neighbour
    frame = pd.DataFrame(
        {
            "user": list("aaabbbcccdef"),
            "item": ["q", "r", "t", "q", "r", "t", "q", "t", "s", "q", "q", "q"],
            "value": 1.0,
        }
    )
    data = build_interactions(frame, kind="implicit")
    model = SparseLinearAutoencoder(l2=1.0, neighbours=1, device="cpu").fit(data)
    q, r, t = data.items.index(["q", "r", "t"])
    column = model.weights_[:, t].toarray().ravel()
    assert column[r] > 0 and column[q] == 0 and np.count_nonzero(column) == 1


@pytest.mark.parametrize("budget", [1, 50, 10**9])
def test_neighbourhoods_and_their_systems_read_the_gram_exactly(budget: int) -> None:
    # each item's nearest neighbours (by cosine), right-hand side and diagonal, and every
    # entry of each (padded) neighbourhood's system, against the dense Gram, whatever the
    # block size; padding (-1) and pairs that never co-occur read 0
    data = synthetic_interactions(60, 40, n_interactions=400, seed=3)
    x = data.matrix(binary=True)
    dense = _dense_gram(x, 0.5)
    assert np.count_nonzero(dense == 0) > 0  # some pairs never co-occur
    scale = user_scale(x, 0.5)
    near = top_neighbours(x, scale, 6, budget)
    hoods, rhs, diag = near.hoods, near.rhs, near.diag
    np.testing.assert_allclose(diag, np.diag(dense), rtol=1e-6)
    np.testing.assert_array_equal(near.row_entries, np.count_nonzero(dense, axis=1))
    cosines = _cosine(dense)
    for j, hood in enumerate(hoods):
        kept = hood[hood >= 0]
        assert list(kept) == sorted(kept) and j not in kept
        others = np.delete(dense[j], j)
        assert len(kept) == min(6, np.count_nonzero(others))
        if len(kept):
            cosine = np.delete(cosines[j], j)
            assert cosines[j, kept].min() >= np.sort(cosine)[-len(kept)] - 1e-6
        np.testing.assert_allclose(rhs[j, : len(kept)], dense[j, kept], rtol=1e-6)
        assert not rhs[j, len(kept) :].any()
    hoods[::3, -2:] = -1
    got = sparse_linear._gram_among(kept_gram(x, scale, near, budget, 40 * 40), hoods)
    for t, hood in enumerate(hoods):
        for i, row in enumerate(hood):
            want = [dense[row, c] if row >= 0 and c >= 0 else 0 for c in hood]
            np.testing.assert_allclose(got[t, i], want, rtol=1e-6)


@pytest.mark.parametrize(("per_row", "batch_bytes"), [(0, 2**25), (10**9, 2**25), (10**9, 1)])
def test_both_lookups_read_the_same_systems(
    monkeypatch: pytest.MonkeyPatch, per_row: int, batch_bytes: int
) -> None:
    # searched row by row (per_row 0) or gathered (10⁹), in halves down to one system each
    # when the keys do not fit (batch_bytes 1): the same systems as the default
    data = synthetic_interactions(200, 80, n_interactions=3000, seed=5)
    x = data.matrix(binary=True)
    near = top_neighbours(x, None, 9, 500)
    gram = kept_gram(x, None, near, 500, 80 * 80)
    hoods = near.hoods.copy()
    hoods[::4, -3:] = -1
    want = sparse_linear._gram_among(gram, hoods)
    monkeypatch.setattr(sparse_linear, "_GATHER_PER_ROW", per_row)
    monkeypatch.setattr(sparse_linear, "_BATCH_BYTES", batch_bytes)
    np.testing.assert_array_equal(sparse_linear._gram_among(gram, hoods), want)
    dense = _dense_gram(x)
    t, i, k = 5, 2, 6
    assert want[t, i, k] == pytest.approx(dense[hoods[t, i], hoods[t, k]], rel=1e-6)


def test_item_sums_read_in_chunks_equal_scipys(monkeypatch: pytest.MonkeyPatch) -> None:
    x = synthetic_interactions(300, 120, n_interactions=4000, seed=0).matrix(binary=True)
    weights = np.arange(300, dtype=np.float64)
    monkeypatch.setattr(neighbour_gram, "_CHUNK_ENTRIES", 7)  # many chunks, rows split never
    np.testing.assert_array_equal(item_sums(x), x.getnnz(axis=0))
    np.testing.assert_allclose(item_sums(x, weights), x.T @ weights)
    n_u = x.getnnz(axis=1)
    np.testing.assert_array_equal(row_bounds(x), np.minimum(x.T @ n_u, 120))


def test_blocks_follow_the_budget_by_hand() -> None:
    bounds = np.array([3, 1, 1, 5, 2, 2])
    got = [list(b) for b in blocks(np.arange(6), bounds, 4)]
    assert got == [[0, 1], [2], [3], [4, 5]]  # a row above the budget is a block alone
    assert [list(b) for b in blocks(np.array([1, 2, 4]), bounds, 3)] == [[1, 2], [4]]


def test_the_gram_among_neighbours_keeps_only_pairs_that_share_a_neighbourhood() -> None:
    data = synthetic_interactions(500, 400, n_interactions=3000, seed=0)
    x = data.matrix(binary=True)
    near = top_neighbours(x, None, 8, 10**9)
    hoods = near.hoods
    pairs = {(a, b) for h in hoods for a in h[h >= 0] for b in h[h >= 0] if a <= b}
    assert count_among_neighbours(hoods, 100) == len(pairs)
    kept = kept_gram(x, None, near, 100, len(pairs)).tocoo()
    dense = _dense_gram(x)
    want = {(a, b) for a, b in pairs if dense[a, b] != 0}
    assert set(zip(kept.row.tolist(), kept.col.tolist(), strict=True)) == want
    np.testing.assert_allclose(kept.data, dense[kept.row, kept.col], rtol=1e-6)
    assert kept.nnz < np.count_nonzero(dense) / 4  # far fewer than the whole Gram
    # written once into arrays of the bound: one entry short of what is kept is refused
    with pytest.raises(RuntimeError, match="bound"):
        kept_gram(x, None, near, 100, kept.nnz - 1)
    assert kept_gram(x, None, near, 100, kept.nnz).nnz == kept.nnz


def test_the_weights_do_not_depend_on_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    data = synthetic_interactions(300, 120, n_interactions=4000, seed=0)
    params = LinearParams(l2=5.0, dropout=0.2, user_norm=0.5, item_norm=0.3)
    whole = SparseLinearAutoencoder(params, neighbours=7, device="cpu").fit(data).weights_
    monkeypatch.setattr(sparse_linear, "_MIN_BLOCK_ENTRIES", 1)
    monkeypatch.setattr(sparse_linear, "_BLOCKS_PER_DATA", 10**6)
    model = SparseLinearAutoencoder(params, neighbours=7, device="cpu").fit(data)
    assert model.plan_.block_entries == 1
    np.testing.assert_array_equal(model.weights_.toarray(), whole.toarray())


def test_plan_bounds_the_entries_kept_by_hand() -> None:
    # users a..e hold 3, 2, 2, 3, 1 items; x is in a, b, d: 3 + 2 + 3 = 8, capped at 4 items;
    # y in a, b, c: 7 → 4; z in a, d, e: 7 → 4; w in c, d: 5 → 4: 16 Gram entries at most,
    # (16 + 4) / 2 in its upper triangle, fewer than 4 items × 3 · 4 / 2 pairs of neighbours
    x = _tiny().matrix(binary=True)
    plan = sparse_plan(x, 64)
    assert (plan.gram_entries, plan.kept_entries, plan.neighbours) == (16, 10, 3)
    assert plan.interactions == 11 and plan.block_entries == 16  # the whole Gram at once
    big = synthetic_interactions(500, 400, n_interactions=3000, seed=0).matrix(binary=True)
    plan = sparse_plan(big, 8)
    assert np.count_nonzero(_dense_gram(big)) <= row_bounds(big).sum()
    assert plan.kept_entries == min(400 * 8 * 9 // 2, (row_bounds(big).sum() + 400) // 2)
    hoods = top_neighbours(big, None, 8, 10**9).hoods
    counted = counted_plan(plan, hoods)
    assert counted.kept_entries == count_among_neighbours(hoods, 10**9) < plan.kept_entries
    assert counted.bytes < plan.bytes


def test_a_loose_bound_is_replaced_by_the_exact_count(monkeypatch: pytest.MonkeyPatch) -> None:
    data = synthetic_interactions(500, 400, n_interactions=3000, seed=0)
    x = data.matrix(binary=True)
    plan = sparse_plan(x, 8)
    hoods = top_neighbours(x, None, 8, 10**9).hoods
    counted = counted_plan(plan, hoods)
    between = (plan.bytes + counted.bytes) // 2
    # memory for the counted plan but not for the bound: the model is fitted
    monkeypatch.setattr(recolab.memory, "available_memory_bytes", lambda: int(between / 0.8))
    model = SparseLinearAutoencoder(l2=1.0, neighbours=8, device="cpu").fit(data)
    assert model.plan_ == counted


def test_a_plan_that_does_not_fit_is_refused_with_its_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recolab.memory, "available_memory_bytes", lambda: 2**20)
    data = synthetic_interactions(100, 300, n_interactions=2000, seed=0)
    with pytest.raises(
        DataError,
        match=r"300 items \([\d,]+ Gram entries among neighbours at most\) needs [\d.]+ MiB",
    ):
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


def test_scoring_reads_one_row_major_copy_of_each_w() -> None:
    data = synthetic_interactions(60, 40, n_interactions=600, seed=1)
    model = SparseLinearAutoencoder(l2=2.0, neighbours=5).fit(data)
    w = model.weights_
    assert w.format == "csc"
    rows = model._row_major()
    assert rows.format == "csr" and model._row_major() is rows  # made once
    np.testing.assert_array_equal(rows.toarray(), w.toarray())
    users = np.arange(data.n_users)
    expected = model.train_[users].toarray() @ w.toarray()
    np.testing.assert_allclose(model.score(users), expected, rtol=1e-5, atol=1e-6)
    # a copy with other weights reads its own
    other = model.with_repeat_weight(0.5)
    assert other._row_major() is not rows
    np.testing.assert_array_equal(other._row_major().toarray(), other.weights_.toarray())
    assert model._row_major() is rows
