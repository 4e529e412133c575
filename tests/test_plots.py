"""Tests for recolab.plots: traces, axis titles, highlighted points and input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from recolab.pareto import select_by_alpha
from recolab.plots import (
    axis_label,
    head_share,
    long_tail_figure,
    pareto_figure,
    sparsity_curve_figure,
    training_curves_figure,
)


def _sweep() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lam": [2.0, 0.0, 0.5, 1.0],  # deliberately unsorted
            "precision@20": [0.05, 0.30, 0.25, 0.15],
            "recall@20": [0.35, 0.10, 0.20, 0.30],
            "f1@20": [0.0875, 0.15, 0.222, 0.20],
            "sparsity": [0.9, 0.0, 0.1, 0.5],
            "novelty@20": [12.0, 8.0, 9.0, 10.0],
            "model_bytes": [1e5, 1e6, 9e5, 5e5],
        }
    )


def _refs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": ["popularity", "EASE"],
            "precision@20": [0.10, 0.32],
            "recall@20": [0.05, 0.25],
        }
    )


def _trace(fig: go.Figure, name: str) -> go.Scatter:
    matches = [t for t in fig.data if t.name == name]
    assert len(matches) == 1, f"expected one trace named {name!r}, got {[t.name for t in fig.data]}"
    return matches[0]


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("column", "label"),
    [
        ("recall@20", "Recall@20"),
        ("ndcg@10", "NDCG@10"),
        ("f1@20", "F1@20"),
        ("lam", "λ"),
        ("model_bytes", "Model size (bytes)"),
        ("val_precision@10", "Validation Precision@10"),
        ("some_other", "some other"),
    ],
)
def test_axis_label(column: str, label: str) -> None:
    assert axis_label(column) == label


# --------------------------------------------------------------------------- pareto_figure


def test_pareto_figure_traces_axes_and_highlights() -> None:
    df = _sweep()
    chosen = select_by_alpha(df, [0, 0, 1])  # F1 → λ = 0.5
    fig = pareto_figure(
        df,
        "recall@20",
        "precision@20",
        current_lam=1.0,
        selected_lam=df.loc[chosen, "lam"],
        references=_refs(),
    )
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == [
        "λ curve",
        "Pareto front",
        "current λ",
        "α-selected",
        "popularity",
        "EASE",
    ]
    assert fig.layout.xaxis.title.text == "Recall@20"
    assert fig.layout.yaxis.title.text == "Precision@20"
    assert fig.layout.title.text

    curve = _trace(fig, "λ curve")
    assert list(curve.customdata) == [0.0, 0.5, 1.0, 2.0]  # sorted by λ
    assert list(curve.x) == [0.10, 0.20, 0.30, 0.35]
    assert list(curve.marker.color) == [0.0, 0.5, 1.0, 2.0]
    assert "λ" in curve.hovertemplate and "Recall@20" in curve.hovertemplate

    current = _trace(fig, "current λ")
    row = df.loc[df["lam"] == 1.0].iloc[0]
    assert (current.x[0], current.y[0]) == (row["recall@20"], row["precision@20"])
    assert current.marker.size > curve.marker.size

    star = _trace(fig, "α-selected")
    assert star.marker.symbol == "star"
    assert (star.x[0], star.y[0]) == (df.loc[chosen, "recall@20"], df.loc[chosen, "precision@20"])

    ease = _trace(fig, "EASE")
    assert (ease.x[0], ease.y[0]) == (0.25, 0.32)
    assert list(ease.text) == ["EASE"]
    assert ease.marker.symbol != _trace(fig, "popularity").marker.symbol


def test_pareto_figure_front_marks_non_dominated_points() -> None:
    df = pd.DataFrame({"lam": [0, 1, 2, 3], "a": [1.0, 2.0, 3.0, 1.5], "b": [3.0, 2.0, 1.0, 1.5]})
    fig = pareto_figure(df, "a", "b")
    front = _trace(fig, "Pareto front")
    assert sorted(zip(front.x, front.y, strict=True)) == [(1, 3), (2, 2), (3, 1)]
    assert len(fig.data) == 2  # no current/selected/references
    # minimising b: (3, 1) is best in both objectives and dominates every other point
    fig = pareto_figure(df, "a", "b", maximize=(True, False))
    front = _trace(fig, "Pareto front")
    assert sorted(zip(front.x, front.y, strict=True)) == [(3, 1)]


def test_pareto_figure_current_lambda_sits_at_the_exact_lambda() -> None:
    # 0.6 lies a fifth of the way from λ 0.5 (0.20, 0.25) to λ 1.0 (0.30, 0.15): no snapping
    fig = pareto_figure(_sweep(), "recall@20", "precision@20", current_lam=0.6)
    current = _trace(fig, "current λ")
    assert current.customdata[0] == 0.6
    assert current.x[0] == pytest.approx(0.22) and current.y[0] == pytest.approx(0.23)
    beyond = _trace(
        pareto_figure(_sweep(), "recall@20", "precision@20", current_lam=9.0), "current λ"
    )
    assert beyond.customdata[0] == 2.0 and beyond.x[0] == pytest.approx(0.35)  # clamped


def test_pareto_figure_drops_nan_rows_and_nan_references() -> None:
    df = _sweep()
    df.loc[0, "recall@20"] = np.nan
    refs = pd.concat([_refs(), pd.DataFrame({"model": ["broken"], "precision@20": [np.nan]})])
    fig = pareto_figure(df, "recall@20", "precision@20", references=refs)
    assert len(_trace(fig, "λ curve").x) == 3
    assert "broken" not in [t.name for t in fig.data]


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame(columns=["lam", "recall@20", "precision@20"]), "empty"),
        (pd.DataFrame({"lam": [0.0], "recall@20": [0.1]}), "missing"),
        (
            pd.DataFrame({"lam": [0.0, 1.0], "recall@20": [np.nan] * 2, "precision@20": [1, 2]}),
            "NaN",
        ),
    ],
)
def test_pareto_figure_bad_input(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pareto_figure(frame, "recall@20", "precision@20")


def test_pareto_figure_references_need_model_column() -> None:
    with pytest.raises(ValueError, match="model"):
        pareto_figure(
            _sweep(), "recall@20", "precision@20", references=_refs().drop(columns="model")
        )


# --------------------------------------------------------------------------- training curves


def test_training_curves_two_panels() -> None:
    events = pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "loss": [1.0, 0.5, 0.4],
            "val_loss": [1.1, np.nan, 0.6],
            "val_recall@20": [0.1, 0.2, 0.25],
            "elapsed": [1.0, 2.0, 3.0],  # not a curve
        }
    )
    fig = training_curves_figure(events)
    assert [t.name for t in fig.data] == ["loss", "val_loss", "val_recall@20"]
    axes = {t.name: t.yaxis for t in fig.data}
    assert axes == {"loss": "y", "val_loss": "y", "val_recall@20": "y2"}
    assert list(fig.data[1].x) == [1, 3]  # NaN epoch skipped
    assert fig.layout.yaxis.title.text == "Loss"
    assert fig.layout.yaxis2.title.text == "Validation metric"
    assert fig.layout.xaxis2.title.text == "Epoch"


def test_training_curves_loss_only_and_duplicate_epochs_averaged() -> None:
    events = pd.DataFrame({"epoch": [1, 1, 2], "loss": [1.0, 3.0, 1.0]})
    fig = training_curves_figure(events)
    assert len(fig.data) == 1
    assert list(fig.data[0].x) == [1, 2]
    assert list(fig.data[0].y) == [2.0, 1.0]
    assert fig.layout.xaxis.title.text == "Epoch"
    assert fig.layout.yaxis.title.text == "Loss"


def test_training_curves_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        training_curves_figure(pd.DataFrame(columns=["epoch", "loss"]))
    with pytest.raises(ValueError, match="missing"):
        training_curves_figure(pd.DataFrame({"epoch": [1]}))
    with pytest.raises(ValueError, match="finite loss"):
        training_curves_figure(pd.DataFrame({"epoch": [1, 2], "loss": [np.nan, np.nan]}))


# --------------------------------------------------------------------------- long tail


def test_head_share_by_hand() -> None:
    assert head_share([1, 1, 1, 1, 6]) == pytest.approx(0.6)  # top 1 of 5 items
    assert head_share([5, 0, 3, 2, 0, 0, 0, 0, 0, 0]) == pytest.approx(0.8)  # top 2 of 10
    assert head_share([2, 2, 2], 1.0) == pytest.approx(1.0)
    # 0.2 · 15 = 3 items exactly despite float rounding
    assert head_share([1] * 15) == pytest.approx(3 / 15)
    with pytest.raises(ValueError, match="fraction"):
        head_share([1, 2], 0.0)


def test_long_tail_figure_sorted_and_annotated() -> None:
    counts = np.array([1, 6, 1, 1, 1])
    fig = long_tail_figure(counts)
    assert len(fig.data) == 1
    trace = fig.data[0]
    assert list(trace.x) == [1, 2, 3, 4, 5]
    assert list(trace.y) == [6, 1, 1, 1, 1]
    assert trace.customdata[-1] == pytest.approx(1.0)
    texts = [a.text for a in fig.layout.annotations]
    assert any("20%" in t and "60.0%" in t for t in texts)
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert long_tail_figure(counts, log_y=True).layout.yaxis.type == "log"


@pytest.mark.parametrize(
    ("counts", "match"),
    [([], "empty"), ([1, np.nan], "NaN"), ([1, -1], "negative"), ([0, 0], "zero")],
)
def test_long_tail_bad_input(counts: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        long_tail_figure(np.asarray(counts, dtype=float))


# --------------------------------------------------------------------------- sparsity curve


def test_sparsity_curve_sorted_with_lambda_hover() -> None:
    df = _sweep()
    df.loc[3, "sparsity"] = np.nan  # dropped
    fig = sparsity_curve_figure(df)
    assert len(fig.data) == 1
    trace = fig.data[0]
    assert list(trace.x) == [0.0, 0.1, 0.9]
    assert list(trace.y) == [0.10, 0.20, 0.35]
    assert list(trace.customdata) == [0.0, 0.5, 2.0]
    assert "λ" in trace.hovertemplate
    assert fig.layout.xaxis.title.text == "Sparsity (fraction of zero parameters)"
    assert fig.layout.yaxis.title.text == "Recall@20"


def test_sparsity_curve_without_lambda_and_errors() -> None:
    df = _sweep().drop(columns="lam")
    fig = sparsity_curve_figure(df, y="precision@20")
    assert "λ" not in fig.data[0].hovertemplate
    with pytest.raises(ValueError, match="missing"):
        sparsity_curve_figure(df, y="ndcg@10")
    df["sparsity"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sparsity_curve_figure(df)
