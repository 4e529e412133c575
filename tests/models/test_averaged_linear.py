"""The mean of several linear autoencoders: its weights, pruning, memory plan and fold-in."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import recolab.models.sparse_linear as sparse_linear
from recolab.models.averaged_linear import AveragedLinearAutoencoder, make_base
from recolab.models.linear import LinearAutoencoder, LinearParams, prune_top_k
from recolab.models.sparse_linear import SparseLinearAutoencoder
from tests.models._mixin import RecommenderContract, contract_data

MEMBERS = [
    LinearParams(l2=2.0, dropout=0.3),
    LinearParams(l2=5.0, user_norm=0.5, item_norm=0.2),
    LinearParams(l2=1.0, zero_diagonal=False, dropout=0.5),
]


class TestAveragedContract(RecommenderContract):
    def make_model(self) -> AveragedLinearAutoencoder:
        return AveragedLinearAutoencoder(MEMBERS, device="cpu")


def test_weights_are_the_mean_of_the_members_weights() -> None:
    data = contract_data()
    singles = [LinearAutoencoder(p, device="cpu").fit(data).weights_ for p in MEMBERS]
    mean = AveragedLinearAutoencoder(MEMBERS, device="cpu").fit(data)
    np.testing.assert_allclose(mean.weights_, np.mean(singles, axis=0), rtol=1e-5, atol=1e-7)
    assert mean.params == MEMBERS[0] and mean.members == tuple(MEMBERS)


def test_scores_are_the_mean_of_the_members_scores() -> None:
    data = contract_data()
    users = np.arange(data.n_users)
    singles = [LinearAutoencoder(p, device="cpu").fit(data).score(users) for p in MEMBERS]
    mean = AveragedLinearAutoencoder(MEMBERS, device="cpu").fit(data).score(users)
    np.testing.assert_allclose(mean, np.mean(singles, axis=0), rtol=1e-4, atol=1e-6)


def test_one_member_is_that_model_exactly() -> None:
    data = contract_data()
    single = LinearAutoencoder(MEMBERS[1], device="cpu").fit(data).weights_
    mean = AveragedLinearAutoencoder(MEMBERS[1:2], device="cpu").fit(data).weights_
    np.testing.assert_array_equal(mean, single)


def test_top_k_prunes_the_mean_not_the_members() -> None:
    data = contract_data()
    dense = AveragedLinearAutoencoder(MEMBERS, device="cpu").fit(data).weights_
    pruned = AveragedLinearAutoencoder(MEMBERS, top_k=2, device="cpu").fit(data)
    np.testing.assert_array_equal(pruned.weights_, prune_top_k(dense, 2))
    assert pruned.params.top_k == 2 and all(m.top_k == 0 for m in pruned.members)


def test_pruned_and_on_histories_keep_the_members() -> None:
    data = contract_data()
    mean = AveragedLinearAutoencoder(MEMBERS, device="cpu").fit(data)
    pruned = mean.pruned(1)
    assert isinstance(pruned, AveragedLinearAutoencoder) and pruned.members == mean.members
    assert pruned.params.top_k == 1 and mean.params.top_k == 0
    assert (np.count_nonzero(pruned.weights_, axis=0) <= 1).all()
    served = mean.on_histories(data)
    assert served.members == mean.members and served.weights_ is mean.weights_


def test_the_memory_plan_counts_the_sum_beside_the_solve() -> None:
    n = 1000
    single = LinearAutoencoder(MEMBERS[0])._kept_bytes(n)
    assert single == 0
    assert AveragedLinearAutoencoder(MEMBERS)._kept_bytes(n) == 4 * n * n


def test_no_members_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        AveragedLinearAutoencoder([])


def test_make_base_averages_only_several_members_on_a_dense_catalogue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert type(make_base(MEMBERS[:1], 50, device="cpu")) is LinearAutoencoder
    mean = make_base(MEMBERS, 50, top_k=3, device="cpu")
    assert isinstance(mean, AveragedLinearAutoencoder) and mean.params.top_k == 3
    monkeypatch.setattr(sparse_linear, "SPARSE_ABOVE_ITEMS", 10)
    sparse = make_base(MEMBERS, 50, device="cpu")  # the large-catalogue base: the first alone
    assert isinstance(sparse, SparseLinearAutoencoder) and sparse.params == MEMBERS[0]


def test_fold_in_scores_a_new_history_like_a_known_user() -> None:
    data = contract_data()
    mean = AveragedLinearAutoencoder(MEMBERS, device="cpu").fit(data)
    row = sp.csr_matrix(mean.train_[[0]])
    np.testing.assert_allclose(mean.score_history(row), mean.score([0]), rtol=1e-6)
