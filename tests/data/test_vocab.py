"""Vocabulary: ids are strings, unknown ids map to -1, order is first-seen."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recolab.data.vocab import Vocabulary


def test_first_seen_order_and_string_ids():
    v = Vocabulary.from_ids(["b", "a", "b", 3])
    assert v.ids.tolist() == ["b", "a", "3"]
    assert v.index(["a", 3, "3", "zz"]).tolist() == [1, 2, 2, -1]


def test_arrays_series_and_lists_agree():
    ids = np.array([10, 20, 10, 30])
    v = Vocabulary.from_ids(ids)
    assert v.index(ids).tolist() == v.index(pd.Series(ids)).tolist() == v.index(list(ids)).tolist()
    assert v.id_of([0, 2, -1, 9]).tolist() == ["10", "30", None, None]


def test_union_keeps_indices_and_duplicates_are_refused():
    a = Vocabulary.from_ids(["x", "y"])
    u = a.union(Vocabulary.from_ids(["y", "z"]))
    assert u.ids.tolist() == ["x", "y", "z"]
    with pytest.raises(ValueError):
        Vocabulary(np.array(["x", "x"], dtype=object))
