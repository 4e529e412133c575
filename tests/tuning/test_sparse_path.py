"""fit_tuned on the sparse neighbourhood base: forced by a lower item threshold, the whole
default pipeline (tuning, mechanism fronts, refit) runs on it and serves sparse weights."""

from __future__ import annotations

import numpy as np
import pytest

import recolab.models.sparse_linear as sparse_linear
import recolab.tuning.sparsity as sparsity
from recolab.data.synthetic import synthetic_interactions
from recolab.evaluation import evaluate
from recolab.models.linear import LinearAutoencoder
from recolab.models.sparse_linear import SparseLinearAutoencoder
from recolab.tuning import TuneBudget
from recolab.tuning.select import fit_tuned
from tests.models._ml100k import ml100k_u1

BUDGET = TuneBudget(n_trials=3, seconds=600)


def test_ml100k_pipeline_runs_on_the_sparse_base(monkeypatch: pytest.MonkeyPatch) -> None:
    train, test = ml100k_u1()
    monkeypatch.setattr(sparse_linear, "SPARSE_ABOVE_ITEMS", 100)
    monkeypatch.setattr(sparse_linear, "prefers_dual", lambda n_users, n_items: False)
    tuned = fit_tuned(train, budget=BUDGET, seed=0, device="cpu", mechanisms=["popularity"])
    assert isinstance(tuned.base, SparseLinearAutoencoder)
    assert len(tuned.tuning.trials) == 3
    w = tuned.base.weights_
    assert w.shape == (train.n_items, train.n_items)
    # the neighbours per item were chosen on validation, and the refit keeps them
    chosen = tuned.neighbours
    assert chosen is not None and tuned.base.neighbours == chosen.neighbours
    assert chosen.neighbours in chosen.scores and len(chosen.scores) >= 2
    # the search starts from the base the fronts were measured on, with its score
    assert chosen.scores[sparse_linear.DEFAULT_NEIGHBOURS] == tuned.base_score
    assert np.diff(w.tocsc().indptr).max() <= chosen.neighbours
    summary = tuned.summary()["base"]
    assert summary["sparsity"] is None and summary["neighbours"]["neighbours"] == chosen.neighbours
    model = tuned.recommender()
    assert model.sparsity() > 1 - chosen.neighbours / train.n_items
    # reported once, afterwards: the sparse base is a real recommender on ML-100K
    assert evaluate(tuned.base, train, test, ks=(10,)).metrics["ndcg@10"] > 0.2


def test_with_full_neighbourhoods_the_sparse_path_tunes_like_the_dense_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = synthetic_interactions(300, 40, n_interactions=3000, seed=1)
    dense = fit_tuned(data, budget=BUDGET, seed=0, device="cpu", mechanisms=["popularity"])
    assert type(dense.base) is LinearAutoencoder
    monkeypatch.setattr(sparse_linear, "SPARSE_ABOVE_ITEMS", 10)
    monkeypatch.setattr(sparse_linear, "DEFAULT_NEIGHBOURS", 39)
    monkeypatch.setattr(sparsity, "NEIGHBOUR_GRID", (39,))  # every other item, as dense
    sparse = fit_tuned(data, budget=BUDGET, seed=0, device="cpu", mechanisms=["popularity"])
    assert isinstance(sparse.base, SparseLinearAutoencoder)
    got = [t["score"] for t in sparse.tuning.trials]
    want = [t["score"] for t in dense.tuning.trials]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(sparse.base.weights_.toarray(), dense.base.weights_, atol=1e-5)
