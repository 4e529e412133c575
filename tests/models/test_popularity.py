from __future__ import annotations

import numpy as np

from recolab.models import PopularityRecommender
from tests.models._mixin import RecommenderContract
from tests.models._tiny import tiny


class TestPopularityContract(RecommenderContract):
    def make_model(self) -> PopularityRecommender:
        return PopularityRecommender()


def test_counts_distinct_users_per_item() -> None:
    # c: 3 users, a: 2 users, b: 1 user (a repeated pair counts once), d: catalogue only
    data = tiny(
        [("u1", "a"), ("u1", "c"), ("u2", "a"), ("u2", "c"), ("u3", "c"), ("u3", "b"), ("u3", "b")],
        items=["a", "b", "c", "d"],
    )
    model = PopularityRecommender().fit(data)
    assert model.item_users_.tolist() == [2.0, 1.0, 3.0, 0.0]
    np.testing.assert_array_equal(model.score([0, 2]), [[2, 1, 3, 0], [2, 1, 3, 0]])


def test_ranks_by_popularity_minus_own_items() -> None:
    data = tiny(
        [("u1", "a"), ("u1", "c"), ("u2", "a"), ("u2", "c"), ("u3", "c"), ("u3", "b")],
        items=["a", "b", "c", "d"],
    )
    model = PopularityRecommender().fit(data)
    idx, val = model.recommend(data.users.index(["u1", "u2", "u3"]), 3)
    # u1 and u2 saw a and c: only b is left (d has no training user: not a candidate)
    assert idx.tolist() == [[1, -1, -1], [1, -1, -1], [0, -1, -1]]
    assert val[2, 0] == 2.0


def test_ties_break_by_lower_index() -> None:
    data = tiny([("u1", "a"), ("u2", "b"), ("u3", "c"), ("u4", "a"), ("u4", "b")])
    model = PopularityRecommender().fit(data)
    idx, _ = model.recommend(data.users.index(["u3"]), 3)
    assert idx.tolist() == [[0, 1, -1]]  # a and b tie at 2 users: a (index 0) first
