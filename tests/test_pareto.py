"""Known-answer tests for recolab.pareto (fronts, hypervolume, α-selection)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from recolab.pareto import (
    alpha_score,
    front_table,
    hypervolume,
    non_dominated_sort,
    normalize_alpha,
    pareto_mask,
    select_by_alpha,
)

# --------------------------------------------------------------------------- sorting


def _naive_ranks(pts: np.ndarray) -> np.ndarray:
    """Reference implementation: repeatedly take the points no remaining point dominates."""
    n = len(pts)
    ranks = np.full(n, -1)
    remaining = set(range(n))
    r = 0
    while remaining:
        front = [
            i
            for i in remaining
            if not any(
                np.all(pts[j] >= pts[i]) and np.any(pts[j] > pts[i]) for j in remaining if j != i
            )
        ]
        for i in front:
            ranks[i] = r
        remaining -= set(front)
        r += 1
    return ranks


def test_sort_2d_by_hand_with_duplicates() -> None:
    pts = np.array(
        [
            [1.0, 3.0],  # front
            [2.0, 2.0],  # front
            [3.0, 1.0],  # front
            [2.0, 2.0],  # duplicate of a front point → also front
            [1.0, 1.0],  # dominated by (1,2) too → rank 2
            [1.0, 2.0],  # dominated only by front points → rank 1
            [0.5, 0.5],  # dominated by (1,1) → rank 3
        ]
    )
    assert non_dominated_sort(pts).tolist() == [0, 0, 0, 0, 2, 1, 3]


def test_sort_weak_dominance_on_tie_in_one_objective() -> None:
    # (2, 1) vs (2, 0): equal in x, better in y → dominates.
    assert non_dominated_sort([[2, 1], [2, 0]]).tolist() == [0, 1]


def test_sort_all_equal_points_share_rank_zero() -> None:
    assert non_dominated_sort(np.ones((4, 3))).tolist() == [0, 0, 0, 0]


def test_sort_3d_by_hand() -> None:
    pts = np.array(
        [
            [1, 0, 0],
            [0, 1, 0],
            [0, 0, 1],
            [0, 0, 0],  # dominated by each of the above → 1
            [1, 1, 1],  # dominates everything else → 0
        ],
        dtype=float,
    )
    # (1,1,1) dominates the three unit vectors too, so they are rank 1, origin rank 2.
    assert non_dominated_sort(pts).tolist() == [1, 1, 1, 2, 0]


def test_sort_minimise_objective() -> None:
    # recall (max) vs model size (min)
    pts = np.array([[0.1, 10.0], [0.2, 20.0], [0.1, 30.0], [0.05, 5.0]])
    assert non_dominated_sort(pts, maximize=[True, False]).tolist() == [0, 0, 1, 0]
    # flipping the flag flips the picture: bigger size now better
    assert non_dominated_sort(pts, maximize=[True, True]).tolist() == [1, 0, 0, 2]


def test_sort_nan_rows_rank_minus_one() -> None:
    pts = np.array([[1.0, np.nan], [1.0, 1.0], [0.0, 0.0], [np.nan, np.nan]])
    ranks = non_dominated_sort(pts)
    assert ranks.tolist() == [-1, 0, 1, -1]
    assert pareto_mask(pts).tolist() == [False, True, False, False]


def test_sort_empty_and_single() -> None:
    assert non_dominated_sort(np.empty((0, 2))).tolist() == []
    assert non_dominated_sort([[3.0, 4.0]]).tolist() == [0]


def test_sort_one_dimensional_input() -> None:
    assert non_dominated_sort([3.0, 1.0, 3.0, 2.0]).tolist() == [0, 2, 0, 1]


def test_sort_bad_maximize_length() -> None:
    with pytest.raises(ValueError, match="maximize"):
        non_dominated_sort([[1, 2]], maximize=[True])


@pytest.mark.parametrize("m", [2, 3, 4])
def test_sort_matches_naive_on_random_integer_points(m: int) -> None:
    rng = np.random.default_rng(m)
    # small integer grid → many ties and duplicates
    pts = rng.integers(0, 4, size=(60, m)).astype(float)
    assert non_dominated_sort(pts).tolist() == _naive_ranks(pts).tolist()


def test_sort_blocks_agree_with_unblocked(monkeypatch: pytest.MonkeyPatch) -> None:
    import recolab.pareto as pareto

    rng = np.random.default_rng(7)
    pts = rng.normal(size=(50, 2))
    expected = non_dominated_sort(pts)
    monkeypatch.setattr(pareto, "_BLOCK", 7)
    assert non_dominated_sort(pts).tolist() == expected.tolist()


# --------------------------------------------------------------------------- hypervolume


def test_hv_2d_staircase() -> None:
    assert hypervolume([[1, 3], [2, 2], [3, 1]], reference=[0, 0]) == pytest.approx(6.0)


def test_hv_2d_dominated_and_duplicate_points_add_nothing() -> None:
    base = hypervolume([[1, 3], [2, 2], [3, 1]], [0, 0])
    more = hypervolume([[1, 3], [2, 2], [3, 1], [2, 2], [1, 1], [0.5, 2.5]], [0, 0])
    assert more == pytest.approx(base)


def test_hv_2d_reference_shift_and_points_outside() -> None:
    # ref (1, 1): boxes [1,2]x[1,2] only from (2,2); (1,3) and (3,1) touch the reference
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [1, 1]) == pytest.approx(1.0)
    # a point worse than the reference contributes nothing
    assert hypervolume([[-1, 5]], [0, 0]) == 0.0
    assert hypervolume(np.empty((0, 2)), [0, 0]) == 0.0


def test_hv_2d_minimise() -> None:
    # recall max, bytes min; ref (0, 100): (0.5, 60) → 0.5*40 = 20; (0.25, 20) → adds 0.25*40
    hv = hypervolume([[0.5, 60.0], [0.25, 20.0]], [0.0, 100.0], maximize=[True, False])
    assert hv == pytest.approx(0.5 * 40 + 0.25 * 40)


def test_hv_ignores_nan_rows() -> None:
    assert hypervolume([[1, 3], [np.nan, 9], [2, 2]], [0, 0]) == pytest.approx(5.0)


def test_hv_3d_unit_cubes() -> None:
    assert hypervolume([[1, 1, 1]], [0, 0, 0]) == pytest.approx(1.0)
    # two 2x1x1 boxes overlapping in one unit cube: 2 + 2 - 1
    assert hypervolume([[2, 1, 1], [1, 2, 1]], [0, 0, 0]) == pytest.approx(3.0)
    # corner (1,1,1) plus one cube along each axis: 4 unit cubes
    assert hypervolume([[2, 1, 1], [1, 2, 1], [1, 1, 2]], [0, 0, 0]) == pytest.approx(4.0)
    # box 2x3x4
    assert hypervolume([[2, 3, 4]], [0, 0, 0]) == pytest.approx(24.0)


def test_hv_3d_minimise_all() -> None:
    assert hypervolume([[1, 1, 1]], [2, 2, 2], maximize=[False] * 3) == pytest.approx(1.0)


def _grid_count_hv(pts: np.ndarray) -> int:
    """Exact volume for integer points and reference 0: count covered unit cells."""
    hi = int(pts.max())
    count = 0
    for i in range(1, hi + 1):
        for j in range(1, hi + 1):
            for k in range(1, hi + 1):
                if np.any((pts[:, 0] >= i) & (pts[:, 1] >= j) & (pts[:, 2] >= k)):
                    count += 1
    return count


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hv_3d_matches_cell_count_on_integer_points(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pts = rng.integers(0, 7, size=(25, 3)).astype(float)
    assert hypervolume(pts, [0, 0, 0]) == pytest.approx(_grid_count_hv(pts))


def test_hv_3d_matches_monte_carlo_on_random_points() -> None:
    rng = np.random.default_rng(123)
    pts = rng.random((30, 3))
    exact = hypervolume(pts, [0, 0, 0])
    samples = rng.random((200_000, 3))
    covered = np.zeros(len(samples), dtype=bool)
    for p in pts:
        covered |= np.all(samples <= p, axis=1)
    estimate = covered.mean()  # volume of the unit cube is 1
    se = np.sqrt(estimate * (1 - estimate) / len(samples))
    assert abs(exact - estimate) < 5 * se
    assert 0 < exact < 1


def test_hv_2d_matches_3d_with_constant_third_objective() -> None:
    rng = np.random.default_rng(5)
    pts2 = rng.random((20, 2))
    pts3 = np.column_stack([pts2, np.full(20, 2.0)])
    assert hypervolume(pts3, [0, 0, 0]) == pytest.approx(2.0 * hypervolume(pts2, [0, 0]))


def test_hv_bad_dimensions() -> None:
    with pytest.raises(ValueError, match="2 or 3"):
        hypervolume(np.ones((3, 4)), [0, 0, 0, 0])
    with pytest.raises(ValueError, match="2 or 3"):
        hypervolume(np.ones((3, 1)), [0])
    with pytest.raises(ValueError, match="reference"):
        hypervolume(np.ones((3, 2)), [0, 0, 0])
    with pytest.raises(ValueError, match="NaN"):
        hypervolume(np.ones((3, 2)), [0, np.nan])


# --------------------------------------------------------------------------- α-selection


def _table() -> pd.DataFrame:
    # λ grid where precision falls and recall rises with λ
    return pd.DataFrame(
        {
            "lam": [0.0, 0.5, 1.0, 2.0],
            "precision@20": [0.30, 0.25, 0.15, 0.05],
            "recall@20": [0.10, 0.20, 0.30, 0.35],
            "f1@20": [0.15, 0.222, 0.20, 0.0875],
        },
        index=[10, 11, 12, 13],
    )


def test_normalize_alpha() -> None:
    assert normalize_alpha([2, 0, 2]).tolist() == [0.5, 0.0, 0.5]
    for bad in ([0, 0, 0], [1, -1, 1], [1, 2], [np.nan, 1, 1]):
        with pytest.raises(ValueError):
            normalize_alpha(bad)


def test_normalize_alpha_accepts_object_with_alpha_attribute() -> None:
    @dataclass(frozen=True)
    class Weights:
        alpha: tuple[float, float, float]

    assert normalize_alpha(Weights((1.0, 3.0, 0.0))).tolist() == [0.25, 0.75, 0.0]


def test_alpha_score_by_hand() -> None:
    s = alpha_score(_table(), [1, 1, 2])
    # 0.25·P + 0.25·R + 0.5·F1 for the first row: 0.075 + 0.025 + 0.075
    assert s.loc[10] == pytest.approx(0.175)
    assert s.name == "alpha_score"
    assert list(s.index) == [10, 11, 12, 13]


def test_alpha_selection_flips_from_recall_to_precision() -> None:
    t = _table()
    assert select_by_alpha(t, [0, 1, 0]) == 13  # pure recall → largest λ
    assert select_by_alpha(t, [1, 0, 0]) == 10  # pure precision → λ = 0
    assert select_by_alpha(t, [0, 0, 1]) == 11  # pure F1 → middle
    # sweep α from recall to precision: the chosen λ never increases
    chosen = []
    for w in np.linspace(0, 1, 11):
        chosen.append(t.loc[select_by_alpha(t, [w, 1 - w, 0]), "lam"])
    assert chosen[0] == 2.0 and chosen[-1] == 0.0
    assert all(a >= b for a, b in itertools.pairwise(chosen))


def test_alpha_selection_other_k() -> None:
    t = _table().rename(columns=lambda c: c.replace("@20", "@5"))
    assert select_by_alpha(t, [0, 1, 0], k=5) == 13
    with pytest.raises(ValueError, match="recall@20"):
        select_by_alpha(t, [0, 1, 0])


def test_alpha_zero_weight_column_may_be_missing() -> None:
    t = _table().drop(columns=["f1@20"])
    assert select_by_alpha(t, [1, 0, 0]) == 10


def test_alpha_ties_go_to_smallest_lambda() -> None:
    t = pd.DataFrame(
        {
            "lam": [1.0, 0.2, 0.5],
            "precision@20": [0.2, 0.2, 0.2],
            "recall@20": [0.1, 0.1, 0.1],
            "f1@20": [0.1, 0.1, 0.1],
        }
    )
    assert select_by_alpha(t, [1, 1, 1]) == 1
    # no λ column → first row
    assert select_by_alpha(t.drop(columns=["lam"]), [1, 1, 1]) == 0


def test_alpha_nan_rows_skipped_and_all_nan_raises() -> None:
    t = _table()
    t.loc[13, "recall@20"] = np.nan
    assert select_by_alpha(t, [0, 1, 0]) == 12
    t["recall@20"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        select_by_alpha(t, [0, 1, 0])
    with pytest.raises(ValueError, match="empty"):
        select_by_alpha(t.iloc[:0], [0, 1, 0])


def test_select_by_alpha_string_index() -> None:
    t = _table().set_index(pd.Index(["a", "b", "c", "d"]))
    assert select_by_alpha(t, [0, 1, 0]) == "d"


# --------------------------------------------------------------------------- front_table


def test_front_table_adds_rank_and_flag_without_touching_input() -> None:
    df = pd.DataFrame(
        {
            "model": ["m", "m", "m", "popularity"],
            "lam": [0.0, 1.0, 2.0, np.nan],
            "recall@20": [0.3, 0.2, 0.1, 0.05],
            "model_bytes": [300, 100, 200, np.nan],
        }
    )
    out = front_table(df, {"recall@20": True, "model_bytes": False})
    assert out["rank"].tolist() == [0, 0, 1, -1]
    assert out["on_front"].tolist() == [True, True, False, False]
    assert "rank" not in df.columns
    assert out["model"].tolist() == df["model"].tolist()


def test_front_table_errors() -> None:
    df = pd.DataFrame({"a": [1.0]})
    with pytest.raises(ValueError, match="missing"):
        front_table(df, {"b": True})
    with pytest.raises(ValueError, match="at least one"):
        front_table(df, {})


def test_best_within_loss_by_hand() -> None:
    from recolab.pareto import best_within_loss

    t = pd.DataFrame(
        {
            "lam": [0.0, 0.5, 1.0, 1.5],
            "ndcg@10": [0.50, 0.52, 0.48, 0.40],
            "coverage@20": [0.20, 0.30, 0.45, 0.60],
        },
        index=[10, 11, 12, 13],
    )
    # best ndcg@10 is 0.52: 5 % → floor 0.494 keeps λ 0 and 0.5; 10 % → 0.468 adds λ 1
    assert best_within_loss(t, "coverage@20", max_loss=0.05) == 11
    assert best_within_loss(t, "coverage@20", max_loss=0.10) == 12
    assert best_within_loss(t, "coverage@20", max_loss=0.0) == 11
    assert best_within_loss(t, "coverage@20", max_loss=0.30) == 13
    # equal objective: the more accurate row wins, then the smaller λ
    tied = t.assign(**{"coverage@20": [0.3, 0.3, 0.3, 0.3]})
    assert best_within_loss(tied, "coverage@20", max_loss=1.0) == 11
    with pytest.raises(ValueError, match="max_loss"):
        best_within_loss(t, "coverage@20", max_loss=-0.1)
    with pytest.raises(ValueError, match="missing"):
        best_within_loss(t, "revenue@20")
