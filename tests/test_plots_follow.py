"""Figures of the Train and Compare pages: f and g apart, fronts overlaid."""

from __future__ import annotations

import pandas as pd
import pytest

from recolab import plots


def test_objective_curves_draw_loss_f_g_and_validation_apart() -> None:
    events = pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "loss": [3.0, 2.0, 1.5],
            "f": [2.0, 1.5, 1.2],
            "g": [0.5, 0.4, 0.3],
            "val_recall": [0.1, 0.2, 0.25],
        }
    )
    fig = plots.objective_curves_figure(events)
    assert [t.name for t in fig.data] == ["loss", "f", "g", "val_recall"]
    assert [t.yaxis for t in fig.data] == ["y", "y2", "y3", "y4"]  # one panel each
    assert list(fig.data[1].y) == [2.0, 1.5, 1.2]
    no_val = plots.objective_curves_figure(events.drop(columns="val_recall"))
    assert len(no_val.data) == 3
    with pytest.raises(ValueError, match="no epoch"):
        plots.objective_curves_figure(pd.DataFrame({"epoch": [1], "other": [1.0]}))


def test_compare_fronts_lines_for_fronts_markers_for_points() -> None:
    rows = pd.DataFrame(
        {
            "curve": ["A", "A", "A · ease"],
            "kind": ["run", "run", "peer"],
            "lam": [1.0, 0.0, None],
            "ndcg@10": [0.3, 0.4, 0.38],
            "coverage@20": [0.5, 0.2, 0.25],
        }
    )
    fig = plots.compare_fronts_figure(rows, "ndcg@10", "coverage@20")
    assert [t.name for t in fig.data] == ["A", "A · ease"]
    assert fig.data[0].mode == "lines+markers" and list(fig.data[0].x) == [0.4, 0.3]  # by λ
    assert fig.data[1].mode == "markers"
    with pytest.raises(ValueError, match="no row"):
        plots.compare_fronts_figure(
            rows.assign(**{"ndcg@10": float("nan")}), "ndcg@10", "coverage@20"
        )
