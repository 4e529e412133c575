"""TunedModel.serving: weights fitted without some profiles, serving every user's history."""

from __future__ import annotations

import numpy as np
import pytest

from recolab.tuning import TuneBudget, fit_tuned
from tests.tuning.test_sparsity import clustered


def test_removed_profile_is_served_from_its_full_history() -> None:
    full = clustered()
    removed = 0  # as a defence that flagged user 0 would: its rows leave the fitted data
    fit_on = full.with_frame(full.frame.loc[full.frame["user_idx"] != removed])
    tuned = fit_tuned(
        fit_on, budget=TuneBudget(n_trials=2, seconds=3600), mechanisms=["popularity"], device="cpu"
    )
    plain = tuned.recommender()
    served = tuned.serving(full)
    history = full.matrix(binary=True)[removed]
    assert plain.train_[removed].nnz == 0 and served.train_[removed].nnz == history.nnz
    # same weights; the user's scores are its full history times W, its own items left out
    np.testing.assert_array_equal(served.base.weights_, tuned.base.weights_)
    items, _ = served.recommend([removed], 10, lam=0.0)
    expected = np.asarray(history @ tuned.base.weights_).ravel()
    expected[history.indices] = -np.inf
    assert items[0].tolist() == np.argsort(-expected, kind="stable")[:10].tolist()
    assert not set(items[0]) & set(history.indices)
    with pytest.raises(ValueError, match="do not match"):
        tuned.serving(clustered(n_clusters=5))
