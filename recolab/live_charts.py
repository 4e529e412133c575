"""Vega-Lite specs of the charts that follow the Trade-offs page's sliders (no streamlit here).

Every chart keeps its data in named datasets. What moves with λ or α (the current-λ ring and
line, the k* star) is a dataset of its own, one row long, and nothing else in the spec
depends on it. The dashboard's Vega view then replaces that one dataset when a slider moves
and redraws only its marks, where a plotly figure is drawn again whole (measured in
``benchmarks/RESULTS.md``, section "dashboard").

* :func:`front_chart`: datasets ``"curve"`` (λ, x, y, non-dominated), ``"refs"`` (peer
  models, when given) and ``"now"``.
* :func:`metrics_vs_lambda_chart`: ``"curves"`` (λ, metric, shown value, raw value) and
  ``"now"``.
* :func:`cutoff_chart`: ``"curve"`` (k, recall, precision), ``"isolines"`` and ``"k_star"``.
  Its axes span a box given once for all of a model's curves (:func:`cutoff_bounds`), so
  that moving to another curve replaces ``"curve"`` and ``"k_star"`` and keeps the axes
  and the iso-lines.

``"now"`` rows carry ``label``, the text drawn beside the mark (``"λ = 0.350"``), and
``align``, its alignment: ``"left"`` (the text runs right of the mark) in the left 60 % of
the x axis, ``"right"`` further on, so that it stays inside the plot.
Validation follows :mod:`recolab.plots`: empty tables, missing columns and all-NaN data
raise :class:`ValueError`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recolab.pareto import pareto_mask
from recolab.plots import (
    axis_label,
    complete_rows,
    numeric_columns,
    reference_points,
    require_table,
)

__all__ = [
    "CURRENT_LABEL",
    "SCALE_TITLES",
    "cutoff_bounds",
    "cutoff_chart",
    "front_chart",
    "metric_curves",
    "metrics_vs_lambda_chart",
    "with_current_lam",
]

logger = logging.getLogger(__name__)

#: Text of the current-λ label: ``CURRENT_LABEL.format(lam)``.
CURRENT_LABEL = "λ = {:.3f}"
#: The metrics-vs-λ chart's y axis for each ``scale``.
SCALE_TITLES = {
    "relative": "% change from the smallest λ",
    "minmax": "value, min–max scaled per metric",
    "raw": "metric value",
}
_CURRENT = "#ff7f0e"
_GREY = "#9e9e9e"
#: The charts are drawn as SVG whatever their size, so that only changed marks are redrawn
#: and each mark stays in the page (the browser test reads the current-λ label).
_SVG = {"embedOptions": {"renderer": "svg"}}


def _q(field: str, title: str | None, **extra: Any) -> dict[str, Any]:
    """A quantitative encoding channel."""
    return {"field": field, "type": "quantitative", "title": title, **extra}


def _tip(field: str, title: str, fmt: str = ".4g") -> dict[str, Any]:
    return {"field": field, "type": "quantitative", "title": title, "format": fmt}


def _spec(title: str | dict, layers: list[dict], datasets: dict, height: int) -> dict[str, Any]:
    return {
        "title": title,
        "height": height,
        "datasets": datasets,
        "layer": layers,
        "usermeta": _SVG,
    }


def _now(lam: float, across: float, **columns: float) -> pd.DataFrame:
    """The one-row current-λ dataset; ``across`` is where the mark sits along the x axis (0
    to 1): its label runs right of the mark in the left 60 %, left of it further on."""
    return pd.DataFrame({"lam": [lam], **{k: [v] for k, v in columns.items()}}).assign(
        label=CURRENT_LABEL.format(lam), align="right" if across > 0.6 else "left"
    )


def _across(values: np.ndarray, value: float) -> float:
    """Where ``value`` sits between the smallest and largest of ``values`` (0 to 1)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    return (value - lo) / (hi - lo) if hi > lo else 0.0


def _label_layers(encoding: dict, **mark: Any) -> list[dict]:
    """The current λ's label from the ``"now"`` dataset, beside the mark on the side with
    room: one layer per alignment, of which the row's ``align`` shows one (a mark's
    alignment cannot follow the data in Vega-Lite)."""
    return [
        {
            "data": {"name": "now"},
            "transform": [{"filter": f"datum.align == '{align}'"}],
            "mark": {
                "type": "text",
                "color": _CURRENT,
                "fontWeight": "bold",
                **mark,
                "align": align,
                "dx": mark.get("dx", 0) * (1 if align == "left" else -1),
            },
            "encoding": {**encoding, "text": {"field": "label"}},
        }
        for align in ("left", "right")
    ]


