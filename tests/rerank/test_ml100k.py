"""ML-100K u1: EASE + PopularityPenalty trades a little accuracy for coverage and novelty."""

from __future__ import annotations

import pytest

from recolab.data.samples import load_ml100k_split
from recolab.evaluation import evaluate
from recolab.models.ease import EASERecommender
from recolab.rerank import PopularityPenalty, ReRankedRecommender


@pytest.mark.slow
def test_popularity_penalty_raises_coverage_and_novelty() -> None:
    train, test = load_ml100k_split("u1")
    model = ReRankedRecommender(EASERecommender(l2=400.0), PopularityPenalty()).fit(train)
    at_zero = evaluate(model, train, test, lam=0.0).metrics
    base = evaluate(model.base, train, test).metrics
    assert at_zero == base  # λ = 0 is EASE itself
    at_one = evaluate(model, train, test, lam=1.0).metrics
    assert at_one["coverage@20"] > at_zero["coverage@20"]
    assert at_one["novelty@20"] > at_zero["novelty@20"]
