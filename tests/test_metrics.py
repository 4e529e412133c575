"""Known-answer tests of every metric, computed by hand on 2–4 users and ≤6 items."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recolab import metrics as rm

LOG3 = math.log2(3)


def rel(rows: list[list[int]], n_items: int = 6) -> sp.csr_matrix:
    """Relevance matrix from per-user lists of relevant items."""
    m = np.zeros((len(rows), n_items), dtype=np.float32)
    for u, items in enumerate(rows):
        m[u, items] = 1.0
    return sp.csr_matrix(m)


# u0: list 0 1 2, relevant {1, 4}: hit at rank 2
# u1: list 3 0 (padded), relevant {0}: hit at rank 2, |test_u| = 1 < k
# u2: list 4 2 1, relevant {3}: no hit
TOPK = np.array([[0, 1, 2], [3, 0, -1], [4, 2, 1]])
TEST = rel([[1, 4], [0], [3]])


def test_hit_matrix_ignores_padding() -> None:
    hits = rm.hit_matrix(TOPK, TEST)
    assert hits.tolist() == [[False, True, False], [False, True, False], [False] * 3]
    # padding never matches, even when item 0 is relevant and -1 would wrap to the last item
    assert not rm.hit_matrix(np.array([[-1]]), rel([[0, 5]])).any()


def test_hit_matrix_ignores_explicit_zeros_and_merges_duplicates() -> None:
    test = sp.csr_matrix(
        (np.array([0.0, 2.0, 1.0]), np.array([1, 2, 2]), np.array([0, 3])), shape=(1, 4)
    )
    assert rm.hit_matrix(np.array([[1, 2]]), test).tolist() == [[False, True]]


def test_accuracy_at_3_by_hand() -> None:
    m = rm.ranking_metrics(TOPK, TEST, ks=(3,))
    assert m["precision@3"] == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert m["recall@3"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    # F1 per user: u0 2·(1/3)(1/2)/(5/6) = 0.4 ; u1 2·(1/3)·1/(4/3) = 0.5 ; u2 0
    assert m["f1@3"] == pytest.approx((0.4 + 0.5 + 0) / 3)
    # NDCG: u0 (1/log2 3) / (1 + 1/log2 3) ; u1 (1/log2 3) / 1 ; u2 0
    ndcg_u0 = (1 / LOG3) / (1 + 1 / LOG3)
    assert m["ndcg@3"] == pytest.approx((ndcg_u0 + 1 / LOG3) / 3)
    assert m["hit_rate@3"] == pytest.approx(2 / 3)
    # AP: u0 P@2 · 1 / min(2, 3) = 1/4 ; u1 (1/2) / min(1, 3) = 1/2 ; u2 0
    assert m["map@3"] == pytest.approx((0.25 + 0.5) / 3)


def test_accuracy_at_1_and_2_by_hand() -> None:
    m = rm.ranking_metrics(TOPK, TEST, ks=(1, 2))
    for name in rm.ACCURACY_METRICS:
        assert m[f"{name}@1"] == 0.0
    assert m["precision@2"] == pytest.approx((1 / 2 + 1 / 2) / 3)
    assert m["recall@2"] == pytest.approx(0.5)
    # ideal DCG at k=2: u0 has 2 relevant → 1 + 1/log2 3
    assert m["ndcg@2"] == pytest.approx(((1 / LOG3) / (1 + 1 / LOG3) + 1 / LOG3) / 3)
    # MAP@2: u0 (1/2) / min(2, 2) ; u1 (1/2) / 1
    assert m["map@2"] == pytest.approx((0.25 + 0.5) / 3)


def test_perfect_list_scores_one() -> None:
    topk = np.array([[2, 0, 5], [1, -1, -1]])
    m = rm.ranking_metrics(topk, rel([[0, 2, 5], [1]]), ks=(3,))
    assert m["recall@3"] == m["ndcg@3"] == m["map@3"] == m["hit_rate@3"] == 1.0
    # precision counts padding as a miss: u1 has 1 hit out of k = 3
    assert m["precision@3"] == pytest.approx((1 + 1 / 3) / 2)


def test_relevant_items_unseen_in_training_count() -> None:
    # item 5 was never in training, so no collaborative list holds it; it still counts
    m = rm.ranking_metrics(np.array([[0, 1]]), rel([[0, 5]]), ks=(2,))
    assert m["recall@2"] == 0.5
    assert m["ndcg@2"] == pytest.approx(1 / (1 + 1 / LOG3))


def test_users_without_relevant_items_are_left_out() -> None:
    with_empty = rm.ranking_metrics(
        np.vstack([TOPK, [[0, 1, 2]]]), rel([[1, 4], [0], [3], []]), ks=(3,)
    )
    without = rm.ranking_metrics(TOPK, TEST, ks=(3,))
    for name in rm.ACCURACY_METRICS:
        assert with_empty[f"{name}@3"] == pytest.approx(without[f"{name}@3"])
    per_user = rm.per_user_accuracy(np.vstack([TOPK, [[0, 1, 2]]]), rel([[1, 4], [0], [3], []]), 3)
    assert np.isnan(per_user["recall"][3])
    assert per_user["recall"][:3].tolist() == pytest.approx([0.5, 1.0, 0.0])


def test_flat_keys_for_several_k() -> None:
    m = rm.ranking_metrics(
        TOPK,
        TEST,
        ks=(3, 2),
        item_users=np.array([3, 2, 1, 0, 1, 0.0]),
        n_train_users=4,
        item_vectors=np.eye(6),
    )
    expected = {
        f"{name}@{k}"
        for k in (2, 3)
        for name in (*rm.ACCURACY_METRICS, *rm.BEYOND_ACCURACY_METRICS)
    }
    assert set(m) == expected
    assert all(isinstance(v, float) for v in m.values())


def test_beyond_accuracy_omitted_without_inputs() -> None:
    m = rm.ranking_metrics(TOPK, TEST, ks=(3,))
    assert set(m) == {f"{name}@3" for name in rm.ACCURACY_METRICS}


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        rm.ranking_metrics(TOPK, TEST, ks=(4,))
    with pytest.raises(ValueError, match="aligned"):
        rm.ranking_metrics(TOPK, rel([[1]]), ks=(3,))
    with pytest.raises(ValueError, match="integer"):
        rm.ranking_metrics(TOPK.astype(float), TEST, ks=(3,))
    with pytest.raises(ValueError, match="≥ 1"):
        rm.ranking_metrics(TOPK, TEST, ks=(0,))


def test_coverage_by_hand() -> None:
    topk = np.array([[0, 1], [1, 2], [2, -1]])
    assert rm.coverage(topk, 4) == 0.75  # {0, 1, 2} of 4 training items
    assert rm.coverage(topk[:, :1], 4) == 0.75
    assert rm.coverage(np.array([[0, -1]]), 4) == 0.25
    m = rm.ranking_metrics(
        topk, rel([[0], [1], [2]]), ks=(1, 2), item_users=np.array([1, 1, 1, 0, 1, 0])
    )
    assert m["coverage@1"] == 0.75 and m["coverage@2"] == 0.75  # 4 items have training users


def test_novelty_by_hand() -> None:
    item_users = np.array([4, 2, 1, 0])
    # −log2(4/4) = 0, −log2(2/4) = 1, −log2(1/4) = 2, item 3 smoothed to 1 user → 2
    assert rm.novelty(np.array([[0, 1], [2, 3]]), item_users, 4) == pytest.approx(5 / 4)
    # padding ignored; mean over the 3 recommended items
    assert rm.novelty(np.array([[0, 1], [2, -1]]), item_users, 4) == pytest.approx(1.0)
    assert math.isnan(rm.novelty(np.array([[-1]]), item_users, 4))


def test_diversity_by_hand() -> None:
    v = np.array([[1.0, 0], [0, 1], [1, 0], [0, 0], [2, 0]])
    per = rm.per_user_diversity(
        np.array([[0, 1, -1], [0, 2, -1], [0, 4, -1], [0, 1, 2], [0, -1, -1], [0, 3, -1]]), v
    )
    # orthogonal → 1 ; identical → 0 ; same direction, other length → 0 ;
    # three items: cos pairs 0, 1, 0 → 1 − 1/3 ; one item → no pairs ; zero vector → 1
    assert per[:4] == pytest.approx([1.0, 0.0, 0.0, 2 / 3])
    assert math.isnan(per[4])
    assert per[5] == pytest.approx(1.0)
    topk = np.array([[0, 1], [0, 2], [0, -1]])
    assert rm.intra_list_diversity(topk, v) == pytest.approx(0.5)  # user 3 left out


def test_diversity_batches_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(30, 5))
    topk = rng.integers(-1, 30, size=(50, 6))
    whole = rm.per_user_diversity(topk, v)
    monkeypatch.setattr(rm, "DIVERSITY_BATCH", 7)
    np.testing.assert_allclose(rm.per_user_diversity(topk, v), whole)
    # against the definition, pair by pair, for one user
    u = 3
    items = [i for i in topk[u] if i >= 0]
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    sims = [unit[a] @ unit[b] for x, a in enumerate(items) for b in items[x + 1 :]]
    assert whole[u] == pytest.approx(1 - np.mean(sims))


def test_gini_by_hand() -> None:
    assert rm.gini(np.array([5, 5, 5, 5])) == 0.0
    assert rm.gini(np.array([0, 0, 0, 8])) == pytest.approx(3 / 4)
    # sorted x = 0 1 2 3, Σ(2i − n − 1)x_i = −1 + 2 + 9 = 10, / (4 · 6)
    assert rm.gini(np.array([3, 1, 0, 2])) == pytest.approx(10 / 24)
    assert math.isnan(rm.gini(np.zeros(3)))


def test_exposure_gini_counts_zero_exposure_items() -> None:
    train_items = np.array([True, True, False])
    # uniform over the training items: every list is [0, 1]
    assert rm.exposure_gini(np.array([[0, 1], [1, 0]]), train_items) == 0.0
    # concentrated: item 0 twice, training item 1 never → counts [2, 0]
    assert rm.exposure_gini(np.array([[0], [0]]), train_items) == pytest.approx(0.5)
    m = rm.ranking_metrics(
        np.array([[0], [0]]), rel([[0], [0]], 3), ks=(1,), item_users=np.array([1.0, 1, 0])
    )
    assert m["gini@1"] == pytest.approx(0.5)
    assert m["exposure_equality@1"] == pytest.approx(0.5)


def test_rmse_mae_by_hand() -> None:
    assert rm.rmse(np.array([1, 2, 3]), np.array([1, 3, 5])) == pytest.approx(math.sqrt(5 / 3))
    assert rm.mae(np.array([1, 2, 3]), np.array([1, 3, 5])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="values"):
        rm.rmse(np.array([1.0]), np.array([1.0, 2.0]))


def test_vectorised_matches_a_loop_on_random_lists() -> None:
    rng = np.random.default_rng(1)
    n_users, n_items, k = 40, 25, 8
    test = sp.random(n_users, n_items, density=0.2, format="csr", random_state=2)
    test.data[:] = 1.0
    topk = np.array([rng.permutation(n_items)[:k] for _ in range(n_users)])
    topk[rng.random(topk.shape) < 0.1] = -1  # scattered padding
    got = rm.per_user_accuracy(topk, test, k)
    dense = test.toarray() > 0
    for u in range(n_users):
        relevant = set(np.flatnonzero(dense[u]).tolist())
        if not relevant:
            assert np.isnan(got["precision"][u])
            continue
        hits = [int(i >= 0 and i in relevant) for i in topk[u]]
        dcg = sum(h / math.log2(j + 2) for j, h in enumerate(hits))
        idcg = sum(1 / math.log2(j + 2) for j in range(min(len(relevant), k)))
        ap = sum(sum(hits[: j + 1]) / (j + 1) for j, h in enumerate(hits) if h)
        assert got["precision"][u] == pytest.approx(sum(hits) / k, abs=1e-12)
        assert got["recall"][u] == pytest.approx(sum(hits) / len(relevant), abs=1e-12)
        assert got["ndcg"][u] == pytest.approx(dcg / idcg, abs=1e-12)
        assert got["map"][u] == pytest.approx(ap / min(len(relevant), k), abs=1e-12)
