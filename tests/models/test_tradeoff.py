"""The served trade-off model: λ = 0 is its base, no λ is its default."""

from __future__ import annotations

import numpy as np

from recolab.data.synthetic import synthetic_interactions
from recolab.models.linear import LinearAutoencoder, LinearParams
from recolab.models.tradeoff import TradeoffRecommender
from recolab.rerank import make_reranker


def test_lambda_zero_is_the_base_and_none_is_the_default() -> None:
    data = synthetic_interactions(120, 60, n_interactions=2500, rank=5, seed=3)
    base = LinearAutoencoder(LinearParams(l2=20.0), device="cpu").fit(data)
    users = np.arange(data.n_users)
    model = TradeoffRecommender(
        base, make_reranker("popularity"), 4.0, n_candidates=40, lam_default=2.0
    ).fit(data)
    at_zero, _ = model.recommend(users, 10, lam=0.0)
    assert np.array_equal(at_zero, base.recommend(users, 10)[0])
    served, _ = model.recommend(users, 10)
    assert np.array_equal(served, model.recommend(users, 10, lam=2.0)[0])
    assert not np.array_equal(served, at_zero)  # a penalty of 2 sd moves some lists
    plain = TradeoffRecommender(base, make_reranker("popularity"), 4.0, n_candidates=40)
    assert np.array_equal(plain.fit(data).recommend(users, 10)[0], at_zero)
