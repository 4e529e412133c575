"""The default model's base is the mean of the near-best trials, kept only while it holds
validation accuracy; everything about it is decided on validation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from recolab.data.synthetic import synthetic_interactions
from recolab.models.averaged_linear import AveragedLinearAutoencoder
from recolab.models.linear import LinearAutoencoder
from recolab.tuning import TuneBudget, fit_tuned, tune_linear, validation_split
from recolab.tuning.select import (
    ACCURACY_TOLERANCE,
    _first_base,
    candidate_bases,
    fit_base,
)
from recolab.tuning.sparsity import validation_score


@pytest.fixture(scope="module")
def study() -> tuple:
    data = synthetic_interactions(300, 80, n_interactions=4000, seed=5)
    split = validation_split(data, seed=0)
    tuning = tune_linear(split, budget=TuneBudget(6, 600), seed=0, device="cpu")
    return data, split, tuning


def test_the_mean_is_kept_within_the_tolerance_of_the_best_trial(study: tuple) -> None:
    _, split, tuning = study
    members = [{k: float(t[k]) for k in tuning.values} for t in tuning.trials[:3]]
    # a best score the mean reaches: the mean of all three is the base
    reachable = replace(tuning, score=0.0)
    kept, base, score = _first_base(reachable, members, split, "cpu")
    assert kept == members and isinstance(base, AveragedLinearAutoencoder)
    assert score == pytest.approx(validation_score(base, split))
    # a best score 10 % above the mean's: the best trial alone
    above = replace(tuning, score=score / (1.0 - ACCURACY_TOLERANCE) * 1.1)
    kept, base, single_score = _first_base(above, members, split, "cpu")
    assert kept == members[:1] and type(base) is LinearAutoencoder
    alone = fit_base(members[:1], split.fit, device="cpu")
    np.testing.assert_array_equal(base.weights_, alone.weights_)
    assert single_score == pytest.approx(validation_score(alone, split))


def test_fit_tuned_serves_the_chosen_base_and_says_which_trials_it_averages(
    study: tuple,
) -> None:
    data = study[0]
    tuned = fit_tuned(
        data, budget=TuneBudget(6, 600), seed=0, device="cpu", mechanisms=["popularity"]
    )
    # this study has two trials within 0.5 % of the best (0.6294 and 0.6287): their mean
    # is the base, it holds validation, and its front is larger than the plain EASE's
    first = candidate_bases(tuned.tuning)[0]
    assert len(first) == 2 and tuned.members == first
    assert isinstance(tuned.base, AveragedLinearAutoencoder) and len(tuned.base.members) == 2
    summary = tuned.summary()["base"]
    assert summary["members"] == tuned.members and summary["trial"] == tuned.members[0]
    assert summary["validation_score"] == tuned.base_score
    assert tuned.base_score >= (1.0 - ACCURACY_TOLERANCE) * tuned.tuning.score
    # refitted on the whole training data with the same trials (l2 scaled to it)
    again = fit_base(tuned.members, data, tuned.base.params.top_k, device="cpu")
    np.testing.assert_allclose(again.weights_, tuned.base.weights_, atol=1e-6)
