"""The sparse base's neighbours per item, chosen on validation (choose_neighbours)."""

from __future__ import annotations

import numpy as np
import pytest

import recolab.models.sparse_linear as sparse_linear
from recolab.data.synthetic import synthetic_interactions
from recolab.models.sparse_linear import SparseLinearAutoencoder, sparse_plan
from recolab.tuning import validation_split
from recolab.tuning.sparsity import MAX_LOSS, choose_neighbours, validation_score
from tests.tuning.test_sparsity import clustered


def test_blocks_of_ten_need_no_more_than_the_smallest_neighbourhood() -> None:
    # each item co-occurs with the 9 others of its block only: from m = 9 on, every
    # neighbourhood holds the whole block and W is the same
    split = validation_split(clustered(), seed=0)
    base = SparseLinearAutoencoder(l2=5.0, neighbours=64, device="cpu").fit(split.fit)
    choice = choose_neighbours(base, split)
    # 128 gains nothing over 64, so 256 is not fitted; down to the smallest of the grid
    assert sorted(choice.scores) == [16, 32, 64, 128]
    assert len(set(choice.scores.values())) == 1
    assert choice.neighbours == 16 and choice.model.neighbours == 16
    np.testing.assert_array_equal(choice.model.weights_.toarray(), base.weights_.toarray())
    assert choice.summary()["neighbours"] == 16 and choice.summary()["refused"] == {}


def test_the_choice_follows_the_rule_on_the_scores_it_measured() -> None:
    data = synthetic_interactions(400, 300, n_interactions=12000, popularity_skew=1.1, seed=3)
    split = validation_split(data, seed=0)
    base = SparseLinearAutoencoder(l2=20.0, neighbours=8, device="cpu").fit(split.fit)
    grid = (4, 8, 16, 32, 64, 128)
    choice = choose_neighbours(base, split, grid)
    scores = choice.scores
    best = max(scores.values())
    assert choice.neighbours == min(m for m, v in scores.items() if v >= (1 - MAX_LOSS) * best)
    # each step up was taken because the one before gained more than MAX_LOSS
    up = sorted(m for m in scores if m > 8)
    for below, m in zip([8, *up], up[:-1], strict=False):
        assert scores[m] > (1 + MAX_LOSS) * max(v for k, v in scores.items() if k <= below)
    assert len(scores) >= 2
    # the model handed back is the chosen one, fitted again alike
    again = SparseLinearAutoencoder(l2=20.0, neighbours=choice.neighbours, device="cpu")
    assert validation_score(again.fit(split.fit), split) == pytest.approx(
        scores[choice.neighbours], rel=1e-6
    )


def test_a_plan_too_large_ends_the_climb(monkeypatch: pytest.MonkeyPatch) -> None:
    split = validation_split(clustered(), seed=0)
    base = SparseLinearAutoencoder(l2=5.0, neighbours=2, device="cpu").fit(split.fit)
    # a machine with room for the systems of 2 neighbours per item, not 4
    room = sparse_plan(split.fit.matrix(binary=True), 2).bytes
    monkeypatch.setattr(
        sparse_linear,
        "memory_shortfall",
        lambda need, *args: None if need <= room else f"needs {need:,} bytes",
    )
    choice = choose_neighbours(base, split, (1, 2, 4, 8))
    assert list(choice.refused) == [4] and "bytes" in choice.refused[4]
    assert 8 not in choice.scores and 4 not in choice.scores
    assert choice.neighbours in (1, 2) and choice.model.neighbours == choice.neighbours


def test_the_time_budget_bounds_the_search() -> None:
    split = validation_split(clustered(), seed=0)
    base = SparseLinearAutoencoder(l2=5.0, neighbours=64, device="cpu").fit(split.fit)
    assert base.fit_seconds_ > 0
    # no time for another fit: the base stays as it is, and the skipped steps say why
    choice = choose_neighbours(base, split, seconds=1e-9)
    assert list(choice.scores) == [64] and choice.neighbours == 64 and choice.model is base
    assert sorted(choice.refused) == [32, 128]
    assert all("budget" in why for why in choice.refused.values())
    # a score the caller has is taken as the base's, not measured again
    assert choose_neighbours(base, split, seconds=1e-9, score=0.5).scores == {64: 0.5}
    # with room, the search runs as without a bound
    roomy = choose_neighbours(base, split, seconds=1e6)
    assert roomy.scores == choose_neighbours(base, split).scores and roomy.refused == {}
