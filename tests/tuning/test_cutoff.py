"""Known answers for the cut-off α chooses (recolab.tuning.cutoff), computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recolab.tuning.cutoff import (
    best_cutoff,
    curves_from,
    nearest_curve,
    precision_recall_by_k,
    validation_cutoffs,
)

# user 0 lists 0,1,2,3 and likes {0, 2}; user 1 lists 4,5,6,7 and likes {6, 9} (9 unlisted);
# user 2 likes nothing and is left out of the means.
TOPK = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 2, 3]])
REL = sp.csr_matrix(
    (np.ones(4), ([0, 0, 1, 1], [0, 2, 6, 9])),
    shape=(3, 10),
)


def test_curve_by_hand() -> None:
    curve = precision_recall_by_k(TOPK, REL, max_k=4)
    # user 0: hits 1,0,1,0 → P 1, 1/2, 2/3, 1/2; R 1/2, 1/2, 1, 1; F1 2/3, 1/2, 4/5, 2/3
    # user 1: hits 0,0,1,0 → P 0, 0, 1/3, 1/4; R 0, 0, 1/2, 1/2; F1 0, 0, 2/5, 1/3
    assert curve["k"].tolist() == [1, 2, 3, 4]
    assert curve["precision"].tolist() == pytest.approx([0.5, 0.25, 0.5, 0.375])
    assert curve["recall"].tolist() == pytest.approx([0.25, 0.25, 0.75, 0.75])
    assert curve["f1"].tolist() == pytest.approx([1 / 3, 0.25, 0.6, 0.5])


def test_padding_is_never_a_hit_and_still_counts_in_k() -> None:
    topk = np.array([[3, -1, -1]])
    rel = sp.csr_matrix(np.array([[0, 0, 0, 1]]))
    curve = precision_recall_by_k(topk, rel, max_k=3)
    assert curve["precision"].tolist() == pytest.approx([1.0, 0.5, 1 / 3])
    assert curve["recall"].tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_best_cutoff_by_hand() -> None:
    curve = precision_recall_by_k(TOPK, REL, max_k=4)
    assert best_cutoff(curve, (1, 0, 0)) == 1  # P ties at k = 1 and 3: the shorter list
    assert best_cutoff(curve, (0, 1, 0)) == 3  # R ties at k = 3 and 4
    assert best_cutoff(curve, (0, 0, 1)) == 3  # F1 0.6
    assert best_cutoff(curve, (1, 1, 0)) == 3  # P + R: 0.75, 0.5, 1.25, 1.125
    # only the ratio of the weights matters
    assert best_cutoff(curve, (0, 0, 5)) == best_cutoff(curve, (0, 0, 1))


def test_alpha_moves_k_on_a_longer_curve() -> None:
    # precision falls and recall rises with k: α walks k* from 1 to the end
    ks = np.arange(1, 11)
    curve = pd.DataFrame({"k": ks, "precision": 1.0 / ks, "recall": ks / 10.0})
    curve["f1"] = 2 * curve["precision"] * curve["recall"] / (curve["precision"] + curve["recall"])
    assert best_cutoff(curve, (1, 0, 0)) == 1
    assert best_cutoff(curve, (0, 1, 0)) == 10
    # F1 = 2/(k + 10/k) is largest at k = √10 → 3
    assert best_cutoff(curve, (0, 0, 1)) == 3


@pytest.mark.parametrize("alpha", [(0, 0, 0), (0.0, 0.0, 0.0)])
def test_all_zero_alpha_is_a_clear_error(alpha: tuple[float, float, float]) -> None:
    curve = precision_recall_by_k(TOPK, REL, max_k=4)
    with pytest.raises(ValueError, match="all zero"):
        best_cutoff(curve, alpha)


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="max_k"):
        precision_recall_by_k(TOPK, REL, max_k=5)
    with pytest.raises(ValueError, match="no user"):
        precision_recall_by_k(TOPK, sp.csr_matrix((3, 10)), max_k=2)
    with pytest.raises(ValueError, match="negative"):
        best_cutoff(precision_recall_by_k(TOPK, REL, max_k=4), (-1, 1, 0))
    with pytest.raises(ValueError, match="empty"):
        best_cutoff(pd.DataFrame(columns=["k", "precision", "recall", "f1"]), (1, 0, 0))


class _Valid:
    def matrix(self, binary: bool = True) -> sp.csr_matrix:
        return REL


class _Model:
    """Lists depend on λ: at λ > 0 the two halves of each list swap."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[int], int, float, bool]] = []

    def recommend(
        self, users: np.ndarray, k: int, lam: float | None = None, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append((list(users), k, float(lam or 0.0), exclude_seen))
        top = TOPK[users]
        if lam:
            top = np.concatenate([top[:, 2:], top[:, :2]], axis=1)
        return top[:, :k], np.zeros(top[:, :k].shape, dtype=np.float32)


def test_validation_cutoffs_stores_one_curve_per_lambda_and_reads_back() -> None:
    model = _Model()
    stored = validation_cutoffs(model, _Valid(), [1.0, 0.0, 0.0], max_k=4, description="v")
    # users without validation interactions are not asked for; λ deduplicated and sorted
    assert [c[0] for c in model.calls] == [[0, 1], [0, 1]]
    assert [c[2] for c in model.calls] == [0.0, 1.0] and all(c[3] for c in model.calls)
    assert stored["validation"] == "v" and stored["max_k"] == 4
    curves = curves_from(stored)
    assert [lam for lam, _ in curves] == [0.0, 1.0]
    assert curves[0][1]["f1"].tolist() == pytest.approx([1 / 3, 0.25, 0.6, 0.5], abs=1e-6)
    # at λ = 1 the lists are 2,3,0,1 and 6,7,4,5: P@1 = (1 + 1)/2
    assert curves[1][1]["precision"].iloc[0] == pytest.approx(1.0)
    lam, _curve = nearest_curve(curves, 0.7)  # type: ignore[misc]
    assert lam == 1.0
    assert nearest_curve(curves, 0.5)[0] == 0.0  # type: ignore[index]  # tie → smaller λ
    assert nearest_curve([], 0.5) is None
    assert curves_from(None) == [] and curves_from({}) == []
