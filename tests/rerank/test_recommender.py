"""ReRankedRecommender on tiny data: base lists at λ = 0, the candidate cache, evaluate."""

from __future__ import annotations

import numpy as np
import pytest

from recolab.data import InteractionData
from recolab.evaluation import evaluate
from recolab.models.base import Recommender
from recolab.models.ease import EASERecommender
from recolab.models.popularity import PopularityRecommender
from recolab.rerank import RERANKERS, CandidateCache, ReRankedRecommender, make_reranker
from recolab.rerank.base import BASE_LIST_K
from tests.rerank._tiny import implicit

USERS = [f"u{u}" for u in range(6)]
ITEMS = [f"i{i}" for i in range(8)]
TRAIN_PAIRS = [
    ("u0", "i0"), ("u0", "i1"), ("u0", "i2"), ("u1", "i0"), ("u1", "i3"), ("u1", "i4"),
    ("u2", "i1"), ("u2", "i2"), ("u2", "i5"), ("u3", "i0"), ("u3", "i5"), ("u3", "i6"),
    ("u4", "i2"), ("u4", "i3"), ("u5", "i0"), ("u5", "i1"), ("u5", "i6"),
]  # fmt: skip
TEST_PAIRS = [("u0", "i3"), ("u1", "i5"), ("u2", "i6"), ("u3", "i2"), ("u4", "i0")]
# genre-like multi-hot: 3 categories
VECTORS = np.array(
    [[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 0, 0], [0, 0, 1]],
    dtype=np.float64,
)


@pytest.fixture(scope="module")
def split() -> tuple[InteractionData, InteractionData]:
    return implicit(TRAIN_PAIRS, USERS, ITEMS), implicit(TEST_PAIRS, USERS, ITEMS)


def wrap(name: str, train: InteractionData, **kw: object) -> ReRankedRecommender:
    model = ReRankedRecommender(
        EASERecommender(l2=1.0), make_reranker(name), item_vectors=VECTORS, **kw
    )
    return model.fit(train)


@pytest.mark.parametrize("name", sorted(RERANKERS))
def test_lam_zero_gives_the_base_lists(
    name: str, split: tuple[InteractionData, InteractionData]
) -> None:
    train, _ = split
    model = wrap(name, train)
    users = np.arange(6)
    base_items, base_scores = model.base.recommend(users, 4)
    for lam in (0.0, None, {name: 0.0}):
        items, scores = model.recommend(users, 4, lam=lam)
        np.testing.assert_array_equal(items, base_items)
        np.testing.assert_array_equal(scores, base_scores)
    assert model.conditioned


@pytest.mark.parametrize("name", sorted(RERANKERS))
def test_seen_items_never_returned_and_scores_are_the_base(
    name: str, split: tuple[InteractionData, InteractionData]
) -> None:
    train, _ = split
    model = wrap(name, train)
    users = np.arange(6)
    full = model.base.score(users)
    seen = train.matrix(binary=True).toarray() > 0
    for lam in (0.5, 2.0, 10.0):
        items, scores = model.recommend(users, 6, lam=lam)
        assert items.dtype == np.int64 and scores.dtype == np.float32
        for u in users:
            real = items[u][items[u] >= 0]
            assert not seen[u, real].any()
            assert len(set(real.tolist())) == real.size
            np.testing.assert_array_equal(scores[u][: real.size], full[u, real])
            assert np.all(scores[u][real.size :] == -np.inf)
    # with exclude_seen=False the lists hold all 7 trained items (i7 has no training user)
    items, _ = model.recommend(users, 8, lam=1.0, exclude_seen=False)
    assert (items[:, :7] >= 0).all() and (items[:, 7] == -1).all()


def test_candidate_cache_is_reused_for_a_new_lam(
    split: tuple[InteractionData, InteractionData],
) -> None:
    train, _ = split
    model = wrap("popularity", train)
    users = np.arange(6)
    model.recommend(users, 3, lam=0.0)
    first = model.last_candidates_
    assert first is not None and first.items.shape == (6, 100)
    model.recommend(users, 3, lam=1.5)
    model.recommend(list(range(6)), 5, lam={"novelty": 0.3})
    assert model.last_candidates_ is first
    model.recommend(users[:3], 3, lam=1.5)
    assert model.last_candidates_ is not first
    second = model.last_candidates_
    model.recommend(users[:3], 3, lam=1.5, exclude_seen=False)
    assert model.last_candidates_ is not second


