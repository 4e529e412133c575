"""Top-k sparsity of the linear base: pruning by hand, k chosen on validation, and a sparse
bundle that serves the same lists."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

import recolab
from recolab.bundle import export_bundle
from recolab.data import build_interactions
from recolab.data.interactions import InteractionData
from recolab.data.synthetic import synthetic_interactions
from recolab.models.linear import (
    LinearAutoencoder,
    LinearParams,
    gram_matrix,
    gram_strategy,
    prune_top_k,
)
from recolab.models.tradeoff import TradeoffRecommender
from recolab.rerank import make_reranker
from recolab.tuning import TuneBudget, fit_tuned, validation_split
from recolab.tuning.sparsity import (
    K_GRID,
    MAX_LOSS,
    choose_top_k,
    shrinking_ks,
    validation_score,
)


def clustered(n_clusters: int = 30, size: int = 10, users_per: int = 8) -> InteractionData:
    """Users who each touch 6 items of one cluster: XᵀX, and so EASE's W, is block diagonal
    with blocks of ``size`` items."""
    return build_interactions(clustered_frame(n_clusters, size, users_per), kind="implicit")


def clustered_frame(n_clusters: int, size: int, users_per: int) -> pd.DataFrame:
    """The (user, item, value) rows of :func:`clustered`."""
    rng = np.random.default_rng(0)
    rows = []
    for c in range(n_clusters):
        for u in range(users_per):
            for i in rng.choice(size, 6, replace=False):
                rows.append((f"u{c}-{u}", f"i{c * size + i}"))
    return pd.DataFrame(rows, columns=["user", "item"]).assign(value=1.0)


def test_shrinking_ks_by_hand() -> None:
    # sparse storage costs 12 bytes per kept weight, dense 4 per entry: k < n / 3
    assert shrinking_ks(100, dense_limit=0) == [16, 32]
    assert shrinking_ks(40, dense_limit=0) == []
    assert shrinking_ks(9000)[-1] == 1024
    # a dense W up to 64 MiB (4,096 items) stays dense
    assert shrinking_ks(4096) == [] and shrinking_ks(4097) == list(K_GRID)


def test_fit_keeps_at_most_k_weights_per_column() -> None:
    data = clustered()
    # the primal solve, as for the pruned model: unpruned, these 240 users × 300 items would
    # be solved in dual form, whose float64 rounding can break near-ties the other way
    with gram_strategy(gram_matrix):
        dense = LinearAutoencoder(l2=5.0, device="cpu").fit(data).weights_
    sparse = LinearAutoencoder(l2=5.0, top_k=3, device="cpu").fit(data).weights_
    assert (np.count_nonzero(sparse, axis=0) <= 3).all()
    np.testing.assert_array_equal(sparse, prune_top_k(dense, 3))
    # what is kept is each column's 3 largest magnitudes
    col = np.abs(dense[:, 0])
    assert set(np.flatnonzero(sparse[:, 0])) == set(np.argsort(-col)[:3])


def test_block_diagonal_weights_lose_nothing_at_16() -> None:
    data = clustered()
    split = validation_split(data, seed=0)
    base = LinearAutoencoder(l2=5.0, device="cpu").fit(split.fit)
    assert np.count_nonzero(base.weights_, axis=0).max() <= 9  # blocks of 10, zero diagonal
    assert choose_top_k(base, split).top_k == 0  # 300 items: small enough to stay dense
    choice = choose_top_k(base, split, dense_limit=0)
    assert choice.top_k == 16  # the first k tried, and it keeps every nonzero weight
    assert choice.scores[16] == choice.dense_score
    # a dense score the caller has is taken as it is, not measured again
    told = choose_top_k(base, split, dense_limit=0, score=2.0 * choice.dense_score)
    assert told.dense_score == 2.0 * choice.dense_score and told.top_k == 0


def test_when_the_widest_k_loses_no_other_is_tried_and_none_would_have_kept() -> None:
    data = synthetic_interactions(400, 300, n_interactions=8000, seed=0)
    split = validation_split(data, seed=0)
    base = LinearAutoencoder(l2=50.0, device="cpu").fit(split.fit)
    ks = shrinking_ks(base.n_items, dense_limit=0)
    assert ks == [16, 32, 64]
    choice = choose_top_k(base, split, dense_limit=0)
    assert choice.top_k == 0 and list(choice.scores) == [64]
    assert choice.scores[64] <= (1 - MAX_LOSS) * choice.dense_score
    # the scan it skipped: every narrower k loses too
    for k in ks[:-1]:
        assert validation_score(base.pruned(k), split) <= choice.scores[64]


def test_sparse_bundle_is_smaller_and_serves_the_pruned_lists(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    noise = pd.DataFrame(  # users across clusters: W becomes dense
        {"user": [f"n{u % 100}" for u in range(600)], "item": rng.integers(0, 300, 600)}
    ).assign(item=lambda f: "i" + f["item"].astype(str), value=1.0)
    frame = pd.concat([clustered_frame(20, 15, 12), noise], ignore_index=True)
    data = build_interactions(frame.drop_duplicates(["user", "item"]), kind="implicit")
    users = np.arange(data.n_users)
    sizes = {}
    for k in (0, 16):
        base = LinearAutoencoder(LinearParams(l2=5.0, top_k=k), device="cpu").fit(data)
        assert (np.mean(base.weights_ == 0) > 0.9) == (k == 16)
        model = TradeoffRecommender(base, make_reranker("popularity"), 1.0, n_candidates=20)
        path = export_bundle(model.fit(data), tmp_path / f"k{k}.zip", lam=0.0)
        sizes[k] = path.stat().st_size
        loaded = recolab.load(path)
        assert loaded.model.base.params.top_k == k
        np.testing.assert_array_equal(loaded.model.base.weights_, base.weights_)
        expected = model.recommend(users, 5)[0]
        np.testing.assert_array_equal(loaded.model.recommend(users, 5)[0], expected)
    assert sizes[16] < 0.5 * sizes[0]


def test_given_validation_keeps_the_fitted_base_without_a_second_solve() -> None:
    data = clustered()
    split = validation_split(data, seed=0)
    tuned = fit_tuned(
        split.fit,
        valid=split.valid,
        budget=TuneBudget(n_trials=2, seconds=3600),
        mechanisms=["popularity"],
        device="cpu",
    )
    assert tuned.validation.startswith("given")
    assert tuned.base.params.top_k == 0  # 300 items: small enough to stay dense
    again = LinearAutoencoder(tuned.base.params, device="cpu").fit(split.fit)
    np.testing.assert_allclose(tuned.base.weights_, again.weights_, atol=1e-6)


def test_validation_model_is_the_chosen_base_on_the_fit_part() -> None:
    data = clustered()
    tuned = fit_tuned(
        data, budget=TuneBudget(n_trials=2, seconds=3600), mechanisms=["popularity"], device="cpu"
    )
    model, split = tuned.validation_model()
    assert split.method != "given" and split.fit.n_interactions < data.n_interactions
    assert (model.base.train_ != split.fit.matrix(binary=True)).nnz == 0
    fresh = LinearAutoencoder(model.base.params, device="cpu").fit(split.fit)
    np.testing.assert_allclose(model.base.weights_, fresh.weights_, atol=1e-6)
    assert model.reranker.name == tuned.mechanism.name == "popularity"
    # the served model has the same options (l2 scaled to the data) fitted on all of training
    assert replace(tuned.base.params, l2=model.base.params.l2) == model.base.params
    assert (tuned.base.train_ != data.matrix(binary=True)).nnz == 0