def front_chart(
    df: pd.DataFrame,
    x: str,
    y: str,
    *,
    current_lam: float | None = None,
    references: pd.DataFrame | None = None,
    lam_col: str = "lam",
    maximize: tuple[bool, bool] = (True, True),
    title: str | None = None,
    height: int = 320,
) -> dict[str, Any]:
    """The λ curve of two objectives, its non-dominated points and the slider's λ.

    Parameters
    ----------
    df:
        One row per measured λ with ``lam_col``, ``x`` and ``y``; rows with NaN are left
        out (logged).
    x, y:
        Objective columns for the axes.
    current_lam:
        The slider's λ, drawn as a ring at that exact λ on the curve (interpolated between
        the two measured λ around it, clamped to the measured range) and labelled
        ``"λ = 0.350"``; ``None`` draws none.
    references:
        Peer models (popularity, EASE, ...) with a ``model`` column and ``x``/``y``, drawn
        as labelled points, one shape and colour per model; rows with NaN are left out.
    lam_col:
        Name of the λ column.
    maximize:
        Whether ``x`` and ``y`` are maximised (for the non-dominated points).
    title, height:
        Chart title (default ``"<y> vs <x>"``) and height in pixels.

    Returns
    -------
    dict
        A Vega-Lite spec with datasets ``"curve"`` (columns ``lam``, ``x``, ``y``,
        ``front``), with ``references`` ``"refs"`` (``model``, ``x``, ``y``) and, with
        ``current_lam``, ``"now"`` (``lam``, ``x``, ``y``, ``label``).

    Raises
    ------
    ValueError
        If ``df`` is empty, misses a column or has no complete row, or ``references``
        misses ``model``, ``x`` or ``y``.
    """
    what = "front_chart"
    require_table(df, [lam_col, x, y], what)
    table = complete_rows(df, [lam_col, x, y], what).sort_values(lam_col, kind="stable")
    curve = pd.DataFrame(
        {"lam": table[lam_col].to_numpy(), "x": table[x].to_numpy(), "y": table[y].to_numpy()}
    )
    points = curve[["x", "y"]].to_numpy()
    curve["front"] = pareto_mask(points, maximize=list(maximize))
    axes = {
        "x": _q("x", axis_label(x), scale={"zero": False}),
        "y": _q("y", axis_label(y), scale={"zero": False}),
    }
    tips = [_tip("lam", "λ"), _tip("x", axis_label(x)), _tip("y", axis_label(y))]
    layers = _curve_layers(axes, tips)
    datasets: dict[str, pd.DataFrame] = {"curve": curve}
    if references is not None and len(references) > 0:
        datasets["refs"] = reference_points(references, x, y, what)
        layers += _reference_layers(axes)
    if current_lam is not None and not math.isnan(float(current_lam)):
        datasets["now"] = _ring_at(curve, float(current_lam))
        layers += _ring_layers(axes, tips)
    heading = {
        "text": title or f"{axis_label(y)} vs {axis_label(x)}",
        "subtitle": "black rings: non-dominated λ; orange: the slider's λ",
    }
    return _spec(heading, layers, datasets, height)


def _curve_layers(axes: dict, tips: list[dict]) -> list[dict]:
    """The front's λ curve: a grey line in λ order, points coloured by λ, and black rings on
    the non-dominated ones (dataset ``"curve"``)."""
    return [
        {
            "data": {"name": "curve"},
            "mark": {"type": "line", "color": _GREY, "opacity": 0.7},
            "encoding": {**axes, "order": {"field": "lam"}},
        },
        {
            "data": {"name": "curve"},
            "mark": {"type": "circle", "size": 55, "opacity": 0.9},
            "encoding": {
                **axes,
                "color": _q("lam", "λ", scale={"scheme": "viridis"}),
                "tooltip": tips,
            },
        },
        {
            "data": {"name": "curve"},
            "transform": [{"filter": "datum.front"}],
            "mark": {"type": "point", "size": 190, "color": "black", "strokeWidth": 1.5},
            "encoding": {**axes, "tooltip": tips},
        },
    ]


def _reference_layers(axes: dict) -> list[dict]:
    """Peer models as labelled points, one shape and colour each (dataset ``"refs"``)."""
    model = {"field": "model", "type": "nominal", "title": None}
    return [
        {
            "data": {"name": "refs"},
            "mark": {"type": "point", "filled": True, "size": 120, "stroke": "black"},
            "encoding": {
                **axes,
                "shape": {**model, "legend": {"orient": "bottom"}},
                "color": {**model, "scale": {"scheme": "category10"}, "legend": None},
                "tooltip": [model, _tip("x", axes["x"]["title"]), _tip("y", axes["y"]["title"])],
            },
        },
        {
            "data": {"name": "refs"},
            "mark": {"type": "text", "dy": -12},
            "encoding": {**axes, "text": {"field": "model"}},
        },
    ]


