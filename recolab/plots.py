"""Plotly figures built from tidy DataFrames (no streamlit here; pages only display them).

Every function validates its input and raises :class:`ValueError` with a clear message for
empty tables, missing columns or all-NaN data rather than returning a broken figure. Every
figure has titled axes and hover text naming λ and the plotted quantities.

Trace names are stable so that pages and tests can find them:

* :func:`pareto_figure`: ``"λ curve"``, ``"Pareto front"``, ``"current λ"``, ``"α-selected"``,
  then one trace per reference model named after its ``model`` value.
* :func:`training_curves_figure`: one trace per loss / validation column, named by the column.
* :func:`long_tail_figure`: ``"item popularity"``.
* :func:`sparsity_curve_figure`: ``"λ curve"``.

The charts that follow the Trade-offs page's sliders (the front, metrics against λ, the
precision–recall curve over k) are Vega-Lite specs, in :mod:`recolab.live_charts`.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from recolab.pareto import pareto_mask

__all__ = [
    "axis_label",
    "head_share",
    "long_tail_figure",
    "pareto_figure",
    "revenue_front_figure",
    "sparsity_curve_figure",
    "training_curves_figure",
]

logger = logging.getLogger(__name__)

_METRIC_NAMES = {
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "ndcg": "NDCG",
    "hit_rate": "Hit rate",
    "hitrate": "Hit rate",
    "coverage": "Coverage",
    "novelty": "Novelty",
    "diversity": "Diversity",
    "exposure_equality": "Exposure equality (1 − Gini)",
    "gini": "Gini",
    "rmse": "RMSE",
    "revenue": "Revenue",
    "price_recall": "Price-weighted recall",
    "mae": "MAE",
}
_PLAIN_NAMES = {
    "lam": "λ",
    "lambda": "λ",
    "sparsity": "Sparsity (fraction of zero parameters)",
    "model_bytes": "Model size (bytes)",
    "train_seconds": "Training time (s)",
    "peak_memory_bytes": "Peak memory (bytes)",
    "epoch": "Epoch",
    "loss": "Loss",
}
_REFERENCE_SYMBOLS = ["diamond", "square", "triangle-up", "cross", "x", "pentagon", "hexagon"]
_REFERENCE_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def axis_label(column: str) -> str:
    """Readable label for a metric column name.

    Parameters
    ----------
    column:
        A column name such as ``"recall@20"``, ``"ndcg@10"``, ``"model_bytes"`` or ``"lam"``.

    Returns
    -------
    str
        E.g. ``"Recall@20"``, ``"NDCG@10"``, ``"Model size (bytes)"``, ``"λ"``; unknown names
        are returned with underscores replaced by spaces.

    Examples
    --------
    >>> axis_label("exposure_equality@20")
    'Exposure equality (1 − Gini)@20'
    >>> axis_label("val_recall@20")
    'Validation Recall@20'
    """
    if column in _PLAIN_NAMES:
        return _PLAIN_NAMES[column]
    if column.startswith("val_"):
        return "Validation " + axis_label(column[4:])
    match = re.fullmatch(r"([A-Za-z_0-9]+)@(\d+)", column)
    if match and match.group(1).lower() in _METRIC_NAMES:
        return f"{_METRIC_NAMES[match.group(1).lower()]}@{match.group(2)}"
    if column.lower() in _METRIC_NAMES:
        return _METRIC_NAMES[column.lower()]
    return column.replace("_", " ")


def require_table(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """ValueError, naming ``what``, unless ``df`` is a non-empty DataFrame with ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise ValueError(f"{what}: the table is empty")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; table has {list(df.columns)}")


