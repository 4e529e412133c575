"""The precision-recall curve over the list length (recolab.plots.cutoff_curve_figure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recolab.plots import cutoff_curve_figure


def _curve() -> pd.DataFrame:
    ks = np.arange(1, 11)
    p, r = 1.0 / ks, ks / 10.0
    return pd.DataFrame({"k": ks, "precision": p, "recall": r, "f1": 2 * p * r / (p + r)})


def test_curve_iso_lines_and_k_star() -> None:
    fig = cutoff_curve_figure(_curve(), k_star=3, f1_levels=(0.2, 0.5))
    names = [t.name for t in fig.data]
    assert names == ["k curve", "F1 = 0.2", "F1 = 0.5", "k*"]
    curve = fig.data[0]
    assert list(curve.customdata) == list(range(1, 11))
    assert curve.x[0] == pytest.approx(0.1) and curve.y[0] == pytest.approx(1.0)
    star = fig.data[-1]
    assert star.x[0] == pytest.approx(0.3) and star.y[0] == pytest.approx(1 / 3)
    assert star.text[0] == "k* = 3"
    # every point of an iso-line has that F1
    iso = fig.data[1]
    x, y = np.asarray(iso.x), np.asarray(iso.y)
    assert np.allclose(2 * x * y / (x + y), 0.2)


def test_without_k_star_and_bad_input() -> None:
    assert "k*" not in [t.name for t in cutoff_curve_figure(_curve()).data]
    with pytest.raises(ValueError, match="not a cut-off"):
        cutoff_curve_figure(_curve(), k_star=11)
    with pytest.raises(ValueError, match="empty"):
        cutoff_curve_figure(_curve().iloc[:0])
    with pytest.raises(ValueError, match="missing"):
        cutoff_curve_figure(_curve().drop(columns=["recall"]))