def _ring_at(curve: pd.DataFrame, lam: float) -> pd.DataFrame:
    """The ``"now"`` row of a front: the point at ``lam`` on the curve, interpolated between
    the two measured λ around it (clamped to the measured range)."""
    lams = curve["lam"].to_numpy()
    at = float(np.clip(lam, lams.min(), lams.max()))
    px, py = (float(np.interp(at, lams, curve[c].to_numpy())) for c in ("x", "y"))
    return _now(at, _across(curve["x"].to_numpy(), px), x=px, y=py)


def with_current_lam(spec: dict[str, Any], lam: float) -> dict[str, Any]:
    """A copy of ``spec`` with its current-λ marks at ``lam``; ``spec`` is left unchanged.

    ``spec`` comes from :func:`front_chart` or :func:`metrics_vs_lambda_chart` built with a
    ``current_lam``; only its ``"now"`` dataset differs from building it again at ``lam``,
    so a page can build a chart once and move its marks at each slider move.

    Raises
    ------
    ValueError
        ``spec`` has no current-λ marks (built without ``current_lam``).
    """
    datasets = spec.get("datasets", {})
    if "now" not in datasets:
        raise ValueError("the chart has no current-λ marks: build it with current_lam")
    lam = float(lam)
    if "curve" in datasets:
        now = _ring_at(datasets["curve"], lam)
    else:
        now = _now(lam, _across(datasets["curves"]["lam"].to_numpy(), lam))
    return {**spec, "datasets": {**datasets, "now": now}}


def _ring_layers(axes: dict, tips: list[dict]) -> list[dict]:
    """The current λ's ring and its label, both from the ``"now"`` dataset."""
    return [
        {
            "data": {"name": "now"},
            "mark": {"type": "point", "size": 520, "color": _CURRENT, "strokeWidth": 3},
            "encoding": {**axes, "tooltip": tips},
        },
        *_label_layers(axes, dx=14, dy=-12),
    ]


def metric_curves(
    df: pd.DataFrame, metrics: Sequence[str], *, scale: str = "relative", lam_col: str = "lam"
) -> pd.DataFrame:
    """Metrics against λ in long form, scaled to share one axis.

    Metrics live on very different scales (recall ≈ 0.1, novelty ≈ 10), so by default
    (``scale="relative"``) each is its % change from its value at the smallest λ: a recall
    falling from 0.309 to 0.273 reads −11.7 %, not "1 → 0". A metric that is 0 there is
    drawn as % of its largest magnitude instead (its name says so). ``"minmax"`` scales each
    to [0, 1] (a constant one to 0.5); ``"raw"`` keeps the values.

    Returns
    -------
    pandas.DataFrame
        Columns ``lam``, ``metric`` (its :func:`recolab.plots.axis_label`), ``value`` (as
        drawn) and ``raw``, in the order of ``metrics`` then λ. A metric with no finite value
        is left out (logged).

    Raises
    ------
    ValueError
        Unknown ``scale``, no metrics, an empty table, a missing column, λ all NaN, or every
        metric all NaN.
    """
    what = "metric_curves"
    if scale not in SCALE_TITLES:
        raise ValueError(f"{what}: scale must be one of {sorted(SCALE_TITLES)}, got {scale!r}")
    metrics = list(metrics)
    if not metrics:
        raise ValueError(f"{what}: no metrics given")
    require_table(df, [lam_col, *metrics], what)
    num = numeric_columns(df, [lam_col, *metrics])
    num = num.loc[num[lam_col].notna()].sort_values(lam_col, kind="stable")
    if num.empty:
        raise ValueError(f"{what}: column {lam_col!r} is all NaN")
    parts = []
    for metric in metrics:
        part = num[[lam_col, metric]].dropna()
        part = part.loc[np.isfinite(part[metric])]
        if part.empty:
            logger.warning("%s: metric %r has no finite value; not plotted", what, metric)
            continue
        raw = part[metric].to_numpy()
        shown, suffix = _scaled(raw, scale)
        parts.append(
            pd.DataFrame(
                {
                    "lam": part[lam_col].to_numpy(),
                    "metric": axis_label(metric) + suffix,
                    "value": shown,
                    "raw": raw,
                }
            )
        )
    if not parts:
        raise ValueError(f"{what}: every metric in {metrics} is all NaN")
    return pd.concat(parts, ignore_index=True)


