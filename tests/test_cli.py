"""Shared CLI helpers."""

from __future__ import annotations

import pytest

from recolab.cli import parse_pairs
from recolab.errors import DataError


def test_parse_pairs_known_answers():
    assert parse_pairs(["user=CustomerID", " item = StockCode "], "--map", "ROLE=COLUMN") == {
        "user": "CustomerID",
        "item": "StockCode",
    }
    assert parse_pairs(["exposure=0", "novelty=1.5"], "--weights", "X=N", float) == {
        "exposure": 0.0,
        "novelty": 1.5,
    }
    assert parse_pairs(None, "--map", "ROLE=COLUMN") == {}


@pytest.mark.parametrize("bad", ["user", "=x", "user=", "exposure=lots"])
def test_parse_pairs_names_the_option(bad):
    with pytest.raises(DataError, match=r"--weights expects OBJECTIVE=NUMBER"):
        parse_pairs([bad], "--weights", "OBJECTIVE=NUMBER", float)
