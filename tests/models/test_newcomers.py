"""Users with no history (first seen after the fit, or a new user with nothing yet) are
scored by item popularity on every linear base, so their lists are the most popular items
and a small popularity penalty does not turn them upside down."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recolab.data import Vocabulary, build_interactions
from recolab.models.linear import LinearAutoencoder
from recolab.models.sparse_linear import SparseLinearAutoencoder
from recolab.rerank import ReRankedRecommender, make_reranker

# items by training users: z 3, y 2, x 1, w 0 (never seen: not a candidate)
PAIRS = [("a", "z"), ("b", "z"), ("c", "z"), ("a", "y"), ("b", "y"), ("c", "x")]


def data_with_a_newcomer():
    frame = pd.DataFrame(PAIRS, columns=["user", "item"]).assign(value=1.0)
    users = Vocabulary.from_ids(["a", "b", "c", "newcomer"])
    items = Vocabulary.from_ids(["w", "x", "y", "z"])
    return build_interactions(frame, kind="implicit", users=users, items=items)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_a_user_without_history_is_scored_by_popularity(kind: str) -> None:
    data = data_with_a_newcomer()
    model = (
        SparseLinearAutoencoder(l2=1.0, neighbours=2, device="cpu")
        if kind == "sparse"
        else LinearAutoencoder(l2=1.0, device="cpu")
    ).fit(data)
    newcomer = model.score([3])[0]
    np.testing.assert_allclose(newcomer, np.log1p([0.0, 1.0, 2.0, 3.0]) / 1000, rtol=1e-6)
    items, _ = model.recommend(np.array([3]), 3)
    assert items[0].tolist() == [3, 2, 1]  # z, y, x: w was never seen
    # a new user with nothing yet, by fold-in, is the same
    empty = model.score_history(data.matrix(binary=True)[3])
    np.testing.assert_allclose(empty[0], newcomer)
    # users with a history are scored by their items, as before
    expected = np.asarray(data.matrix(binary=True)[0] @ _dense(model)).ravel()
    np.testing.assert_allclose(model.score([0])[0], expected, rtol=1e-6)


def _dense(model: LinearAutoencoder) -> np.ndarray:
    w = model.weights_
    return w.toarray() if hasattr(w, "toarray") else w


def test_a_small_penalty_keeps_a_newcomers_list_popular() -> None:
    data = data_with_a_newcomer()
    model = ReRankedRecommender(
        LinearAutoencoder(l2=1.0, device="cpu"), make_reranker("popularity"), n_candidates=3
    ).fit(data)
    for lam in (0.0, 1e-6, 0.1):
        items, _ = model.recommend(np.array([3]), 3, lam=lam)
        assert items[0].tolist() == [3, 2, 1]  # before: the least popular first at any λ > 0