def _scaled(raw: np.ndarray, scale: str) -> tuple[np.ndarray, str]:
    """A metric's values as drawn under ``scale``, and a suffix for its name."""
    if scale == "raw":
        return raw, ""
    if scale == "minmax":
        lo, hi = float(raw.min()), float(raw.max())
        return ((raw - lo) / (hi - lo) if hi > lo else np.full_like(raw, 0.5)), ""
    first = float(raw[0])
    if first != 0.0:
        return 100.0 * (raw - first) / abs(first), ""
    peak = float(np.abs(raw).max())
    return (100.0 * raw / peak if peak > 0 else np.zeros_like(raw)), " (% of its largest)"


def metrics_vs_lambda_chart(
    df: pd.DataFrame,
    metrics: Sequence[str],
    current_lam: float | None = None,
    *,
    scale: str = "relative",
    lam_col: str = "lam",
    title: str | None = None,
    height: int = 360,
) -> dict[str, Any]:
    """Several metrics as curves against λ (:func:`metric_curves`), with a dashed line at
    the slider's λ labelled ``"λ = 0.350"``; the tooltip gives each metric's raw value.

    Returns
    -------
    dict
        A Vega-Lite spec with datasets ``"curves"`` (:func:`metric_curves`) and, with
        ``current_lam``, ``"now"`` (``lam``, ``label``).

    Raises
    ------
    ValueError
        As :func:`metric_curves`.
    """
    curves = metric_curves(df, metrics, scale=scale, lam_col=lam_col)
    lam_axis = _q("lam", "λ (trade-off weight)")
    layers: list[dict] = [
        {
            "data": {"name": "curves"},
            "mark": {"type": "line", "point": False},
            "encoding": {
                "x": lam_axis,
                "y": _q("value", SCALE_TITLES[scale]),
                "color": {
                    "field": "metric",
                    "type": "nominal",
                    "title": None,
                    "sort": None,
                    "scale": {"scheme": "category10"},
                    "legend": {"orient": "bottom", "columns": 3},
                },
                "tooltip": [
                    _tip("lam", "λ"),
                    {"field": "metric", "type": "nominal", "title": "metric"},
                    _tip("raw", "value"),
                ],
            },
        }
    ]
    datasets: dict[str, pd.DataFrame] = {"curves": curves}
    if current_lam is not None and not math.isnan(float(current_lam)):
        lam = float(current_lam)
        datasets["now"] = _now(lam, _across(curves["lam"].to_numpy(), lam))
        layers += [
            {
                "data": {"name": "now"},
                "mark": {"type": "rule", "color": _CURRENT, "strokeDash": [6, 4], "size": 2},
                "encoding": {"x": lam_axis},
            },
            *_label_layers({"x": lam_axis}, dx=4, y=2, baseline="top"),
        ]
    return _spec(title or "Metrics against λ", layers, datasets, height)


def cutoff_bounds(curves: Iterable[pd.DataFrame]) -> tuple[float, float]:
    """The box that holds every one of ``curves`` (tables with ``recall`` and
    ``precision``): 10 % beyond their largest recall and precision, at most 1.

    Raises
    ------
    ValueError
        If no curve has a recall or precision.
    """
    tops = [
        (float(c["recall"].max()), float(c["precision"].max()))
        for c in curves
        if not c.empty and c[["recall", "precision"]].notna().any().all()
    ]
    if not tops:
        raise ValueError("cutoff_bounds: no curve with recall and precision")
    recall, precision = np.max(np.array(tops), axis=0)
    return min(1.0, max(recall * 1.1, 1e-3)), min(1.0, max(precision * 1.1, 1e-3))


