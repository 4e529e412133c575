from __future__ import annotations

import numpy as np
import pytest

from recolab.errors import DataError
from recolab.models import EASERecommender
from tests.models._mixin import RecommenderContract, contract_data
from tests.models._tiny import tiny


class TestEASEContract(RecommenderContract):
    def make_model(self) -> EASERecommender:
        return EASERecommender(l2=2.0)


def test_two_items_by_hand() -> None:
    # u1: x y, u2: y.  XᵀX = [[1, 1], [1, 2]]; + λI (λ=1) = [[2, 1], [1, 3]]
    # P = 1/5 [[3, -1], [-1, 2]];  B_ij = -P_ij / P_jj → B_xy = 1/2, B_yx = 1/3
    data = tiny([("u1", "x"), ("u1", "y"), ("u2", "y")], items=["x", "y"])
    model = EASERecommender(l2=1.0).fit(data)
    np.testing.assert_allclose(model.weights_, [[0, 0.5], [1 / 3, 0]], rtol=1e-6)
    np.testing.assert_allclose(model.score([0, 1]), [[1 / 3, 0.5], [1 / 3, 0]], rtol=1e-6)


def test_optimality_conditions_on_random_data() -> None:
    # B minimises ‖X − XB‖² + λ‖B‖² s.t. diag(B) = 0: the gradient (XᵀX + λI)B − XᵀX
    # vanishes off the diagonal (the diagonal holds the Lagrange multipliers).
    data = contract_data()
    x = data.matrix(binary=True).toarray().astype(np.float64)
    lam = 3.0
    b = EASERecommender(l2=lam).fit(data).weights_.astype(np.float64)
    assert np.all(np.diag(b) == 0)
    gram = x.T @ x
    grad = (gram + lam * np.eye(len(gram))) @ b - gram
    off = ~np.eye(len(gram), dtype=bool)
    np.testing.assert_allclose(grad[off], 0.0, atol=1e-5)


def test_larger_l2_shrinks_weights() -> None:
    data = contract_data()
    small = np.abs(EASERecommender(l2=1.0).fit(data).weights_).sum()
    large = np.abs(EASERecommender(l2=100.0).fit(data).weights_).sum()
    assert large < small


def test_refuses_too_many_items() -> None:
    data = contract_data()
    with pytest.raises(DataError, match=r"exceed the limit.*GiB"):
        EASERecommender(max_items=data.n_items - 1).fit(data)


@pytest.mark.parametrize("l2", [0.0, -5.0, float("nan")])
def test_rejects_bad_l2(l2: float) -> None:
    with pytest.raises(ValueError, match="l2"):
        EASERecommender(l2=l2).fit(contract_data())