def numeric_columns(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The given columns as floats (non-numbers become NaN)."""
    return pd.DataFrame(
        {c: pd.to_numeric(df[c], errors="coerce").astype(float) for c in columns}, index=df.index
    )


def complete_rows(df: pd.DataFrame, columns: Sequence[str], what: str) -> pd.DataFrame:
    """Numeric copy of ``columns`` with NaN rows dropped; ValueError if nothing is left."""
    num = numeric_columns(df, columns)
    keep = num.notna().all(axis=1) & np.isfinite(num).all(axis=1)
    dropped = int((~keep).sum())
    if dropped == len(num):
        raise ValueError(f"{what}: every row has NaN or infinite values in {list(columns)}")
    if dropped:
        logger.warning("%s: %d row(s) with NaN/inf in %s not plotted", what, dropped, columns)
    return num.loc[keep]


def _nearest_row(table: pd.DataFrame, lam_col: str, lam: float) -> pd.Series:
    """The row whose λ is closest to ``lam`` (first on ties)."""
    pos = int(np.argmin(np.abs(table[lam_col].to_numpy(dtype=float) - float(lam))))
    return table.iloc[pos]


def _hover(x: str, y: str, lam_col: str | None) -> str:
    parts = []
    if lam_col is not None:
        parts.append("λ = %{customdata:.4g}")
    parts.append(f"{axis_label(x)} = %{{x:.4g}}")
    parts.append(f"{axis_label(y)} = %{{y:.4g}}")
    return "<br>".join(parts)


def pareto_figure(
    df: pd.DataFrame,
    x: str,
    y: str,
    *,
    current_lam: float | None = None,
    selected_lam: float | None = None,
    references: pd.DataFrame | None = None,
    lam_col: str = "lam",
    maximize: tuple[bool, bool] = (True, True),
    title: str | None = None,
) -> go.Figure:
    """Trade-off plot of the λ-conditioned model against two objectives.

    Parameters
    ----------
    df:
        One row per evaluated λ with columns ``lam_col``, ``x`` and ``y``. Rows with NaN in
        any of them are left out (logged).
    x, y:
        Objective columns for the axes.
    current_lam:
        λ of the slider, drawn as a large ring (``"current λ"``) at that exact λ on the curve
        (interpolated between the two measured λ around it, clamped to the measured range).
    selected_lam:
        λ chosen by α (:func:`recolab.pareto.select_by_alpha`); the row with the nearest λ
        is drawn as a star (``"α-selected"``).
    references:
        Baseline rows (popularity, EASE, ...) with a ``model`` column and ``x``/``y``; each
        model becomes its own labelled trace with a distinct marker. Rows with NaN in ``x``
        or ``y`` are skipped (logged).
    lam_col:
        Name of the λ column.
    maximize:
        Whether ``x`` and ``y`` are maximised (for marking the non-dominated points, which
        are computed over the λ curve only).
    title:
        Figure title; defaults to ``"<y> vs <x>"``.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces in order: ``"λ curve"`` (line + markers coloured by λ), ``"Pareto front"``,
        then ``"current λ"`` and ``"α-selected"`` when given, then one trace per reference
        model.

    Raises
    ------
    ValueError
        If ``df`` is empty, misses a column, or has no row with finite ``x``, ``y`` and λ;
        or ``references`` misses ``model``, ``x`` or ``y``.
    """
    what = "pareto_figure"
    require_table(df, [lam_col, x, y], what)
    table = complete_rows(df, [lam_col, x, y], what).sort_values(lam_col, kind="stable")
    lam = table[lam_col].to_numpy()
    xs = table[x].to_numpy()
    ys = table[y].to_numpy()
    hover = _hover(x, y, lam_col)
    fig = go.Figure()
    fig.add_trace(_lambda_curve(xs, ys, lam, hover))
    front = pareto_mask(np.column_stack([xs, ys]), maximize=list(maximize))
    fig.add_trace(_front_trace(xs[front], ys[front], lam[front], hover))
    if current_lam is not None and not math.isnan(float(current_lam)):
        fig.add_trace(_current_point(float(current_lam), lam, xs, ys, hover))
    if selected_lam is not None and not math.isnan(float(selected_lam)):
        row = _nearest_row(table, lam_col, float(selected_lam))
        marker = {"size": 20, "symbol": "star", "color": "gold", "line": _ring("black", 1)}
        fig.add_trace(_marked_point((row[x], row[y], row[lam_col]), "α-selected", hover, marker))
    if references is not None and len(references) > 0:
        for trace in _reference_traces(references, x, y, what):
            fig.add_trace(trace)
    fig.update_layout(
        title={"text": title or f"{axis_label(y)} vs {axis_label(x)}"},
        xaxis_title={"text": axis_label(x)},
        yaxis_title={"text": axis_label(y)},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0.0},
        hovermode="closest",
    )
    return fig


def _front_trace(xs: np.ndarray, ys: np.ndarray, lam: np.ndarray, hover: str) -> go.Scatter:
    """The non-dominated points of the λ curve, as rings."""
    return go.Scatter(
        x=xs,
        y=ys,
        mode="markers",
        name="Pareto front",
        customdata=lam,
        hovertemplate=hover + "<extra>non-dominated</extra>",
        marker={"size": 15, "symbol": "circle-open", "color": "black", "line": {"width": 2}},
    )


def _current_point(
    current: float, lam: np.ndarray, xs: np.ndarray, ys: np.ndarray, hover: str
) -> go.Scatter:
    """The slider's λ on the curve, at the exact λ: interpolated between the two measured λ
    around it (clamped to the measured range)."""
    at = float(np.clip(current, lam.min(), lam.max()))
    point = (float(np.interp(at, lam, xs)), float(np.interp(at, lam, ys)), at)
    marker = {"size": 22, "color": "rgba(255,127,14,0.35)"}
    return _marked_point(point, "current λ", hover, {**marker, "line": _ring("#ff7f0e", 3)})


def _ring(colour: str, width: float) -> dict[str, Any]:
    return {"color": colour, "width": width}


def _lambda_curve(xs: np.ndarray, ys: np.ndarray, lam: np.ndarray, hover: str) -> go.Scatter:
    """The measured λ points joined in λ order, coloured by λ."""
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines+markers",
        name="λ curve",
        customdata=lam,
        hovertemplate=hover + "<extra>λ curve</extra>",
        line={"color": "rgba(120,120,120,0.6)", "width": 2},
        marker={
            "size": 9,
            "color": lam,
            "colorscale": "Viridis",
            "showscale": True,
            "colorbar": {"title": {"text": "λ"}, "x": 1.02},
        },
    )


def _marked_point(
    point: tuple[float, float, float], name: str, hover: str, marker: dict[str, Any]
) -> go.Scatter:
    """One highlighted point ``(x, y, λ)`` of the curve (the slider's λ, α's choice)."""
    x, y, lam = point
    return go.Scatter(
        x=[x],
        y=[y],
        mode="markers",
        name=name,
        customdata=[lam],
        hovertemplate=hover + f"<extra>{name}</extra>",
        marker=marker,
    )


def reference_points(references: pd.DataFrame, x: str, y: str, what: str) -> pd.DataFrame:
    """The reference models' points: columns ``model`` (as text), ``x`` and ``y``, in the
    table's order; rows with NaN in ``x`` or ``y`` are logged and left out."""
    require_table(references, ["model", x, y], f"{what} (references)")
    ref_xy = numeric_columns(references, [x, y])
    ok = ref_xy.notna().all(axis=1)
    if not ok.all():
        logger.warning(
            "%s: reference model(s) %s have NaN in %s/%s and are not plotted",
            what,
            references.loc[~ok, "model"].astype(str).tolist(),
            x,
            y,
        )
    return pd.DataFrame(
        {
            "model": references.loc[ok, "model"].astype(str).to_numpy(),
            "x": ref_xy.loc[ok, x].to_numpy(),
            "y": ref_xy.loc[ok, y].to_numpy(),
        }
    )


def _reference_traces(references: pd.DataFrame, x: str, y: str, what: str) -> list[go.Scatter]:
    """One labelled trace per reference model (rows with NaN in ``x`` or ``y`` logged and
    left out)."""
    points = reference_points(references, x, y, what)
    traces = []
    for i, (name, part) in enumerate(points.groupby("model", sort=False)):
        traces.append(
            go.Scatter(
                x=part["x"].to_numpy(),
                y=part["y"].to_numpy(),
                mode="markers+text",
                name=name,
                text=[name] * len(part),
                textposition="top center",
                hovertemplate=_hover(x, y, None) + f"<extra>{name}</extra>",
                marker={
                    "size": 13,
                    "symbol": _REFERENCE_SYMBOLS[i % len(_REFERENCE_SYMBOLS)],
                    "color": _REFERENCE_COLOURS[i % len(_REFERENCE_COLOURS)],
                    "line": _ring("black", 1),
                },
            )
        )
    return traces


def revenue_front_figure(
    df: pd.DataFrame,
    k: int = 20,
    *,
    accuracy: str = "ndcg@10",
    current_lam: float | None = None,
    references: pd.DataFrame | None = None,
    lam_col: str = "lam",
) -> go.Figure:
    """The front of accuracy against revenue: ``accuracy`` (default ndcg@10) over λ against
    ``revenue@k``, drawn by :func:`pareto_figure` (both maximised).

    Raises
    ------
    ValueError
        When ``df`` has no ``revenue@k`` column: the data had no prices, so there is no
        revenue to plot (evaluation reports revenue@k only when prices are known).

    Examples
    --------
    >>> rows = pd.DataFrame({"lam": [0.0, 1.0], "ndcg@10": [0.3, 0.25],
    ...                      "revenue@20": [40.0, 55.0]})
    >>> revenue_front_figure(rows).layout.xaxis.title.text
    'Revenue@20'
    """
    column = f"revenue@{int(k)}"
    if isinstance(df, pd.DataFrame) and column not in df.columns:
        raise ValueError(
            f"revenue_front_figure: no {column!r} column; revenue is measured only when the "
            "data have item prices"
        )
    return pareto_figure(
        df,
        x=column,
        y=accuracy,
        current_lam=current_lam,
        references=references,
        lam_col=lam_col,
        title=f"{axis_label(accuracy)} vs {axis_label(column)}",
    )


def _is_loss_column(col: str) -> bool:
    return col == "loss" or col.startswith("loss_") or col.endswith("_loss")


def tuning_curve_figure(events: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """The validation score of each tuning trial (markers) and the best so far (line).

    Parameters
    ----------
    events:
        Progress events of a tuning study with columns ``trial``, ``score`` and ``best``.
    title:
        Figure title.

    Raises
    ------
    ValueError
        If ``events`` misses a column or holds no finite score.
    """
    what = "tuning_curve_figure"
    require_table(events, ["trial", "score", "best"], what)
    num = numeric_columns(events, ["trial", "score", "best"]).dropna().sort_values("trial")
    if num.empty:
        raise ValueError(f"{what}: no trial with a finite score")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=num["trial"], y=num["score"], mode="markers", name="trial"))
    fig.add_trace(go.Scatter(x=num["trial"], y=num["best"], mode="lines", name="best so far"))
    fig.update_layout(
        title=title,
        xaxis_title="trial",
        yaxis_title="validation √(recall@20 · ndcg@10)",
        margin={"l": 40, "r": 10, "t": 40 if title else 10, "b": 40},
    )
    return fig