def cutoff_chart(
    curve: pd.DataFrame,
    k_star: int | None = None,
    *,
    bounds: tuple[float, float] | None = None,
    f1_levels: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    title: str | None = None,
    height: int = 360,
) -> dict[str, Any]:
    """Precision against recall along the list length k, with F1 iso-lines and k*.

    Parameters
    ----------
    curve:
        One row per cut-off with ``k``, ``precision`` and ``recall``, as
        :func:`recolab.tuning.cutoff.precision_recall_by_k` returns.
    k_star:
        The cut-off α chose (:func:`recolab.tuning.cutoff.best_cutoff`), drawn as a star
        labelled ``"k* = 12"``; ``None`` draws none.
    bounds:
        (recall, precision) at the top right of the plotted box; ``None``: this curve's
        :func:`cutoff_bounds`. Charts of one model's curves given the same bounds differ
        in their datasets only.
    f1_levels:
        F1 values of the dotted iso-lines P = F·R / (2R − F), within the plotted box.
    title, height:
        Chart title and height in pixels.

    Returns
    -------
    dict
        A Vega-Lite spec with datasets ``"curve"`` (``k``, ``recall``, ``precision``),
        ``"isolines"`` (``level``, ``recall``, ``precision``) and, with ``k_star``,
        ``"k_star"`` (``k``, ``recall``, ``precision``, ``label``).

    Raises
    ------
    ValueError
        If the table is empty, misses a column, has no complete row, ``k_star`` is not
        one of its cut-offs, or the curve leaves ``bounds``.
    """
    what = "cutoff_chart"
    require_table(curve, ["k", "precision", "recall"], what)
    table = complete_rows(curve, ["k", "precision", "recall"], what).sort_values("k")
    table = table.assign(k=table["k"].astype(int)).reset_index(drop=True)
    x_top, y_top = cutoff_bounds([table]) if bounds is None else bounds
    if table["recall"].max() > x_top or table["precision"].max() > y_top:
        raise ValueError(f"{what}: the curve leaves the box {bounds}")
    # fixed axes: another curve of the same box changes the curve's marks, not the axes
    axes = {
        "x": _q("recall", "Recall@k (validation)", scale={"domain": [0.0, float(x_top)]}),
        "y": _q("precision", "Precision@k (validation)", scale={"domain": [0.0, float(y_top)]}),
    }
    layers = _cutoff_layers(axes)
    datasets = {
        "curve": table[["k", "recall", "precision"]],
        "isolines": _isolines(f1_levels, x_top, y_top),
    }
    if k_star is not None:
        row = table.loc[table["k"] == int(k_star), ["k", "recall", "precision"]]
        if row.empty:
            raise ValueError(f"{what}: k* = {k_star} is not a cut-off of the curve")
        datasets["k_star"] = row.assign(label=f"k* = {int(k_star)}")
        layers += _k_star_layers(axes)
    return _spec(title or "Precision vs recall over the list length k", layers, datasets, height)


_CUTOFF_TIPS = [
    {"field": "k", "type": "quantitative", "title": "k"},
    _tip("recall", "recall", ".4f"),
    _tip("precision", "precision", ".4f"),
]


def _cutoff_layers(axes: dict) -> list[dict]:
    """The F1 iso-lines (dataset ``"isolines"``) and the curve over k (``"curve"``)."""
    return [
        {
            "data": {"name": "isolines"},
            "mark": {"type": "line", "color": _GREY, "strokeDash": [2, 3], "strokeWidth": 1},
            "encoding": {**axes, "detail": {"field": "level"}, "order": {"field": "recall"}},
        },
        {
            "data": {"name": "curve"},
            "mark": {"type": "line", "color": _GREY, "point": False},
            "encoding": {**axes, "order": {"field": "k"}},
        },
        {
            "data": {"name": "curve"},
            "mark": {"type": "circle", "size": 30},
            "encoding": {
                **axes,
                "color": _q("k", "k", scale={"scheme": "viridis"}),
                "tooltip": _CUTOFF_TIPS,
            },
        },
    ]


def _k_star_layers(axes: dict) -> list[dict]:
    """α's cut-off as a red diamond labelled ``"k* = 12"`` (dataset ``"k_star"``)."""
    diamond = {"type": "point", "shape": "diamond", "filled": True, "size": 260}
    return [
        {
            "data": {"name": "k_star"},
            "mark": {**diamond, "color": "#d62728"},
            "encoding": {**axes, "tooltip": _CUTOFF_TIPS},
        },
        {
            "data": {"name": "k_star"},
            "mark": {"type": "text", "align": "left", "dx": 10, "dy": -10, "fontWeight": "bold"},
            "encoding": {**axes, "text": {"field": "label"}},
        },
    ]


def _isolines(levels: Sequence[float], x_top: float, y_top: float) -> pd.DataFrame:
    """Points of equal F1 (P = F·R / (2R − F)) within the plotted box, one line per level."""
    parts = []
    for level in levels:
        r = np.linspace(level / 2 + 1e-6, 1.0, 200)
        p = level * r / (2 * r - level)
        keep = (p <= 1.0) & (r <= x_top) & (p <= y_top)
        if keep.any():
            parts.append(
                pd.DataFrame({"level": float(level), "recall": r[keep], "precision": p[keep]})
            )
    if not parts:
        return pd.DataFrame({"level": [], "recall": [], "precision": []}, dtype=float)
    return pd.concat(parts, ignore_index=True)
