"""The fast evaluation path (torch.topk partition, larger score batches) against plain
references: a hand-checked toy case, a sorted-list top-k on tie-heavy data, and the ML-100K
u1 metrics the old code gave."""

from __future__ import annotations

import math
from typing import Self

import numpy as np
import pandas as pd
import pytest

import recolab.models.base as base
from recolab.data import InteractionData, Vocabulary, build_interactions
from recolab.data.samples import load_ml100k_split
from recolab.evaluation import evaluate
from recolab.models.base import Recommender, batch_rows, top_k
from recolab.models.linear import LinearAutoencoder

# Scores of users a, b, c for items x, y, z, w, v: ties (b: y = z = w), a NaN (c: y).
SCORES = np.array(
    [
        [0.9, 0.8, 0.7, 0.6, 0.5],
        [0.1, 0.5, 0.5, 0.5, 0.2],
        [0.3, np.nan, 0.9, 0.4, 0.8],
    ],
    dtype=np.float32,
)


class FixedScores(Recommender):
    """Scores from a table, one row per user (a test double)."""

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def fit(self, train: InteractionData) -> Self:
        self._remember(train)
        return self

    def _score_known(self, users: np.ndarray, lam: float | None) -> np.ndarray:
        return self.scores[users].copy()


def toy() -> tuple[InteractionData, InteractionData]:
    """train a:{x, z} b:{v, y} c:{x, w}; test a:{y, w} b:{z, x} c:{v}; all items trained."""
    users, items = Vocabulary.from_ids("abc"), Vocabulary.from_ids("xyzwv")
    train = pd.DataFrame({"user": list("aabbcc"), "item": list("xzvyxw"), "value": 1.0})
    test = pd.DataFrame({"user": list("aabbc"), "item": list("ywzxv"), "value": 1.0})
    make = lambda f: build_interactions(f, kind="implicit", users=users, items=items)  # noqa: E731
    return make(train), make(test)


def reference_top(scores: np.ndarray, seen: set[int], k: int) -> list[int]:
    """Plain ranking: unseen items with a finite score, by score then lower index."""
    pool = [i for i in range(scores.size) if i not in seen and np.isfinite(scores[i])]
    return sorted(pool, key=lambda i: (-float(scores[i]), i))[:k]


def reference_metrics(lists: list[list[int]], relevant: list[set[int]], k: int) -> dict[str, float]:
    """precision, recall and NDCG@k by the textbook formulas, averaged over users."""
    out = {"precision": 0.0, "recall": 0.0, "ndcg": 0.0}
    for top, rel in zip(lists, relevant, strict=True):
        hits = [1.0 if i in rel else 0.0 for i in top[:k]]
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(rel), k)))
        out["precision"] += sum(hits) / k
        out["recall"] += sum(hits) / len(rel)
        out["ndcg"] += dcg / idcg
    return {f"{name}@{k}": v / len(lists) for name, v in out.items()}


