"""The closed-form linear autoencoder: EASE as its special case, EDLAE/DLAE by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recolab.errors import DataError, TrainingError
from recolab.models import EASERecommender
from recolab.models.linear import (
    LinearAutoencoder,
    LinearParams,
    all_finite,
    check_solve_fits,
    solve_weights,
)
from tests.models._mixin import RecommenderContract, contract_data
from tests.models._tiny import tiny


class TestLinearContract(RecommenderContract):
    def make_model(self) -> LinearAutoencoder:
        return LinearAutoencoder(l2=2.0, dropout=0.3, user_norm=0.5, item_norm=0.2, device="cpu")


def test_all_knobs_at_zero_is_ease() -> None:
    data = contract_data()
    ease = EASERecommender(l2=3.0).fit(data)
    linear = LinearAutoencoder(l2=3.0, device="cpu").fit(data)
    np.testing.assert_allclose(linear.weights_, ease.weights_, atol=1e-6)


def test_edlae_tends_to_ease_as_dropout_vanishes() -> None:
    data = contract_data()
    ease = EASERecommender(l2=3.0).fit(data).weights_
    gaps = [
        np.abs(LinearAutoencoder(l2=3.0, dropout=p, device="cpu").fit(data).weights_ - ease).max()
        for p in (0.3, 0.03, 0.003, 1e-6)
    ]
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-5
    assert gaps[0] > 1e-2


def test_edlae_two_items_by_hand() -> None:
    # u1: x y, u2: y.  G = [[1, 1], [1, 2]]; p = 0.5 → p/(1−p) = 1, so Λ = l2 + diag(G)
    # with l2 = 1: G + Λ = [[3, 1], [1, 5]], P = 1/14 [[5, −1], [−1, 3]]
    # EDLAE (zero diagonal): B_ij = −P_ij / P_jj → B_xy = 1/3, B_yx = 1/5
    data = tiny([("u1", "x"), ("u1", "y"), ("u2", "y")], items=["x", "y"])
    model = LinearAutoencoder(l2=1.0, dropout=0.5, device="cpu").fit(data)
    np.testing.assert_allclose(model.weights_, [[0, 1 / 3], [1 / 5, 0]], rtol=1e-6)
    # DLAE (no constraint): B = I − P Λ with Λ = diag(2, 3)
    # = I − 1/14 [[10, −3], [−2, 9]] = [[4/14, 3/14], [2/14, 5/14]]
    dlae = LinearAutoencoder(l2=1.0, dropout=0.5, zero_diagonal=False, device="cpu").fit(data)
    np.testing.assert_allclose(dlae.weights_, np.array([[4, 3], [2, 5]]) / 14, rtol=1e-6)


def test_item_norm_divides_targets_by_popularity() -> None:
    # counts c = (1, 2); γ = 1: W_ij = B_ij · c_i / c_j → W_xy = 1/2 · 1/2, W_yx = 1/3 · 2
    data = tiny([("u1", "x"), ("u1", "y"), ("u2", "y")], items=["x", "y"])
    model = LinearAutoencoder(l2=1.0, item_norm=1.0, device="cpu").fit(data)
    np.testing.assert_allclose(model.weights_, [[0, 0.25], [2 / 3, 0]], rtol=1e-6)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("where", [(0, 0), (3, 1), (4, 4)])
def test_all_finite_finds_any_nan_or_infinity(bad: float, where: tuple[int, int]) -> None:
    t = torch.randn(5, 5)
    assert all_finite(t) and all_finite(torch.empty(0, 3))
    t[where] = bad
    assert not all_finite(t)


def test_weights_that_overflow_float32_are_refused() -> None:
    # item_norm = 1 on a count of 1e39 (beyond float32) scales the weights by infinity
    gram = np.array([[2.0, 1.0], [1.0, 2.0]])
    params = LinearParams(l2=1.0, item_norm=1.0)
    with pytest.raises(TrainingError, match="non-finite"):
        solve_weights(gram, np.array([1.0, 1e39]), params, torch.device("cpu"))
    assert np.isfinite(solve_weights(gram, np.array([1.0, 2.0]), params, torch.device("cpu"))).all()


def test_user_norm_weighs_gram_rows() -> None:
    # β = 1: u1 (2 items) counts 1/2, u2 (1 item) counts 1: G = [[.5, .5], [.5, 1.5]]
    # + l2 = 1: [[1.5, .5], [.5, 2.5]], P ∝ [[2.5, −.5], [−.5, 1.5]] → B_xy = 1/3, B_yx = 1/5
    data = tiny([("u1", "x"), ("u1", "y"), ("u2", "y")], items=["x", "y"])
    model = LinearAutoencoder(l2=1.0, user_norm=1.0, device="cpu").fit(data)
    np.testing.assert_allclose(model.weights_, [[0, 1 / 3], [1 / 5, 0]], rtol=1e-6)


@pytest.mark.parametrize(
    "options",
    [{"l2": 0.0}, {"l2": float("nan")}, {"dropout": 1.0}, {"user_norm": 2.0}, {"bogus": 1}],
)
def test_bad_options_are_refused(options: dict) -> None:
    with pytest.raises((ValueError, TypeError)):
        LinearAutoencoder(**options)


def test_params_round_trip() -> None:
    params = LinearParams(l2=5.0, dropout=0.1, user_norm=0.2, item_norm=0.3)
    assert LinearParams.from_dict(params.to_dict()) == params


def test_memory_is_checked_before_allocating() -> None:
    with pytest.raises(DataError, match=r"1,000,000 items needs .* GiB"):
        check_solve_fits(1_000_000, torch.device("cpu"))
    check_solve_fits(100, torch.device("cpu"))


def test_history_fold_in_matches_known_user() -> None:
    data = contract_data()
    model = LinearAutoencoder(l2=2.0, dropout=0.2, device="cpu").fit(data)
    np.testing.assert_allclose(model.score_history(model.train_[[3]]), model.score([3]), rtol=1e-6)


def test_weights_are_stored_row_major() -> None:
    # scoring reads W row by row (x_u W); a column-major W is copied by scipy on every call
    model = LinearAutoencoder(l2=2.0, dropout=0.3, device="cpu").fit(contract_data())
    assert model.weights_.flags.c_contiguous
