"""top_k: order, padding and ties."""

from __future__ import annotations

import numpy as np

from recolab.models.base import top_k


def test_ties_go_to_the_lower_index():
    scores = np.array([[1.0, 3.0, 3.0, 3.0, 0.0, 3.0]], dtype=np.float32)
    idx, val = top_k(scores, 2)
    assert idx.tolist() == [[1, 2]]
    assert val.tolist() == [[3.0, 3.0]]


def test_matches_a_stable_sort_on_many_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(50, 40)).astype(np.float32)
    idx, _ = top_k(scores, 7)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :7]
    np.testing.assert_array_equal(idx, expected)


def test_padding_for_short_rows():
    scores = np.array([[-np.inf, 2.0, -np.inf]], dtype=np.float32)
    idx, val = top_k(scores, 3)
    assert idx.tolist() == [[1, -1, -1]]
    assert val[0, 0] == 2.0 and np.isneginf(val[0, 1:]).all()
