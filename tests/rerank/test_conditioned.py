"""ConditionedResidual: Δ(·; 0) = 0 exactly, known orders, training, stored state."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recolab.models import PopularityRecommender
from recolab.rerank import ConditionedResidual, PopularityPenalty, ReRankedRecommender
from recolab.rerank.conditioned import lambda_basis, residual
from tests.rerank._tiny import cand, implicit


def _planted():
    """12 users; everyone holds item p0 or p1 and one niche item; popularity favours p0/p1."""
    pairs = []
    for u in range(12):
        pairs.append((f"u{u}", f"p{u % 2}"))
        pairs.append((f"u{u}", f"n{u % 6}"))
    return implicit(pairs)


def test_residual_is_zero_at_lambda_zero() -> None:
    weights = np.random.default_rng(0).normal(size=(5, 3))
    prior = np.ones(5)
    assert np.array_equal(residual(weights, prior, 0.0, 64.0), np.zeros(5))
    # λ = 1: Δ = 1 · (prior + B φ(1)), φ(1) = (1, ψ, ψ²) with ψ = log 2 / log 65
    psi = math.log(2) / math.log(65)
    np.testing.assert_allclose(lambda_basis(1.0, 64.0), [1.0, psi, psi**2])
    expected = prior + weights @ np.array([1.0, psi, psi**2])
    np.testing.assert_allclose(residual(weights, prior, 1.0, 64.0), expected)


def test_untrained_equals_popularity_penalty() -> None:
    train = _planted()
    plain = ConditionedResidual(steps=0).fit(train)
    popularity = PopularityPenalty().fit(train)
    np.testing.assert_allclose(plain.prior_, -popularity.penalty_)
    c = cand([[0, 1, 2, 3]], [[4.0, 3.0, 2.0, 1.0]])
    for lam in (0.0, 0.5, 2.0, 8.0):
        assert plain.rerank(c, 4, lam).tolist() == popularity.rerank(c, 4, lam).tolist()


def test_known_order_with_hand_weights() -> None:
    reranker = ConditionedResidual().fit(implicit([("u", "a"), ("u", "b"), ("v", "c")]))
    reranker.prior_ = np.zeros(3)
    reranker.weights_ = np.array([[0.0, 0, 0], [0.0, 0, 0], [2.0, 0, 0]])
    # rel of scores (3, 2, 1) is (R, 0, -R), R = sqrt(1.5) ≈ 1.22; Δ = λ·(0, 0, 2)
    c = cand([[0, 1, 2]], [[3, 2, 1]])
    assert reranker.rerank(c, 3, 0.0).tolist() == [[0, 1, 2]]
    assert reranker.rerank(c, 3, 0.5).tolist() == [[0, 1, 2]]  # c: -1.22 + 1.0 < 0
    assert reranker.rerank(c, 3, 1.0).tolist() == [[0, 2, 1]]  # c: -1.22 + 2 = 0.78 > 0
    assert reranker.rerank(c, 2, 2.0).tolist() == [[2, 0]]  # c: -1.22 + 4 > 1.22


def _coverage(model: ReRankedRecommender, n_users: int, lam: float) -> int:
    items, _ = model.recommend(np.arange(n_users), 2, lam=lam)
    return len(set(items[items >= 0].tolist()))


def test_training_is_seeded_and_keeps_the_base_at_zero() -> None:
    train = _planted()
    fits = [
        ReRankedRecommender(PopularityRecommender(), ConditionedResidual(steps=30)).fit(train)
        for _ in range(2)
    ]
    assert np.array_equal(fits[0].reranker.weights_, fits[1].reranker.weights_)
    assert np.any(fits[0].reranker.weights_ != 0)  # training moved B
    base = PopularityRecommender().fit(train)
    users = np.arange(train.n_users)
    assert np.array_equal(fits[0].recommend(users, 3, lam=0.0)[0], base.recommend(users, 3)[0])


def test_state_round_trip_and_validation() -> None:
    train = _planted()
    model = ReRankedRecommender(PopularityRecommender(), ConditionedResidual(steps=20)).fit(train)
    stored = model.reranker.state_arrays()
    restored = ReRankedRecommender(
        PopularityRecommender(), ConditionedResidual(steps=20).load_state(stored)
    ).fit(train)  # fit does not retrain: the stored weights are used
    np.testing.assert_allclose(restored.reranker.weights_, model.reranker.weights_, rtol=1e-6)
    users = np.arange(train.n_users)
    np.testing.assert_array_equal(
        restored.recommend(users, 3, lam=4.0)[0], model.recommend(users, 3, lam=4.0)[0]
    )
    with pytest.raises(ValueError, match="stored weights must be"):
        ConditionedResidual().load_state({"weights": np.zeros((2, 3))}).fit(train)
    with pytest.raises(ValueError, match="stored weights must be finite"):
        ConditionedResidual().load_state({"weights": np.full((train.n_items, 3), np.nan)})


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="ConditionedResidual"):
        ConditionedResidual(temperature=0.0)
    assert ConditionedResidual(steps=5).to_config()["steps"] == 5


def test_bundle_keeps_the_trained_weights(tmp_path) -> None:
    import recolab
    from recolab.bundle import export_bundle
    from recolab.data.synthetic import synthetic_interactions
    from recolab.models.linear import LinearAutoencoder, LinearParams
    from recolab.models.tradeoff import TradeoffRecommender

    data = synthetic_interactions(120, 60, n_interactions=2000, rank=5, seed=1)
    base = LinearAutoencoder(LinearParams(l2=20.0)).fit(data)
    reranker = ConditionedResidual(steps=25, lam_max=8.0)
    model = TradeoffRecommender(base, reranker, 8.0, n_candidates=30, lam_default=2.0).fit(data)
    path = export_bundle(model, tmp_path / "m.zip")
    loaded = recolab.load(path)
    np.testing.assert_allclose(
        loaded.model.reranker.weights_, model.reranker.weights_, rtol=1e-6, atol=1e-7
    )
    users = model.users_.ids[:30].tolist()
    for lam in (0.0, 2.0, 8.0):
        idx, _ = model.recommend(model.users_.index(users), 10, lam=lam)
        expected = [model.items_.ids[i] for row in idx for i in row if i >= 0]
        assert loaded.recommend(users, k=10, lam=lam)["item"].tolist() == expected


def test_revenue_variant_starts_at_the_revenue_boost_and_learns() -> None:
    from recolab.rerank import ConditionedRevenue, RevenueBoost

    train = _planted()  # the tiny data carry prices 1, 4, 7 by item index
    plain = ConditionedRevenue(steps=0).fit(train)
    boost = RevenueBoost().fit(train)
    np.testing.assert_allclose(plain.prior_, boost.boost_)
    c = cand([[0, 1, 2, 3]], [[4.0, 3.0, 2.0, 1.0]])
    for lam in (0.0, 0.5, 2.0):
        assert plain.rerank(c, 4, lam).tolist() == boost.rerank(c, 4, lam).tolist()
    fitted = ReRankedRecommender(PopularityRecommender(), ConditionedRevenue(steps=30)).fit(train)
    assert np.any(fitted.reranker.weights_ != 0)
    users = np.arange(train.n_users)
    base = PopularityRecommender().fit(train).recommend(users, 3)[0]
    assert np.array_equal(fitted.recommend(users, 3, lam=0.0)[0], base)
    # the config carries the prices, so a bundle refits it on a price-less history
    config = fitted.reranker.to_config()
    assert config["name"] == "conditioned-revenue"
    np.testing.assert_allclose(np.array(config["prices"], dtype=float), fitted.reranker.prices_)


def test_revenue_variant_survives_a_bundle(tmp_path) -> None:
    import recolab
    from recolab.bundle import export_bundle
    from recolab.models.linear import LinearAutoencoder, LinearParams
    from recolab.models.tradeoff import TradeoffRecommender
    from recolab.rerank import ConditionedRevenue

    train = _planted()
    base = LinearAutoencoder(LinearParams(l2=1.0)).fit(train)
    model = TradeoffRecommender(base, ConditionedRevenue(steps=20), 4.0, n_candidates=8)
    path = export_bundle(model.fit(train), tmp_path / "m.zip")
    loaded = recolab.load(path)  # its history has no prices: the config's are used
    np.testing.assert_allclose(loaded.model.reranker.prices_, model.reranker.prices_)
    users = model.users_.ids.tolist()
    for lam in (0.0, 2.0, 4.0):
        idx, _ = model.recommend(model.users_.index(users), 3, lam=lam)
        expected = [model.items_.ids[i] for row in idx for i in row if i >= 0]
        assert loaded.recommend(users, k=3, lam=lam)["item"].tolist() == expected


def test_training_on_two_threads_is_reproducible() -> None:
    """The same seed gives the same weights on ML-100K with 2 threads: the gather's gradient
    is summed deterministically (by default two runs differed by up to 1.3 in a weight),
    and the caller's deterministic-algorithms setting is left as it was."""
    import torch

    from recolab.data.samples import load_ml100k_split
    from recolab.models.linear import LinearAutoencoder

    train, _ = load_ml100k_split()
    base = LinearAutoencoder(l2=400.0).fit(train)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        runs = []
        for _ in range(2):
            reranker = ConditionedResidual(steps=60).fit(train)
            reranker.observe_model(base, train, 400)
            runs.append(np.asarray(reranker.weights_))
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not torch.are_deterministic_algorithms_enabled()
