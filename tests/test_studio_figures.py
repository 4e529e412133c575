"""Moving the current-λ marks of a built figure equals building it again at the new λ."""

from __future__ import annotations

import pandas as pd
import pytest

from recolab import plots
from recolab.studio.figures import move_current_lam

FRONT = pd.DataFrame(
    {
        "lam": [0.0, 0.1, 0.2, 0.4],
        "recall@20": [0.30, 0.29, 0.27, 0.20],
        "coverage@20": [0.30, 0.40, 0.50, 0.70],
        "novelty@20": [9.0, 9.5, 10.0, 11.0],
    }
)


@pytest.mark.parametrize("lam", [0.0, 0.15, 0.4, 0.9])
def test_moved_front_equals_a_front_built_at_that_lam(lam: float) -> None:
    fig = plots.pareto_figure(FRONT, x="coverage@20", y="recall@20", current_lam=0.1)
    move_current_lam(fig, lam)
    again = plots.pareto_figure(FRONT, x="coverage@20", y="recall@20", current_lam=lam)
    assert fig.to_plotly_json() == again.to_plotly_json()
    ring = next(t for t in fig.data if t.name == "current λ")
    assert ring.customdata[0] == pytest.approx(min(lam, 0.4))  # clamped to the measured λ


@pytest.mark.parametrize("lam", [0.0, 0.15, 0.4])
def test_moved_line_equals_a_line_drawn_at_that_lam(lam: float) -> None:
    shown = ["recall@20", "coverage@20", "novelty@20"]
    fig = plots.metrics_vs_lambda_figure(FRONT, shown, current_lam=0.2, title="t")
    move_current_lam(fig, lam)
    again = plots.metrics_vs_lambda_figure(FRONT, shown, current_lam=lam, title="t")
    assert fig.to_plotly_json() == again.to_plotly_json()
    assert fig.layout.shapes[0].x0 == lam


def test_a_figure_without_marks_is_refused() -> None:
    fig = plots.pareto_figure(FRONT, x="coverage@20", y="recall@20")
    with pytest.raises(ValueError, match="no current-λ mark"):
        move_current_lam(fig, 0.1)
