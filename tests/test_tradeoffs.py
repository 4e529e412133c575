"""The Trade-offs page's reading of the fine validation front (known answers)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recolab import tradeoffs
from recolab.pipeline import fine_lambda_grid


def test_fine_grid_has_101_points_denser_near_zero() -> None:
    grid = fine_lambda_grid(2.0)
    assert len(grid) == 101 and grid[0] == 0.0 and grid[-1] == 2.0
    steps = np.diff(grid)
    assert steps[0] < steps[-1] / 50  # quadratic: the first step is 1/199 of the last
    assert sum(g <= 0.04 for g in grid) >= 14  # the range where coverage climbs fastest


def test_metrics_at_lam_interpolates_and_clamps() -> None:
    front = pd.DataFrame(
        {"lam": [1.0, 0.0, 0.5], "recall@20": [0.2, 0.3, 0.28], "diversity@20": [math.nan] * 3}
    )
    result = {"fine_front": front.to_dict("records")}
    table = tradeoffs.fine_front(result)
    assert table["lam"].tolist() == [0.0, 0.5, 1.0]
    at = tradeoffs.metrics_at_lam(table, 0.75)
    assert at["lam"] == 0.75 and at["recall@20"] == pytest.approx(0.24)
    assert math.isnan(at["diversity@20"])
    assert tradeoffs.metrics_at_lam(table, 5.0)["recall@20"] == pytest.approx(0.2)
    assert tradeoffs.baseline_row(table)["recall@20"] == pytest.approx(0.3)


def test_view_falls_back_to_the_test_front_without_a_fine_front() -> None:
    curve = pd.DataFrame({"model": ["recolab"], "lam": [0.0], "recall@20": [0.3]})
    view = tradeoffs.tradeoff_view({}, curve, pd.DataFrame())
    assert view.source == "test" and view.front is curve and view.fine.empty
    fine = tradeoffs.tradeoff_view({"fine_front": [{"lam": 0.0, "recall@20": 0.3}]}, curve, curve)
    assert fine.source == "validation" and len(fine.front) == 1