def test_mapping_lam_uses_the_objective(split: tuple[InteractionData, InteractionData]) -> None:
    train, _ = split
    model = wrap("popularity", train)
    users = np.arange(6)
    items, _ = model.recommend(users, 4, lam=3.0)
    assert not np.array_equal(items, model.base.recommend(users, 4)[0])  # λ = 3 changes lists
    np.testing.assert_array_equal(model.recommend(users, 4, lam={"novelty": 3.0})[0], items)
    np.testing.assert_array_equal(
        model.recommend(users, 4, lam={"diversity": 3.0})[0], model.base.recommend(users, 4)[0]
    )
    with pytest.raises(ValueError, match="lam"):
        model.recommend(users, 4, lam=-1.0)


def test_k_above_n_candidates_and_unknown_users(
    split: tuple[InteractionData, InteractionData],
) -> None:
    train, _ = split
    model = wrap("exposure", train, n_candidates=2)
    items, scores = model.recommend([0, -1, 99], 5, lam=1.0)
    assert items.shape == (3, 5)
    # u0 has 4 unseen trained items: all of them, though n_candidates = 2 < k
    assert sorted(items[0, :4].tolist()) == [3, 4, 5, 6] and items[0, 4] == -1
    assert (items[1:] == -1).all() and (scores[1:] == -np.inf).all()


def test_prefitted_base_is_not_refitted(split: tuple[InteractionData, InteractionData]) -> None:
    train, _ = split
    base = PopularityRecommender().fit(train)
    counts = base.item_users_
    model = ReRankedRecommender(base, make_reranker("popularity")).fit(train)
    assert model.base.item_users_ is counts
    assert model.train_ is base.train_ and model.candidates_ is base.candidates_
    np.testing.assert_array_equal(model.score([0, 1]), base.score([0, 1]))
    other = implicit(TRAIN_PAIRS, USERS, [*ITEMS, "i8"])
    with pytest.raises(ValueError, match="fitted on this training set"):
        ReRankedRecommender(base, make_reranker("popularity")).fit(other)


def test_not_fitted_and_bad_options(split: tuple[InteractionData, InteractionData]) -> None:
    train, _ = split
    model = ReRankedRecommender(PopularityRecommender(), make_reranker("popularity"))
    with pytest.raises(ValueError, match="not fitted"):
        model.recommend([0], 3)
    with pytest.raises(ValueError, match="n_candidates"):
        ReRankedRecommender(
            PopularityRecommender(), make_reranker("popularity"), n_candidates=0
        ).fit(train)
    with pytest.raises(ValueError, match="item_vectors"):
        ReRankedRecommender(PopularityRecommender(), make_reranker("mmr")).fit(train)


@pytest.mark.parametrize("name", sorted(RERANKERS))
def test_evaluate_with_lam(name: str, split: tuple[InteractionData, InteractionData]) -> None:
    train, test = split
    model = wrap(name, train)
    result = evaluate(model, train, test, ks=(3,), lam=0.5, item_vectors=VECTORS)
    assert result.n_users == 5 and result.protocol["lam"] == 0.5
    assert 0.0 <= result.metrics["recall@3"] <= 1.0
    at_zero = evaluate(model, train, test, ks=(3,), lam=0.0, item_vectors=VECTORS)
    base = evaluate(model.base, train, test, ks=(3,), item_vectors=VECTORS)
    assert at_zero.metrics == base.metrics


