"""Synthetic data: exact sizes, unique pairs, structure a model can learn, long tail."""

from __future__ import annotations

import numpy as np
import pytest

from recolab.data.splits import random_holdout
from recolab.data.synthetic import random_rating_matrix, synthetic_interactions


def recall_at_10(scores: np.ndarray, train, test) -> float:
    seen = train.matrix(binary=True).toarray() > 0
    scores = np.where(seen, -np.inf, scores)
    top = np.argsort(-scores, axis=1)[:, :10]
    truth = test.matrix(binary=True).toarray() > 0
    hits = np.take_along_axis(truth, top, axis=1).sum(axis=1)
    n = truth.sum(axis=1)
    ok = n > 0
    return float(np.mean(hits[ok] / np.minimum(n[ok], 10)))


def test_sizes_unique_and_reproducible() -> None:
    d = synthetic_interactions(200, 100, n_interactions=3000, seed=5)
    assert (d.n_users, d.n_items, d.n_interactions) == (200, 100, 3000)
    assert not d.frame.duplicated(["user_idx", "item_idx"]).any()
    again = synthetic_interactions(200, 100, n_interactions=3000, seed=5)
    assert (again.frame["item_idx"].to_numpy() == d.frame["item_idx"].to_numpy()).all()
    other = synthetic_interactions(200, 100, n_interactions=3000, seed=6)
    assert not (other.frame["item_idx"].to_numpy() == d.frame["item_idx"].to_numpy()).all()
    assert d.report is not None and d.report.n_interactions == 3000
    d.report.check_balance()
    dens = synthetic_interactions(100, 100, density=0.05, seed=0)
    assert dens.n_interactions == 500


def test_latent_structure_beats_random_and_popularity() -> None:
    # no popularity skew: only the latent factors can explain who likes what
    d = synthetic_interactions(400, 300, n_interactions=12000, rank=8, popularity_skew=0.0)
    train, test = random_holdout(d, 0.2, seed=0)
    m = train.matrix(binary=True).toarray()
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    svd_scores = (u[:, :8] * s[:8]) @ vt[:8]
    rng = np.random.default_rng(0)
    random_recall = recall_at_10(rng.random(m.shape), train, test)
    svd_recall = recall_at_10(svd_scores, train, test)
    popularity = np.tile(m.sum(axis=0), (m.shape[0], 1))
    assert svd_recall > 2 * random_recall
    assert svd_recall > 2 * recall_at_10(popularity, train, test)


def test_popularity_long_tail() -> None:
    d = synthetic_interactions(2000, 1000, n_interactions=40000, popularity_skew=1.0)
    counts = np.sort(np.bincount(d.frame["item_idx"], minlength=d.n_items))[::-1]
    top_share = counts[:100].sum() / counts.sum()  # top 10% of items; uniform would be 0.1
    assert top_share > 0.3
    flat = synthetic_interactions(2000, 1000, n_interactions=40000, popularity_skew=0.0)
    flat_counts = np.sort(np.bincount(flat.frame["item_idx"], minlength=flat.n_items))[::-1]
    assert flat_counts[:100].sum() / flat_counts.sum() < 0.2


def test_explicit_ratings_in_range() -> None:
    d = synthetic_interactions(100, 80, n_interactions=1000, explicit=True)
    assert d.kind == "explicit"
    assert set(np.unique(d.frame["rating"])) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert len(np.unique(d.frame["rating"])) >= 3


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="half"):
        synthetic_interactions(10, 10, n_interactions=90)
    with pytest.raises(ValueError, match="not both"):
        synthetic_interactions(10, 10, n_interactions=5, density=0.1)


def test_random_rating_matrix() -> None:
    m = random_rating_matrix(300, 200, sparsity_p=0.9, seed=1)
    assert m.shape == (300, 200)
    assert m.nnz / (300 * 200) == pytest.approx(0.1, abs=0.01)
    assert set(np.unique(m.data)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    again = random_rating_matrix(300, 200, sparsity_p=0.9, seed=1)
    assert (m != again).nnz == 0
    assert random_rating_matrix(5, 5, sparsity_p=1.0).nnz == 0
    assert random_rating_matrix(5, 5, sparsity_p=0.0).nnz == 25
