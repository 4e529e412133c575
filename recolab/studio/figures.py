"""Moving the current-λ marks of an already built figure, so that a slider move does not
rebuild (and revalidate) the whole plotly figure.

Building the Trade-offs page's front and metrics-vs-λ figures costs tens of milliseconds of
plotly validation per move; only their current-λ marks depend on λ. The page builds each
figure once (per job, axis and cut-off) and moves the marks here, in place.
"""

from __future__ import annotations

import logging

import numpy as np
import plotly.graph_objects as go

log = logging.getLogger(__name__)

__all__ = ["move_current_lam"]

#: Trace names given by :func:`recolab.plots.pareto_figure`.
_CURVE = "λ curve"
_RING = "current λ"
#: Text of the vertical line's annotation in :func:`recolab.plots.metrics_vs_lambda_figure`.
_LINE_TEXT = "current λ = "


def _move_ring(fig: go.Figure, lam: float) -> bool:
    """The front's ring to the exact ``lam`` on the λ curve (interpolated, clamped to the
    measured λ), as :func:`recolab.plots.pareto_figure` places it."""
    ring = next((t for t in fig.data if t.name == _RING), None)
    curve = next((t for t in fig.data if t.name == _CURVE), None)
    if ring is None or curve is None or curve.customdata is None:
        return False
    lams = np.asarray(curve.customdata, dtype=float).ravel()
    xs = np.asarray(curve.x, dtype=float)
    ys = np.asarray(curve.y, dtype=float)
    at = float(np.clip(lam, lams.min(), lams.max()))
    ring.update(
        x=[float(np.interp(at, lams, xs))], y=[float(np.interp(at, lams, ys))], customdata=[at]
    )
    return True


def _move_line(fig: go.Figure, lam: float) -> bool:
    """The dashed vertical line at the current λ and its annotation, to ``lam``."""
    notes = [a for a in fig.layout.annotations if str(a.text or "").startswith(_LINE_TEXT)]
    lines = [s for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1]
    if not notes or not lines:
        return False
    for shape in lines:
        shape.update(x0=lam, x1=lam)
    for note in notes:
        note.update(x=lam, text=f"{_LINE_TEXT}{lam:.3g}")
    return True


def move_current_lam(fig: go.Figure, lam: float) -> go.Figure:
    """Move the current-λ marks of ``fig`` to ``lam``, in place; returns ``fig``.

    ``fig`` is a figure of :func:`recolab.plots.pareto_figure` (its ``"current λ"`` ring)
    or :func:`recolab.plots.metrics_vs_lambda_figure` (its dashed line and annotation),
    built with a ``current_lam`` so the marks exist; the result equals building it again
    at ``lam``.

    Raises
    ------
    ValueError
        ``fig`` has no current-λ mark to move (built without ``current_lam``).
    """
    lam = float(lam)
    moved_ring = _move_ring(fig, lam)
    moved_line = _move_line(fig, lam)
    if not (moved_ring or moved_line):
        raise ValueError("the figure has no current-λ mark: build it with current_lam")
    return fig