@pytest.mark.parametrize("name", sorted(RERANKERS))
def test_a_shared_candidate_cache_gives_each_models_own_lists(
    name: str, split: tuple[InteractionData, InteractionData]
) -> None:
    # popularity on these 8 items ties items bought as often: the first 3 or 5 of the cached
    # 8 must still be what each model would have taken on its own
    train, _ = split
    base = PopularityRecommender().fit(train)
    cache = CandidateCache(base, width=8)
    users = np.arange(6)
    for width in (3, 5):
        alone = ReRankedRecommender(
            base, make_reranker(name), n_candidates=width, item_vectors=VECTORS
        ).fit(train)
        shared = ReRankedRecommender(
            base, make_reranker(name), width, VECTORS, candidate_cache=cache
        ).fit(train)
        for lam in (0.0, 0.5, 2.0):
            for got, want in zip(
                shared.recommend(users, 3, lam=lam), alone.recommend(users, 3, lam=lam), strict=True
            ):
                np.testing.assert_array_equal(got, want)
        assert shared.last_candidates_.n_candidates == width
    widest = cache.get(users, 8, exclude_seen=True).scores
    ties = [len(set(row[np.isfinite(row)])) < np.isfinite(row).sum() for row in widest]
    assert any(ties)  # the case the prefix must get right


def _count_rankings(base: Recommender, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The list lengths ``base.recommend`` is asked for from now on (filled as it is)."""
    calls: list[int] = []
    scored = base.recommend

    def counted(users: np.ndarray, k: int, **options: object) -> object:
        calls.append(k)
        return scored(users, k, **options)

    monkeypatch.setattr(base, "recommend", counted)
    return calls


def test_a_shared_candidate_cache_scores_the_base_once(
    split: tuple[InteractionData, InteractionData], monkeypatch: pytest.MonkeyPatch
) -> None:
    train, _ = split
    base = EASERecommender(l2=1.0).fit(train)
    cache = CandidateCache(base, width=6)
    pairs = (("popularity", 3), ("exposure", 6), ("popularity", 5))
    models = [
        ReRankedRecommender(base, make_reranker(name), n, candidate_cache=cache).fit(train)
        for name, n in pairs
    ]
    calls = _count_rankings(base, monkeypatch)
    users = np.arange(6)
    for model in models:
        for lam in (0.0, 1.0):
            model.recommend(users, 2, lam=lam)
    assert calls == [6]  # once, at the cache's width
    model.recommend(users[:3], 2, lam=1.0)  # other users: scored again
    model.recommend(users, 2, lam=1.0, exclude_seen=False)
    assert calls == [6, 6, 6]
    wider = ReRankedRecommender(base, make_reranker("popularity"), 7, candidate_cache=cache)
    wider.fit(train)
    wider.recommend(users, 2)  # longer than the cache's lists: scored at the new length
    assert calls == [6, 6, 6, 7]


def test_a_shared_candidate_cache_ranks_every_training_user_once(
    split: tuple[InteractionData, InteractionData], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the re-rankers that observe the base's lists of every training user at fit time read
    # them from the shared cache: the base ranks those users once, not once per front
    train, _ = split
    base = EASERecommender(l2=1.0).fit(train)
    calls = _count_rankings(base, monkeypatch)
    cache = CandidateCache(base, width=6)
    pairs = (("popularity-exposure", 3), ("exposure", 6), ("popularity-exposure", 5))
    for name, n in pairs:
        shared = ReRankedRecommender(base, make_reranker(name), n, candidate_cache=cache)
        shared.fit(train)
    assert calls == [BASE_LIST_K]
    lists = cache.base_lists(np.flatnonzero(train.matrix().getnnz(axis=1) > 0))
    assert not lists.flags.writeable
    assert calls == [BASE_LIST_K]
    # each fit with its own cache ranks them for itself
    ReRankedRecommender(base, make_reranker("exposure"), 6).fit(train)
    assert calls == [BASE_LIST_K, BASE_LIST_K]


def test_a_candidate_cache_of_another_base_is_refused(
    split: tuple[InteractionData, InteractionData],
) -> None:
    train, _ = split
    cache = CandidateCache(EASERecommender(l2=1.0).fit(train))
    model = ReRankedRecommender(
        EASERecommender(l2=1.0), make_reranker("popularity"), candidate_cache=cache
    )
    with pytest.raises(ValueError, match="another base"):
        model.fit(train)
