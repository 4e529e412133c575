"""Tuning a wide catalogue on its head: the most interacted items, l2 in the whole
catalogue's units, the chosen base solved on the whole catalogue."""

from __future__ import annotations

import numpy as np
import pytest

from recolab.data.interactions import InteractionData
from recolab.data.synthetic import synthetic_interactions
from recolab.tuning import TuneBudget, fit_tuned, tune_linear, validation_split
from recolab.tuning.head import head_items, head_split
from recolab.tuning.study import params_from


@pytest.fixture(scope="module")
def wide():
    # more users than items: the primal solve, whose cost the head saves
    data = synthetic_interactions(500, 400, n_interactions=8000, popularity_skew=1.1, seed=3)
    return validation_split(data, seed=0)


def test_head_items_are_the_most_interacted(wide) -> None:
    counts = wide.fit.matrix(binary=True).getnnz(axis=0)
    keep = head_items(wide.fit, 100)
    assert keep.size == 100 and np.all(np.diff(keep) > 0)
    dropped = np.setdiff1d(np.arange(counts.size), keep)
    assert counts[keep].min() >= counts[dropped].max()
    assert head_items(wide.fit, 400) is None and head_split(wide, 400) is None


def test_fewer_users_than_items_tune_the_whole_catalogue_in_dual_form() -> None:
    data = synthetic_interactions(300, 400, n_interactions=6000, popularity_skew=1.1, seed=3)
    split = validation_split(data, seed=0)
    assert head_items(split.fit, 100) is not None and head_split(split, 100) is None


def test_head_split_keeps_users_and_the_head_items_interactions(wide) -> None:
    head = head_split(wide, 100)
    keep = head_items(wide.fit, 100)
    kept_ids = set(wide.fit.items.ids[keep])
    assert head.fit.n_items == head.valid.n_items == 100
    assert head.fit.n_users == wide.fit.n_users and set(head.fit.items.ids) == kept_ids
    for part, whole in ((head.fit, wide.fit), (head.valid, wide.valid)):
        expected = whole.with_frame(whole.frame[np.isin(whole.frame["item_idx"], keep)])
        assert part.n_interactions == expected.n_interactions
        # the same (user id, item id) pairs, each read through its own vocabularies
        assert _id_pairs(part) == _id_pairs(expected)
    assert "100 most interacted items" in head.description
    # by index: the head's matrices are the whole's columns of the head items
    for part, whole in ((head.fit, wide.fit), (head.valid, wide.valid)):
        np.testing.assert_array_equal(part.matrix().toarray(), whole.matrix()[:, keep].toarray())


def _id_pairs(data: InteractionData) -> set[tuple[str, str]]:
    users = data.users.ids[data.frame["user_idx"].to_numpy()]
    items = data.items.ids[data.frame["item_idx"].to_numpy()]
    return set(zip(users, items, strict=True))


def test_a_wide_catalogue_is_tuned_on_its_head(wide, monkeypatch: pytest.MonkeyPatch) -> None:
    import recolab.tuning.study as study

    fitted: list[int] = []
    real = study.make_linear_base

    def spy(params, n_items, device, n_users):  # type: ignore[no-untyped-def]
        fitted.append(n_items)
        return real(params, n_items, device, n_users)

    monkeypatch.setattr(study, "make_linear_base", spy)
    monkeypatch.setattr(study, "HEAD_ITEMS", 100)
    monkeypatch.setattr(study, "head_split", lambda split: head_split(split, 100))
    result = tune_linear(wide, budget=TuneBudget(3, 60), device="cpu")
    assert fitted == [100, 100, 100] and result.study_items == 100
    # l2 is set in the whole catalogue's units, as the served base is
    whole = wide.fit.matrix(binary=True)
    assert result.params == params_from(result.values, whole)


def test_fit_tuned_serves_the_whole_catalogue_from_a_head_study(
    wide, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recolab.tuning.study as study

    monkeypatch.setattr(study, "head_split", lambda split: head_split(split, 100))
    data = synthetic_interactions(500, 400, n_interactions=8000, popularity_skew=1.1, seed=3)
    tuned = fit_tuned(data, budget=TuneBudget(4, 60), device="cpu", mechanisms=["popularity"])
    assert tuned.tuning.study_items == 100 and len(tuned.members) == 1  # no mean of trials
    assert tuned.base.weights_.shape == (400, 400)
    summary = tuned.summary()["base"]
    assert summary["study_items"] == 100
    # the reported validation score is the whole catalogue's, measured on the chosen base
    from recolab.tuning.sparsity import validation_score

    assert summary["validation_score"] == pytest.approx(
        validation_score(tuned.fit_base, tuned.split)
    )


def test_a_base_below_ease_as_served_gives_way_to_it(wide, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chosen base is never more than 0.5 % below the study's plain EASE at λ = 0 on
    validation as served, even where its front is larger: here EASE's front is made empty
    and its served score higher (as an own-item weight can make it)."""
    import recolab.tuning.select as select
    from recolab.models.linear import LinearParams
    from recolab.tuning.repeat import RepeatChoice
    from recolab.tuning.study import TuneResult

    edlae = {"l2_scale": 2.0, "dropout": 0.5, "user_norm": 0.0, "item_norm": 0.0}
    ease = {"l2_scale": 8.0, "dropout": 0.0, "user_norm": 0.0, "item_norm": 0.0}
    tuning = TuneResult(
        params=LinearParams(),
        l2_scale=2.0,
        score=0.30,
        metrics={},
        values=edlae,
        trials=[{**edlae, "score": 0.30}, {**ease, "score": 0.25}],
    )
    assert select.candidate_bases(tuning) == [[edlae], [ease]]
    real_front = select.mechanism_front

    def empty_front(*args, **kwargs):  # type: ignore[no-untyped-def]
        front = real_front(*args, **kwargs)
        front.hypervolumes = {key: 0.0 for key in front.hypervolumes}
        return front

    monkeypatch.setattr(select, "mechanism_front", empty_front)
    chosen = {}
    for served in ([0.600, 0.601], [0.500, 0.600]):  # first base, then EASE
        scores = iter(served)
        monkeypatch.setattr(
            select,
            "_weighed",
            lambda base, split, repeat, scores=scores: (
                base,
                RepeatChoice(0.0, 0.0, 1.0, {0.0: next(scores)}),
            ),
        )
        chosen[served[0]] = select._choose_base_and_mechanism(
            tuning, wide, None, None, ["popularity"], "cpu", False
        )
    assert chosen[0.6].members == [edlae]  # within 0.5 %: the larger front wins
    assert chosen[0.5].members == [ease]  # 17 % below EASE: EASE
