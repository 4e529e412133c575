"""The dashboard measures a model trained for repeat purchases as the pipeline did: with each
user's own training items among the candidates (recolab.studio.eval_context / metrics_at)."""

from __future__ import annotations

import pytest

from recolab import studio
from recolab.evaluation import Protocol, evaluate
from recolab.models.popularity import PopularityRecommender


@pytest.mark.parametrize("repeat", [False, True])
def test_metrics_at_follow_the_jobs_repeat_option(repeat: bool) -> None:
    spec = {"sample": "retail-sample", "config": {"repeat": repeat, "use_text": False}}
    ctx = studio.eval_context(spec)
    assert ctx.protocol.exclude_seen is not repeat
    model = PopularityRecommender().fit(ctx.train)
    got = studio.metrics_at(model, ctx, 0.0)
    want = evaluate(model, ctx.train, ctx.test, protocol=Protocol(exclude_seen=not repeat))
    assert got["recall@20"] == pytest.approx(want.metrics["recall@20"])
    other = evaluate(model, ctx.train, ctx.test, protocol=Protocol(exclude_seen=repeat))
    assert got["recall@20"] != pytest.approx(other.metrics["recall@20"])