def test_toy_equals_plain_reference_and_hand_values() -> None:
    train, test = toy()
    model = FixedScores(SCORES).fit(train)
    seen = [set(np.flatnonzero(row)) for row in model.train_.toarray()]
    relevant = [set(np.flatnonzero(row)) for row in test.matrix(binary=True).toarray()]
    lists = [reference_top(SCORES[u], seen[u], 3) for u in range(3)]
    # a sees x, z: y(.8) w(.6) v(.5); b sees v, y: tie z = w (.5) by index, then x;
    # c sees x, w, y is NaN: z(.9) v(.8)
    assert lists == [[1, 3, 4], [2, 3, 0], [2, 4]]
    topk, _ = model.recommend(np.arange(3), 3)
    assert topk.tolist() == [[1, 3, 4], [2, 3, 0], [2, 4, -1]]
    result = evaluate(model, train, test, ks=(1, 2, 3))
    for k in (1, 2, 3):
        for key, value in reference_metrics(lists, relevant, k).items():
            assert result.metrics[key] == pytest.approx(value, abs=1e-15), key
    # by hand at k=2: hits a [1, 1], b [1, 0], c [0, 1]
    assert result.metrics["precision@2"] == pytest.approx(4 / 6)
    assert result.metrics["recall@2"] == pytest.approx((1 + 1 / 2 + 1) / 3)
    ndcg_c = (1 / math.log2(3)) / 1.0
    assert result.metrics["ndcg@2"] == pytest.approx((1 + 1 / (1 + 1 / math.log2(3)) + ndcg_c) / 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_top_k_equals_sorted_reference_on_ties(dtype: type) -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        rows, cols, k = int(rng.integers(1, 5)), int(rng.integers(1, 25)), int(rng.integers(1, 30))
        scores = rng.integers(-2, 3, size=(rows, cols)).astype(dtype)
        if dtype != np.int64:
            u = rng.random((rows, cols))
            scores[u < 0.15] = np.nan
            scores[(u >= 0.15) & (u < 0.25)] = -np.inf
            scores = scores[:, ::-1]  # negative strides: copied before torch sees them
        idx, vals = top_k(scores, k)
        for r in range(rows):
            expected = reference_top(scores[r], set(), k)
            expected += [-1] * (k - len(expected))
            assert idx[r].tolist() == expected
            finite = [float(scores[r, i]) for i in expected if i >= 0]
            assert vals[r].tolist() == finite + [-np.inf] * (k - len(finite))


def test_recommend_batches_do_not_change_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    users, items = Vocabulary.from_ids(range(50)), Vocabulary.from_ids(range(30))
    frame = pd.DataFrame({"user": rng.integers(0, 50, 300), "item": rng.integers(0, 30, 300)})
    train = build_interactions(
        frame.drop_duplicates().assign(value=1.0), kind="implicit", users=users, items=items
    )
    scores = rng.integers(0, 4, size=(50, 30)).astype(np.float32)  # many ties
    model = FixedScores(scores).fit(train)
    assert batch_rows(30) > 50  # one batch by default
    one = model.recommend(np.arange(50), 10)
    monkeypatch.setattr(base, "BATCH_BYTES", 4 * 30 * 7 + 3)
    assert batch_rows(30) == 7
    many = model.recommend(np.arange(50), 10)
    np.testing.assert_array_equal(one[0], many[0])
    np.testing.assert_array_equal(one[1], many[1])


def test_a_batch_holds_at_most_its_bytes_of_scores() -> None:
    assert batch_rows(3659) == 4585  # the retail log in one batch
    assert batch_rows(8192) == 2048
    for n_items in (3659, 8192, 10**5):
        rows = batch_rows(n_items)
        assert 4 * n_items * rows <= base.BATCH_BYTES < 4 * n_items * (rows + 1)
    assert batch_rows(10**5) == 167
    assert batch_rows(10**9) == 1


# ML-100K u1, LinearAutoencoder(l2=400) fitted on u1.base, evaluate(ks=(10, 20)) on u1.test:
# the values the code gave before the fast path (commit f5c18e1, one thread, measured by
# benchmarks/evaluation_speed.py). Known answers for this data, not tuned results.
ML100K_U1_METRICS = {
    "precision@10": 0.5139433551198258,
    "recall@10": 0.1911894548897483,
    "f1@10": 0.23226635080841662,
    "ndcg@10": 0.5659164060410925,
    "hit_rate@10": 0.9586056644880174,
    "map@10": 0.43155346603662037,
    "coverage@10": 0.1715151515151515,
    "novelty@10": 1.9515129840758656,
    "diversity@10": 0.7155170146329307,
    "gini@10": 0.9402189212385291,
    "exposure_equality@10": 0.059781078761470874,
    "precision@20": 0.4388888888888889,
    "recall@20": 0.30715682927056115,
    "f1@20": 0.2895007790162959,
    "ndcg@20": 0.5411223881851638,
    "hit_rate@20": 0.9782135076252724,
    "map@20": 0.37400802962430985,
    "coverage@20": 0.23696969696969697,
    "novelty@20": 2.144405542964643,
    "diversity@20": 0.7218367903475635,
    "gini@20": 0.9139602561563346,
    "exposure_equality@20": 0.08603974384366542,
    "recent_share@10": 1.0,
    "recent_share@20": 1.0,
}


@pytest.mark.slow
def test_ml100k_u1_metrics_unchanged() -> None:
    train, test = load_ml100k_split("u1")
    model = LinearAutoencoder(l2=400.0, device="cpu").fit(train)
    metrics = evaluate(model, train, test, ks=(10, 20)).metrics
    assert set(metrics) == set(ML100K_U1_METRICS)
    for key, value in ML100K_U1_METRICS.items():
        assert metrics[key] == value, key  # bit for bit: only the ranking's speed changed


def test_accuracy_only_gives_the_same_accuracy_and_nothing_else() -> None:
    """accuracy_only (what tuning and λ calibration read) reports exactly the full
    evaluation's accuracy metrics, leaves coverage, novelty and diversity out, and says so."""
    train, test = load_ml100k_split()
    model = LinearAutoencoder(l2=400.0).fit(train)
    full = evaluate(model, train, test, ks=(10, 20))
    fast = evaluate(model, train, test, ks=(10, 20), lam=0.0, accuracy_only=True)
    accuracy = ("precision", "recall", "f1", "ndcg", "hit_rate", "map")
    expected = {f"{m}@{k}": full.metrics[f"{m}@{k}"] for m in accuracy for k in (10, 20)}
    assert fast.metrics == expected
    assert "coverage@20" in full.metrics and "diversity@20" in full.metrics
    assert fast.protocol["metrics"].startswith("accuracy only")
    assert fast.protocol["lam"] == 0.0 and fast.n_users == full.n_users
