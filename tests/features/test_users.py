"""User attributes → tokens: known answers on tiny frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recolab.features.users import UserAttributeEncoder


def _meta() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [18.0, 25.0, 33.0, 47.0, np.nan, 61.0],
            "job": ["student", "student", "writer", "student", "writer", "pilot"],
        },
        index=pd.Index(["a", "b", "c", "d", "e", "f"], name="user"),
    )


def test_bins_frequent_values_and_other():
    enc = UserAttributeEncoder.fit(_meta(), bins=2, min_users=2)
    # median of the five known ages is 33: bin 0 below it, bin 1 from it on
    assert enc.columns[0] == {"name": "age", "kind": "numeric", "edges": [33.0]}
    # "pilot" has one user (< 2): it shares the other token
    assert enc.columns[1] == {"name": "job", "kind": "category", "values": ["student", "writer"]}
    assert enc.tokens == ["age#0", "age#1", "job=student", "job=writer", "job=other"]
    assert enc.n_tokens == 5
    assert enc.encode_one({"age": 20, "job": "pilot"}).tolist() == [0, 4]
    assert enc.encode_one({"age": 33, "job": "writer"}).tolist() == [1, 3]
    # missing, empty or unparsable values give no token; unknown columns are ignored
    assert enc.encode_one({"age": "n/a", "job": "", "shoe": 9}).tolist() == []


def test_encode_matrix_in_id_order_with_missing_users():
    meta = _meta()
    enc = UserAttributeEncoder.fit(meta, bins=2, min_users=2)
    m = enc.encode(meta, ["f", "e", "zz"])
    assert m.shape == (3, 5)
    dense = m.toarray()
    np.testing.assert_array_equal(dense[0], [0, 1, 0, 0, 1])  # 61, pilot → other
    np.testing.assert_array_equal(dense[1], [0, 0, 0, 1, 0])  # no age, writer
    np.testing.assert_array_equal(dense[2], [0, 0, 0, 0, 0])  # unknown user: nothing


def test_round_trip_and_constant_column():
    meta = pd.DataFrame({"age": [30.0, 30.0, 30.0]}, index=["a", "b", "c"])
    enc = UserAttributeEncoder.fit(meta, bins=4)
    assert enc.tokens == ["age#0"]  # every quantile equals the minimum: one bin
    again = UserAttributeEncoder.from_dict(enc.to_dict())
    assert again == enc and again.n_tokens == 1
