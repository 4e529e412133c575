"""The Trade-offs page's live charts (recolab.live_charts): known answers on tiny tables, and
the property that makes them fast: a slider move changes only the one-row "now" dataset."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recolab import live_charts
from recolab.live_charts import (
    cutoff_bounds,
    cutoff_chart,
    front_chart,
    metric_curves,
    metrics_vs_lambda_chart,
    with_current_lam,
)


def _sweep() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lam": [2.0, 0.0, 0.5, 1.0],  # deliberately unsorted
            "recall@20": [0.35, 0.10, 0.20, 0.30],
            "coverage@20": [0.90, 0.30, 0.40, 0.60],
            "sparsity": [0.9, 0.0, 0.1, 0.5],
            "novelty@20": [12.0, 8.0, 9.0, 10.0],
            "model_bytes": [1e5, 1e6, 9e5, 5e5],
        }
    )


def _cutoffs() -> pd.DataFrame:
    ks = np.arange(1, 11)
    p, r = 1.0 / ks, ks / 10.0
    return pd.DataFrame({"k": ks, "precision": p, "recall": r, "f1": 2 * p * r / (p + r)})


def _static(spec: dict) -> str:
    """Everything of a spec but its "now" dataset, as the browser compares it."""
    datasets = {k: v.to_dict("list") for k, v in spec["datasets"].items() if k != "now"}
    return json.dumps({**spec, "datasets": datasets}, sort_keys=True, default=str)


def _names(spec: dict) -> list[str]:
    return [layer["data"]["name"] for layer in spec["layer"]]


# --------------------------------------------------------------------------- front


def test_front_curve_non_dominated_and_ring_at_the_exact_lam() -> None:
    df = _sweep().assign(**{"recall@20": [0.05, 0.30, 0.20, 0.10]})
    spec = front_chart(df, "coverage@20", "recall@20", current_lam=0.25)
    curve = spec["datasets"]["curve"]
    assert curve["lam"].tolist() == [0.0, 0.5, 1.0, 2.0]  # sorted by λ
    # (coverage, recall): (0.3, 0.3) (0.4, 0.2) (0.6, 0.1) (0.9, 0.05): each trades one for
    # the other, all non-dominated; make λ = 0.5 dominated and it drops out
    assert curve["front"].tolist() == [True, True, True, True]
    df.loc[df["lam"] == 0.5, "recall@20"] = 0.04
    assert front_chart(df, "coverage@20", "recall@20")["datasets"]["curve"]["front"].tolist() == [
        True,
        False,
        True,
        True,
    ]
    # λ = 0.25 is halfway between 0 and 0.5: coverage 0.35, recall 0.25
    now = spec["datasets"]["now"].iloc[0]
    assert (now["lam"], now["x"], now["y"]) == pytest.approx((0.25, 0.35, 0.25))
    assert now["label"] == "λ = 0.250"
    # coverage 0.35 of 0.3..0.9 is at 8 % of the axis: the label runs right of the ring; at
    # λ = 1.5 (coverage 0.75, 75 %) it runs left of it, inside the plot
    assert now["align"] == "left"
    moved = with_current_lam(spec, 1.5)["datasets"]["now"].iloc[0]
    assert (moved["x"], moved["align"]) == (pytest.approx(0.75), "right")
    labels = [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"]
    assert [(t["mark"]["align"], t["mark"]["dx"]) for t in labels] == [("left", 14), ("right", -14)]
    assert "now" in _names(spec)
    x_axis = spec["layer"][0]["encoding"]["x"]
    assert x_axis["title"] == "Coverage@20"


def test_front_ring_is_clamped_and_absent_without_current_lam() -> None:
    spec = front_chart(_sweep(), "coverage@20", "recall@20", current_lam=5.0)
    assert spec["datasets"]["now"]["lam"].iloc[0] == 2.0  # the largest measured λ
    bare = front_chart(_sweep(), "coverage@20", "recall@20")
    assert "now" not in bare["datasets"] and "now" not in _names(bare)


def test_front_references_one_point_per_row_nan_left_out() -> None:
    refs = pd.DataFrame(
        {
            "model": ["EASE", "popularity", "broken"],
            "coverage@20": [0.2, 0.05, np.nan],
            "recall@20": [0.31, 0.12, 0.2],
        }
    )
    spec = front_chart(_sweep(), "coverage@20", "recall@20", references=refs)
    points = spec["datasets"]["refs"]
    assert points.to_dict("list") == {
        "model": ["EASE", "popularity"],
        "x": [0.2, 0.05],
        "y": [0.31, 0.12],
    }
    assert _names(spec).count("refs") == 2  # the points and their labels
    assert "refs" not in front_chart(_sweep(), "coverage@20", "recall@20")["datasets"]
    with pytest.raises(ValueError, match="references"):
        front_chart(_sweep(), "coverage@20", "recall@20", references=refs.drop(columns="model"))


def test_front_refuses_bad_tables() -> None:
    with pytest.raises(ValueError, match="empty"):
        front_chart(_sweep().iloc[:0], "coverage@20", "recall@20")
    with pytest.raises(ValueError, match="missing"):
        front_chart(_sweep(), "diversity@20", "recall@20")
    with pytest.raises(ValueError, match="every row"):
        front_chart(_sweep().assign(**{"recall@20": np.nan}), "coverage@20", "recall@20")


@pytest.mark.parametrize("lam", [0.0, 0.3, 1.7, 9.0])
def test_moving_lam_equals_building_again_and_changes_only_now(lam: float) -> None:
    built = front_chart(_sweep(), "coverage@20", "recall@20", current_lam=0.1)
    moved = with_current_lam(built, lam)
    again = front_chart(_sweep(), "coverage@20", "recall@20", current_lam=lam)
    pd.testing.assert_frame_equal(moved["datasets"]["now"], again["datasets"]["now"])
    assert _static(moved) == _static(again) == _static(built)
    assert built["datasets"]["now"]["lam"].iloc[0] == 0.1  # the built spec is left alone
    shown = ["recall@20", "novelty@20"]
    line = metrics_vs_lambda_chart(_sweep(), shown, current_lam=0.1)
    moved = with_current_lam(line, lam)
    again = metrics_vs_lambda_chart(_sweep(), shown, current_lam=lam)
    pd.testing.assert_frame_equal(moved["datasets"]["now"], again["datasets"]["now"])
    assert _static(moved) == _static(again)
    with pytest.raises(ValueError, match="no current-λ marks"):
        with_current_lam(front_chart(_sweep(), "coverage@20", "recall@20"), lam)


# --------------------------------------------------------------------------- metrics vs λ


def test_metric_curves_relative_change() -> None:
    curves = metric_curves(_sweep(), ["recall@20", "sparsity", "model_bytes"])
    by = {name: part for name, part in curves.groupby("metric", sort=False)}
    assert list(by) == [
        "Recall@20",
        "Sparsity (fraction of zero parameters) (% of its largest)",  # 0 at the smallest λ
        "Model size (bytes)",
    ]
    recall = by["Recall@20"]
    assert recall["lam"].tolist() == [0.0, 0.5, 1.0, 2.0]
    # % change from λ = 0: recall 0.10 → 0.20, 0.30, 0.35 is +100, +200, +250 %
    assert recall["value"].tolist() == pytest.approx([0.0, 100.0, 200.0, 250.0])
    assert recall["raw"].tolist() == [0.10, 0.20, 0.30, 0.35]  # raw values for the tooltip
    # sparsity 0, 0.1, 0.5, 0.9: % of its largest; bytes 1e6 → 9e5, 5e5, 1e5: −10, −50, −90 %
    sparsity = by["Sparsity (fraction of zero parameters) (% of its largest)"]
    assert sparsity["value"].tolist() == pytest.approx([0.0, 100 / 9, 500 / 9, 100.0])
    assert by["Model size (bytes)"]["value"].tolist() == pytest.approx([0, -10, -50, -90])


def test_metric_curves_minmax_raw_constant_and_nan() -> None:
    df = _sweep().assign(**{"coverage@20": 0.4, "diversity@20": np.nan})
    minmax = metric_curves(df, ["recall@20", "coverage@20", "diversity@20"], scale="minmax")
    assert minmax["metric"].unique().tolist() == ["Recall@20", "Coverage@20"]  # NaN left out
    # min–max: recall 0.10..0.35 → (0.2 − 0.1) / 0.25 = 0.4 at λ = 0.5
    assert minmax["value"].tolist()[:4] == pytest.approx([0.0, 0.4, 0.8, 1.0])
    assert minmax["value"].tolist()[4:] == [0.5] * 4  # a constant one at 0.5
    assert metric_curves(df, ["coverage@20"])["value"].tolist() == [0.0] * 4  # no change
    assert metric_curves(df, ["novelty@20"], scale="raw")["value"].tolist() == [8, 9, 10, 12]


def test_metric_curves_errors() -> None:
    df = _sweep()
    with pytest.raises(ValueError, match="scale must be one of"):
        metric_curves(df, ["recall@20"], scale="log")
    with pytest.raises(ValueError, match="no metrics"):
        metric_curves(df, [])
    with pytest.raises(ValueError, match="missing"):
        metric_curves(df, ["ndcg@10"])
    with pytest.raises(ValueError, match="all NaN"):
        metric_curves(df.assign(**{"diversity@20": np.nan}), ["diversity@20"])
    with pytest.raises(ValueError, match="empty"):
        metric_curves(df.iloc[:0], ["recall@20"])


def test_metrics_chart_line_and_axis_titles() -> None:
    spec = metrics_vs_lambda_chart(_sweep(), ["recall@20"], current_lam=0.5, scale="minmax")
    assert spec["datasets"]["now"][["lam", "label"]].iloc[0].tolist() == [0.5, "λ = 0.500"]
    line = spec["layer"][0]["encoding"]
    assert line["x"]["title"].startswith("λ")
    assert line["y"]["title"] == live_charts.SCALE_TITLES["minmax"]
    rules = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert len(rules) == 1 and rules[0]["data"] == {"name": "now"}
    assert "now" not in metrics_vs_lambda_chart(_sweep(), ["recall@20"])["datasets"]


# --------------------------------------------------------------------------- cut-off curve


def test_cutoff_curve_iso_lines_and_k_star() -> None:
    spec = cutoff_chart(_cutoffs(), k_star=3, f1_levels=(0.2, 0.5))
    curve = spec["datasets"]["curve"]
    assert curve["k"].tolist() == list(range(1, 11))
    assert (curve["recall"].iloc[0], curve["precision"].iloc[0]) == pytest.approx((0.1, 1.0))
    star = spec["datasets"]["k_star"].iloc[0]
    assert (star["recall"], star["precision"]) == pytest.approx((0.3, 1 / 3))
    assert star["label"] == "k* = 3"
    # every point of an iso-line has its F1, inside the plotted box
    iso = spec["datasets"]["isolines"]
    assert sorted(iso["level"].unique()) == [0.2, 0.5]
    r, p = iso["recall"].to_numpy(), iso["precision"].to_numpy()
    assert np.allclose(2 * r * p / (r + p), iso["level"].to_numpy())
    assert r.max() <= 1.1 and p.max() <= 1.0


def test_cutoff_charts_of_one_box_differ_in_the_curve_only() -> None:
    base = _cutoffs()
    one = base.assign(recall=base["recall"] * 0.4, precision=base["precision"] * 0.5)
    two = base.assign(recall=base["recall"] * 0.3, precision=base["precision"] * 0.6)
    bounds = cutoff_bounds([one, two])
    assert bounds == pytest.approx((0.44, 0.66))
    a, b = (cutoff_chart(c, k_star=2, bounds=bounds) for c in (one, two))
    assert a["layer"] == b["layer"]  # same axes: the browser keeps them
    assert a["layer"][0]["encoding"]["x"]["scale"]["domain"] == pytest.approx([0.0, 0.44])
    assert a["datasets"]["isolines"].equals(b["datasets"]["isolines"])
    assert not a["datasets"]["curve"].equals(b["datasets"]["curve"])
    # alone, a curve gets its own box, 10 % beyond it
    alone = cutoff_chart(two)["layer"][0]["encoding"]
    assert alone["y"]["scale"]["domain"] == pytest.approx([0.0, 0.66])
    assert alone["x"]["scale"]["domain"] == pytest.approx([0.0, 0.33])
    with pytest.raises(ValueError, match="leaves the box"):
        cutoff_chart(one, bounds=(0.3, 0.66))
    with pytest.raises(ValueError, match="no curve"):
        cutoff_bounds([base.iloc[:0]])


def test_cutoff_without_k_star_and_bad_input() -> None:
    assert "k_star" not in cutoff_chart(_cutoffs())["datasets"]
    with pytest.raises(ValueError, match="not a cut-off"):
        cutoff_chart(_cutoffs(), k_star=11)
    with pytest.raises(ValueError, match="empty"):
        cutoff_chart(_cutoffs().iloc[:0])
    with pytest.raises(ValueError, match="missing"):
        cutoff_chart(_cutoffs().drop(columns=["recall"]))
