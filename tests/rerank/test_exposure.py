"""ExposureGreedy: known answers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recolab.rerank import ExposureGreedy
from tests.rerank._tiny import cand, implicit

R = math.sqrt(1.5)  # rel of scores (3, 2, 1) is (R, 0, -R) = (1.2247, 0, -1.2247)
LOG1P_15 = math.log1p(1.5)  # 0.9163


@pytest.fixture(scope="module")
def reranker() -> ExposureGreedy:
    # items a, b, c have training users, d has none: N = 3 training items
    train = implicit([("u1", "a"), ("u1", "b"), ("u2", "c")], items=["a", "b", "c", "d"])
    return ExposureGreedy().fit(train)


def test_counts_training_items(reranker: ExposureGreedy) -> None:
    assert reranker.n_train_items_ == 3 and reranker.n_items_ == 4


def test_second_position_avoids_items_shown_elsewhere(reranker: ExposureGreedy) -> None:
    # user 0 ranks a, b, c; user 1 ranks b, a, c; both with scores 3, 2, 1.
    c = cand([[0, 1, 2], [1, 0, 2]], [[3, 2, 1], [3, 2, 1]])
    # Position 1 has no penalty: user 0 takes a, user 1 takes b. counts a = b = 1, picks = 2,
    # so an item in one list has penalty log1p(1 · 3 / 2) = 0.916; c has 0.
    # Position 2, user 0: b 0 - λ·0.916 against c -1.2247 - 0: c wins iff λ > 1.2247/0.916
    # = 1.337 (user 1 is the mirror image).
    assert math.isclose(R / LOG1P_15, 1.3366, abs_tol=1e-4)
    assert reranker.rerank(c, 3, 0.0).tolist() == [[0, 1, 2], [1, 0, 2]]
    assert reranker.rerank(c, 3, 1.3).tolist() == [[0, 1, 2], [1, 0, 2]]
    assert reranker.rerank(c, 3, 1.4).tolist() == [[0, 2, 1], [1, 2, 0]]
    assert reranker.rerank(c, 2, 1.4).tolist() == [[0, 2], [1, 2]]


def test_same_candidates_decide_simultaneously(reranker: ExposureGreedy) -> None:
    # Two users with the same candidates a, b, c. Position 1: both take a (no penalty yet).
    # Position 2: b and c are in no list yet (penalty 0) and both users decide at once against
    # the same counts, so both take b; position 3: c. The lists stay the base's at any λ.
    c = cand([[0, 1, 2], [0, 1, 2]], [[3, 2, 1], [3, 2, 1]])
    assert reranker.rerank(c, 3, 50.0).tolist() == [[0, 1, 2], [0, 1, 2]]


def test_counts_update_after_each_position(reranker: ExposureGreedy) -> None:
    # u0: a, b, c, d with scores 3, 2, 0, 0 -> rel (1.347, 0.577, -0.962, -0.962)
    #   (mean 5/4, sd sqrt(108/64) = 1.299): c and d tie, the base puts c first.
    # u1: b, c, a, d with scores 3, 2, 1, 0 -> rel (1.342, 0.447, -0.447, -1.342). λ = 1.
    # Position 1: u0 a, u1 b; picks 2, ratio N/picks = 1.5, penalty of a, b log1p(1.5) = 0.916.
    # Position 2: u0 b 0.577-0.916 = -0.34 vs c, d -0.962 -> b;
    #   u1 c 0.447 vs d -0.447, a -0.447-0.916 -> c.
    #   counts a 1, b 2, c 1, d 0; picks 4, ratio 0.75: penalty of c log1p(0.75) = 0.56.
    # Position 3: u0 c -0.962-0.56 vs d -0.962 -> d (u1 took c at position 2), then c;
    #   u1 a -0.447-0.56 = -1.01 vs d -1.342 -> a, then d.
    c = cand([[0, 1, 2, 3], [1, 2, 0, 3]], [[3, 2, 0, 0], [3, 2, 1, 0]])
    assert reranker.rerank(c, 4, 0.0).tolist() == [[0, 1, 2, 3], [1, 2, 0, 3]]
    assert reranker.rerank(c, 4, 1.0).tolist() == [[0, 1, 3, 2], [1, 2, 0, 3]]


def test_padding_is_respected(reranker: ExposureGreedy) -> None:
    # u0: a, b (rel 1, -1) then padding; u1: b, a, c (rel R, 0, -R). λ = 2.
    # Position 1: a, b; picks 2, ratio 1.5.
    # Position 2: u0 only b left -> b; u1 a 0-2·0.916 = -1.83 vs c -1.225 -> c.
    # Position 3: u0 has nothing -> -1; u1 a.
    c = cand([[0, 1, -1], [1, 0, 2]], [[2, 1, 0], [3, 2, 1]])
    assert reranker.rerank(c, 4, 2.0).tolist() == [[0, 1, -1, -1], [1, 2, 0, -1]]


def test_prior_exposure_moves_a_user_alone() -> None:
    # The base showed a 3 times and b once (prior picks 4), N = 3 training items.
    # Alone, user 0 ranks a, b, c (rel R, 0, −R). Position 1 penalties: a log1p(3·3/4) =
    # 1.179, b log1p(3/4) = 0.560, c 0. a beats b iff R − 1.179λ > −0.560λ ⇔ λ < 1.979;
    # a beats c iff R − 1.179λ > −R ⇔ λ < 2.078. So at λ = 2 user 0 starts with b.
    train = implicit([("u1", "a"), ("u1", "b"), ("u2", "c")], items=["a", "b", "c"])
    reranker = ExposureGreedy().fit(train)
    reranker.observe_base(np.array([[0, 1], [0, -1], [0, -1]]))
    assert reranker.prior_.tolist() == [3.0, 1.0, 0.0]
    alone = cand([[0, 1, 2]], [[3, 2, 1]])
    assert reranker.rerank(alone, 1, 0.0).tolist() == [[0]]
    assert reranker.rerank(alone, 1, 1.9).tolist() == [[0]]
    assert reranker.rerank(alone, 1, 2.0).tolist() == [[1]]