def training_curves_figure(events: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Training loss and validation metrics against the epoch.

    Parameters
    ----------
    events:
        Progress events with columns ``epoch`` and ``loss``; further loss columns (named
        ``loss_*`` or ``*_loss``, e.g. ``val_loss``) join the loss panel, every other
        ``val_*`` column is drawn in a second panel below with a shared epoch axis. Several
        rows for one epoch are averaged. NaN values (epochs without validation) are skipped
        per curve.
    title:
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        One trace per loss column (top panel, ``yaxis``) and per validation metric (bottom
        panel, ``yaxis2``); a single panel when there is no validation metric.

    Raises
    ------
    ValueError
        If ``events`` is empty, misses ``epoch`` or ``loss``, or has no finite loss value.
    """
    what = "training_curves_figure"
    require_table(events, ["epoch", "loss"], what)
    loss_cols = ["loss"] + [c for c in events.columns if c != "loss" and _is_loss_column(c)]
    val_cols = [c for c in events.columns if c.startswith("val_") and not _is_loss_column(c)]
    num = numeric_columns(events, ["epoch", *loss_cols, *val_cols])
    num = num.loc[num["epoch"].notna()]
    if num.empty or not np.isfinite(num["loss"]).any():
        raise ValueError(f"{what}: no epoch with a finite loss value")
    per_epoch = num.groupby("epoch", sort=True).mean()
    rows = 2 if val_cols else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=["Loss", "Validation metrics"][:rows],
    )
    _epoch_traces(fig, per_epoch, [loss_cols, val_cols][:rows], what)
    fig.update_yaxes(title_text="Loss", row=1, col=1)
    if rows == 2:
        fig.update_yaxes(title_text="Validation metric", row=2, col=1)
    fig.update_xaxes(title_text="Epoch", row=rows, col=1)
    if rows == 2:
        fig.update_xaxes(title_text="Epoch", row=1, col=1)
    fig.update_layout(title={"text": title or "Training curves"}, hovermode="x unified")
    return fig


def _epoch_traces(
    fig: go.Figure, per_epoch: pd.DataFrame, panels: Sequence[Sequence[str]], what: str
) -> None:
    """One line per column of each panel (subplot rows 1, 2, …) over the epochs (the index),
    finite values only; a column with none is logged and left out."""
    epochs = per_epoch.index.to_numpy()
    for row, cols in enumerate(panels, start=1):
        for col in cols:
            values = per_epoch[col].to_numpy()
            ok = np.isfinite(values)
            if not ok.any():
                logger.info("%s: column %r has no finite value; not plotted", what, col)
                continue
            label = axis_label(col)
            fig.add_trace(
                go.Scatter(
                    x=epochs[ok],
                    y=values[ok],
                    mode="lines+markers",
                    name=col,
                    hovertemplate=f"epoch %{{x}}<br>{label} = %{{y:.4g}}<extra></extra>",
                ),
                row=row,
                col=1,
            )


def _validate_counts(item_counts: np.ndarray | Sequence[float], what: str) -> np.ndarray:
    counts = np.asarray(item_counts, dtype=float).reshape(-1)
    if counts.size == 0:
        raise ValueError(f"{what}: item_counts is empty")
    if not np.isfinite(counts).all():
        raise ValueError(f"{what}: item_counts contains NaN or infinite values")
    if (counts < 0).any():
        raise ValueError(f"{what}: item_counts contains negative values")
    if counts.sum() <= 0:
        raise ValueError(f"{what}: item_counts sum to zero (no interactions)")
    return counts


def head_share(item_counts: np.ndarray | Sequence[float], fraction: float = 0.2) -> float:
    """Share of all interactions that go to the most popular ``fraction`` of items.

    The head holds ``ceil(fraction · n_items)`` items (at least one).

    Parameters
    ----------
    item_counts:
        Interactions per item (any order), non-negative and finite.
    fraction:
        Size of the head as a fraction of the catalogue, in (0, 1].

    Returns
    -------
    float
        A number in (0, 1].

    Raises
    ------
    ValueError
        On empty, NaN, negative or all-zero counts, or a fraction outside (0, 1].

    Examples
    --------
    >>> head_share([1, 1, 1, 1, 6], 0.2)
    0.6
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    counts = np.sort(_validate_counts(item_counts, "head_share"))[::-1]
    n_head = max(1, math.ceil(fraction * counts.size - 1e-9))
    return float(counts[:n_head].sum() / counts.sum())


def long_tail_figure(
    item_counts: np.ndarray | Sequence[float],
    *,
    top_fraction: float = 0.2,
    log_y: bool = False,
    title: str | None = None,
) -> go.Figure:
    """Long-tail curve: item popularity sorted in descending order.

    Parameters
    ----------
    item_counts:
        Interactions per item (any order).
    top_fraction:
        Size of the annotated head (default the top 20 % of items).
    log_y:
        Logarithmic count axis.
    title:
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        One trace ``"item popularity"`` (x = popularity rank, 1 = most popular); the head is
        shaded and an annotation states the share of interactions it holds (see
        :func:`head_share`).

    Raises
    ------
    ValueError
        On empty, NaN, negative or all-zero counts.
    """
    counts = np.sort(_validate_counts(item_counts, "long_tail_figure"))[::-1]
    share = head_share(counts, top_fraction)
    n = counts.size
    n_head = max(1, math.ceil(top_fraction * n - 1e-9))
    ranks = np.arange(1, n + 1)
    cumulative = np.cumsum(counts) / counts.sum()
    fig = go.Figure(
        go.Scatter(
            x=ranks,
            y=counts,
            mode="lines",
            name="item popularity",
            fill="tozeroy",
            customdata=cumulative,
            hovertemplate=(
                "item rank %{x}<br>interactions = %{y:,.0f}"
                "<br>top items up to here hold %{customdata:.1%} of interactions<extra></extra>"
            ),
        )
    )
    fig.add_vrect(x0=0.5, x1=n_head + 0.5, fillcolor="orange", opacity=0.15, line_width=0)
    fig.add_annotation(
        x=n_head + 0.5,
        y=1.0,
        xref="x",
        yref="paper",
        xanchor="left",
        showarrow=False,
        text=(
            f"top {top_fraction:.0%} of items ({n_head:,} of {n:,}) "
            f"hold {share:.1%} of interactions"
        ),
    )
    fig.update_layout(
        title={"text": title or "Item popularity (long tail)"},
        xaxis_title={"text": "Item rank by popularity"},
        yaxis_title={"text": "Interactions per item"},
        showlegend=False,
    )
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def sparsity_curve_figure(
    df: pd.DataFrame,
    x: str = "sparsity",
    y: str = "recall@20",
    *,
    lam_col: str = "lam",
    title: str | None = None,
) -> go.Figure:
    """Accuracy against model sparsity along the λ grid.

    Parameters
    ----------
    df:
        One row per λ with columns ``x`` and ``y`` (and ``lam_col``, optional, for hover).
    x, y:
        Columns for the axes (default sparsity and Recall@20).
    lam_col:
        λ column shown in the hover text when present.
    title:
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        One trace ``"λ curve"``, points sorted by ``x`` and joined by a line.

    Raises
    ------
    ValueError
        If ``df`` is empty, misses ``x`` or ``y``, or no row has finite ``x`` and ``y``.
    """
    what = "sparsity_curve_figure"
    require_table(df, [x, y], what)
    has_lam = lam_col in df.columns
    cols = [x, y, lam_col] if has_lam else [x, y]
    table = complete_rows(df, [x, y], what)
    if has_lam:
        table[lam_col] = numeric_columns(df.loc[table.index], [lam_col])[lam_col]
    table = table[cols].sort_values(x, kind="stable")
    fig = go.Figure(
        go.Scatter(
            x=table[x].to_numpy(),
            y=table[y].to_numpy(),
            mode="lines+markers",
            name="λ curve",
            customdata=table[lam_col].to_numpy() if has_lam else None,
            hovertemplate=_hover(x, y, lam_col if has_lam else None) + "<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": title or f"{axis_label(y)} vs {axis_label(x)}"},
        xaxis_title={"text": axis_label(x)},
        yaxis_title={"text": axis_label(y)},
    )
    return fig


#: Panels of :func:`objective_curves_figure`: column → panel title.
OBJECTIVE_PANELS = {
    "loss": "Total loss L = f + λ·g",
    "f": "f (accuracy term)",
    "g": "g (secondary objectives)",
}


def objective_curves_figure(events: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """The weighted model's epochs: the total loss, f and g each in its own panel (their
    scales differ), and the validation metrics (``val_*`` columns) in a last panel when
    there are any.

    Parameters
    ----------
    events:
        Progress events with an ``epoch`` column and at least one of ``loss``, ``f``, ``g``;
        several rows of one epoch are averaged.
    title:
        Figure title.

    Raises
    ------
    ValueError
        If ``events`` has no ``epoch`` column or no finite loss, f or g value.
    """
    what = "objective_curves_figure"
    require_table(events, ["epoch"], what)
    val_cols = [c for c in events.columns if c.startswith("val_") and not _is_loss_column(c)]
    cols = [c for c in OBJECTIVE_PANELS if c in events.columns]
    num = numeric_columns(events, ["epoch", *cols, *val_cols])
    num = num.loc[num["epoch"].notna()]
    per_epoch = num.groupby("epoch", sort=True).mean()
    panels = [[c] for c in cols if np.isfinite(per_epoch[c].to_numpy()).any()]
    if not panels:
        raise ValueError(f"{what}: no epoch with a finite loss, f or g value")
    titles = [OBJECTIVE_PANELS[p[0]] for p in panels]
    if val_cols and np.isfinite(per_epoch[val_cols].to_numpy()).any():
        panels.append(val_cols)
        titles.append("Validation metrics")
    fig = make_subplots(
        rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.06, subplot_titles=titles
    )
    _epoch_traces(fig, per_epoch, panels, what)
    fig.update_xaxes(title_text="Epoch", row=len(panels), col=1)
    fig.update_layout(
        title={"text": title or "Training curves"},
        hovermode="x unified",
        height=220 * len(panels) + 80,
    )
    return fig


def compare_fronts_figure(
    fronts: pd.DataFrame, x: str, y: str, *, title: str | None = None
) -> go.Figure:
    """Fronts of several runs and peers overlaid: one line per ``curve`` (a run's front or
    a peer re-ranker's), single points (EASE, popularity) as markers.

    Parameters
    ----------
    fronts:
        Tidy rows with columns ``curve``, ``kind`` (``"run"`` or ``"peer"``), ``lam``,
        ``x`` and ``y`` (see :func:`recolab.compare.overlay`).
    x, y:
        The metrics on the axes.
    title:
        Figure title.

    Raises
    ------
    ValueError
        If a column is missing or no row has finite ``x`` and ``y``.
    """
    what = "compare_fronts_figure"
    require_table(fronts, ["curve", "kind", x, y], what)
    fig = go.Figure()
    for curve, rows in fronts.groupby("curve", sort=False):
        rows = rows.loc[np.isfinite(numeric_columns(rows, [x, y])).all(axis=1)]
        if rows.empty:
            continue
        if "lam" in rows.columns:
            rows = rows.sort_values("lam")
        single = len(rows) == 1
        peer = (rows["kind"] == "peer").all()
        lam = rows["lam"] if "lam" in rows.columns else pd.Series(np.nan, index=rows.index)
        fig.add_trace(
            go.Scatter(
                x=rows[x],
                y=rows[y],
                mode="markers" if single else "lines+markers",
                name=str(curve),
                line={"dash": "dot" if peer else "solid"},
                marker={"symbol": "diamond" if single else "circle", "size": 11 if single else 6},
                customdata=lam.to_numpy(),
                hovertemplate=f"{curve}<br>{axis_label(x)} = %{{x:.4g}}<br>"
                f"{axis_label(y)} = %{{y:.4g}}<br>λ = %{{customdata:.3g}}<extra></extra>",
            )
        )
    if not fig.data:
        raise ValueError(f"{what}: no row with finite {x} and {y}")
    fig.update_layout(
        title=title,
        xaxis_title=axis_label(x),
        yaxis_title=axis_label(y),
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 50, "r": 10, "t": 40 if title else 10, "b": 60},
    )
    return fig
