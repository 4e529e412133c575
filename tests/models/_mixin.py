"""The contract every recommender keeps; a model's test class inherits it in a few lines.

Usage::

    class TestMyModel(RecommenderContract):
        def make_model(self):
            return MyModel(option=1)
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import pandas as pd
import pytest

from recolab.data import InteractionData, Vocabulary, build_interactions
from recolab.errors import DataError
from recolab.models.base import Recommender

N_USERS, N_ITEMS = 12, 8
GHOST = "ghost"  # in the item vocabulary, never in training: must never be recommended


def contract_data() -> InteractionData:
    """12 users × 8 items, ~45% filled (seeded), plus a catalogue item nobody touched."""
    rng = np.random.default_rng(7)
    filled = rng.random((N_USERS, N_ITEMS)) < 0.45
    filled[np.arange(N_USERS), rng.integers(0, N_ITEMS, N_USERS)] = True  # ≥1 per user
    filled[np.arange(N_ITEMS) % N_USERS, np.arange(N_ITEMS)] = True  # ≥1 user per item
    filled[:, -1] = False  # a rare item: one user only
    filled[0, -1] = True
    users, items = np.nonzero(filled)
    frame = pd.DataFrame({"user": [f"u{u}" for u in users], "item": [f"i{i}" for i in items]})
    frame["value"] = 1.0
    item_vocab = Vocabulary.from_ids([*(f"i{i}" for i in range(N_ITEMS)), GHOST])
    user_vocab = Vocabulary.from_ids(f"u{u}" for u in range(N_USERS))
    return build_interactions(frame, kind="implicit", users=user_vocab, items=item_vocab)


class RecommenderContract(ABC):
    """Tests shared by all recommenders. Subclasses implement :meth:`make_model`."""

    @abstractmethod
    def make_model(self) -> Recommender:
        """A fresh, unfitted model with the options under test."""

    @pytest.fixture
    def data(self) -> InteractionData:
        return contract_data()

    @pytest.fixture
    def fitted(self, data: InteractionData) -> Recommender:
        return self.make_model().fit(data)

    def test_fit_returns_self(self, data: InteractionData) -> None:
        model = self.make_model()
        assert model.fit(data) is model

    def test_constructor_only_stores(self) -> None:
        model = self.make_model()
        assert not hasattr(model, "train_")
        assert not any(k.endswith("_") for k in vars(model))

    def test_fitted_attributes(self, fitted: Recommender, data: InteractionData) -> None:
        assert fitted.train_.shape == (data.n_users, data.n_items)
        assert fitted.n_items == data.n_items
        ghost = data.items.index([GHOST])[0]
        assert not fitted.candidates_[ghost]
        assert fitted.candidates_.sum() == data.n_items - 1

    def test_score_shape_and_dtype(self, fitted: Recommender, data: InteractionData) -> None:
        scores = fitted.score(np.arange(data.n_users))
        assert scores.shape == (data.n_users, data.n_items)
        assert scores.dtype == np.float32
        assert np.all(np.isfinite(scores))

    def test_recommend_shapes_and_order(self, fitted: Recommender, data: InteractionData) -> None:
        idx, val = fitted.recommend(np.arange(data.n_users), 3)
        assert idx.shape == (data.n_users, 3) and idx.dtype == np.int64
        assert val.shape == (data.n_users, 3)
        assert np.all(val[:, :-1] >= val[:, 1:])  # best first (-inf padding last)
        assert np.all((idx >= 0) == np.isfinite(val))

    def test_recommend_matches_score(self, fitted: Recommender, data: InteractionData) -> None:
        users = np.arange(data.n_users)
        idx, val = fitted.recommend(users, 2)
        scores = fitted.score(users)
        ok = idx >= 0
        np.testing.assert_allclose(val[ok], np.take_along_axis(scores, idx, 1)[ok])

    def test_excludes_seen_items(self, fitted: Recommender, data: InteractionData) -> None:
        users = np.arange(data.n_users)
        idx, _ = fitted.recommend(users, data.n_items)
        seen = data.matrix(binary=True).toarray() > 0
        for u in users:  # small: 12 users
            rec = idx[u][idx[u] >= 0]
            assert not seen[u, rec].any()
            # every unseen candidate is listed (k = all items): nothing dropped silently
            expected = np.flatnonzero(~seen[u] & fitted.candidates_)
            assert sorted(rec.tolist()) == expected.tolist()

    def test_include_seen_when_asked(self, fitted: Recommender, data: InteractionData) -> None:
        idx, _ = fitted.recommend([0], data.n_items, exclude_seen=False)
        assert sorted(idx[0][idx[0] >= 0].tolist()) == np.flatnonzero(fitted.candidates_).tolist()

    def test_never_recommends_non_candidates(
        self, fitted: Recommender, data: InteractionData
    ) -> None:
        idx, _ = fitted.recommend(np.arange(data.n_users), data.n_items, exclude_seen=False)
        rec = idx[idx >= 0]
        assert fitted.candidates_[rec].all()
        assert data.items.index([GHOST])[0] not in set(rec.tolist())

    def test_unknown_user_scores_nan(self, fitted: Recommender, data: InteractionData) -> None:
        scores = fitted.score([-1, 0, data.n_users + 5])
        assert np.isnan(scores[0]).all() and np.isnan(scores[2]).all()
        assert np.isfinite(scores[1]).all()
        idx, val = fitted.recommend([-1, 0], 3)
        assert (idx[0] == -1).all() and np.isneginf(val[0]).all()
        assert (idx[1] >= 0).any()

    def test_deterministic(self, data: InteractionData) -> None:
        users = np.arange(data.n_users)
        a = self.make_model().fit(data)
        b = self.make_model().fit(data)
        np.testing.assert_array_equal(a.score(users), b.score(users))
        np.testing.assert_array_equal(a.recommend(users, 4)[0], b.recommend(users, 4)[0])

    def test_refits_cleanly(self, data: InteractionData) -> None:
        users = np.arange(data.n_users)
        model = self.make_model().fit(data)
        first = model.score(users)
        other = data.with_frame(data.frame[data.frame["user_idx"] != 0])
        model.fit(other).fit(data)
        np.testing.assert_array_equal(model.score(users), first)

    def test_rejects_empty_training_data(self, data: InteractionData) -> None:
        empty = data.with_frame(data.frame.iloc[:0])
        with pytest.raises(DataError, match="no interactions"):
            self.make_model().fit(empty)
