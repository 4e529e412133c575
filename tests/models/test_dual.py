"""The dual (users × users) solve gives the primal (items × items) model's weights and scores."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recolab.data.synthetic import synthetic_interactions
from recolab.models.averaged_linear import AveragedLinearAutoencoder
from recolab.models.dual import DualFactors, prefers_dual
from recolab.models.linear import (
    LinearAutoencoder,
    LinearParams,
    gram_matrix,
    gram_strategy,
    solve_weights,
)

CPU = torch.device("cpu")
OPTIONS = [
    LinearParams(l2=3.0),
    LinearParams(l2=5.0, dropout=0.3),
    LinearParams(l2=2.0, user_norm=0.5, item_norm=0.3),
    LinearParams(l2=4.0, dropout=0.2, zero_diagonal=False, item_norm=0.5),
]


@pytest.fixture(scope="module")
def wide():
    """40 users × 120 items: the dual form's case."""
    return synthetic_interactions(40, 120, n_interactions=600, seed=3)


def primal(x: sp.csr_matrix, params: LinearParams) -> np.ndarray:
    counts = np.asarray(x.getnnz(axis=0), dtype=np.float64)
    return solve_weights(gram_matrix(x, params.user_norm), counts, params, CPU)


def test_prefers_dual_only_for_fewer_users_than_items() -> None:
    assert prefers_dual(40, 120)
    assert not prefers_dual(120, 120)
    assert not prefers_dual(0, 120)


def test_two_users_two_items_by_hand() -> None:
    # X = [[1, 1], [0, 1]], l2 = 1: G + Λ = [[2, 1], [1, 3]], P = [[3, -1], [-1, 2]] / 5,
    # so W = I − P·diag(1/diag P) = [[0, 1/2], [1/3, 0]]
    x = sp.csr_matrix(np.array([[1.0, 1.0], [0.0, 1.0]]))
    factors = DualFactors.solve(x, LinearParams(l2=1.0), CPU)
    np.testing.assert_allclose(factors.p_diag, [3 / 5, 2 / 5])
    np.testing.assert_allclose(factors.dense(), [[0.0, 0.5], [1 / 3, 0.0]], atol=1e-7)
    np.testing.assert_allclose(factors.scores(x), [[1 / 3, 0.5], [1 / 3, 0.0]])


@pytest.mark.parametrize("params", OPTIONS, ids=lambda p: f"{p.to_dict()}")
def test_dual_weights_and_scores_equal_the_primal(wide, params: LinearParams) -> None:
    x = wide.matrix(binary=True)
    w = primal(x, params)
    factors = DualFactors.solve(x, params, CPU)
    np.testing.assert_allclose(factors.dense(), w, atol=1e-6)
    np.testing.assert_allclose(factors.scores(x[:7]), x[:7] @ w, atol=1e-5)
    rows, cols = np.array([5, 0, 9]), np.array([9, 3, 5, 100])
    np.testing.assert_allclose(factors.block(rows, cols), w[np.ix_(rows, cols)], atol=1e-6)


@pytest.mark.parametrize("repeat", [0.0, 0.7])
def test_model_in_dual_form_serves_as_the_primal(wide, repeat: float) -> None:
    params = LinearParams(l2=3.0, dropout=0.1, repeat_weight=repeat)
    dual = LinearAutoencoder(params, device="cpu").fit(wide)
    with gram_strategy(gram_matrix):  # a Gram builder in place: the primal solve
        solved = LinearAutoencoder(params, device="cpu").fit(wide)
    assert dual.dual_ is not None and solved.dual_ is None
    users = np.arange(wide.n_users)
    np.testing.assert_allclose(dual.score(users), solved.score(users), atol=1e-5)
    history = sp.csr_matrix(np.eye(1, wide.n_items, 4) * 3.0)  # read as binary
    np.testing.assert_allclose(
        dual.score_history(history), solved.score_history(history), atol=1e-5
    )
    rows, cols = np.array([4, 2]), np.array([2, 4, 8])
    np.testing.assert_allclose(
        dual.weight_block(rows, cols), solved.weights_[np.ix_(rows, cols)], atol=1e-6
    )
    assert dual.recommend(users, 10)[0].tolist() == solved.recommend(users, 10)[0].tolist()
    np.testing.assert_allclose(dual.weights_, solved.weights_, atol=1e-6)  # formed on demand
    assert dual.sparsity() == pytest.approx(solved.sparsity(), abs=1e-12)


def test_repeat_weight_moves_the_dual_model_without_a_new_solve(wide) -> None:
    base = LinearAutoencoder(l2=3.0, device="cpu").fit(wide)
    weighed = base.with_repeat_weight(0.5)
    assert weighed.dual_ is base.dual_
    x = wide.matrix(binary=True)[:3]
    np.testing.assert_allclose(
        weighed.score(np.arange(3)), base.score(np.arange(3)) + 0.5 * x.toarray(), atol=1e-6
    )


def test_averaged_model_in_dual_form_is_the_mean_of_its_members(wide) -> None:
    members = [LinearParams(l2=3.0), LinearParams(l2=8.0, dropout=0.4)]
    mean = AveragedLinearAutoencoder(members, device="cpu").fit(wide)
    assert mean.dual_ is not None and len(mean.dual_) == 2
    x = wide.matrix(binary=True)
    expected = (primal(x, members[0]) + primal(x, members[1])) / 2
    np.testing.assert_allclose(mean.weights_, expected, atol=1e-6)


def test_solved_again_from_its_matrix_on_other_histories(wide) -> None:
    model = LinearAutoencoder(l2=3.0, item_norm=0.2, device="cpu").fit(wide)
    again = LinearAutoencoder.from_solve_matrix(model.solve_matrix_, wide, model.params)
    users = np.arange(wide.n_users)
    np.testing.assert_allclose(again.score(users), model.score(users), atol=1e-6)
    served = model.on_histories(wide)  # same weights, the histories given
    assert served.dual_ is model.dual_
    with pytest.raises(ValueError, match="120"):
        LinearAutoencoder.from_solve_matrix(sp.csr_matrix((3, 7)), wide, model.params)


def test_pruning_forms_the_weights_and_leaves_the_dual_form(wide) -> None:
    model = LinearAutoencoder(l2=3.0, device="cpu").fit(wide)
    pruned = model.pruned(5)
    assert pruned.dual_ is None and model.dual_ is not None
    assert (np.count_nonzero(pruned.weights_, axis=0) <= 5).all()
