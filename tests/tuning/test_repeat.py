"""Repeat purchases: validation cut before merging keeps them, and the base's own-item weight
is chosen on it (known answers on a planted log)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recolab.bundle.loader import load as load_bundle
from recolab.cli import main
from recolab.data.interactions import InteractionData
from recolab.data.io import load_interactions
from recolab.data.splits import merge_pairs
from recolab.models.linear import LinearAutoencoder
from recolab.pipeline import load_split, repeat_rows
from recolab.tuning import TuneBudget, fit_tuned, validation_split
from recolab.tuning.repeat import REPEAT_MULTIPLES, choose_repeat_weight


def write_log(path: Path, rebuy: float, seed: int = 0) -> Path:
    """60 days of purchases by 80 users of 40 items: each user has 4 staples bought again
    with probability ``rebuy`` per purchase; otherwise a popular item."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, 41)
    rows = []
    for u in range(80):
        staples = rng.choice(40, size=4, replace=False)
        for day in np.sort(rng.integers(0, 60, size=20)):
            item = (
                rng.choice(staples) if rng.random() < rebuy else rng.choice(40, p=pop / pop.sum())
            )
            rows.append(
                (f"u{u}", f"i{item}", pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(day)))
            )
    frame = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    frame.to_csv(path / "log.csv", index=False)
    return path / "log.csv"


def _rows_and_train(path: Path) -> tuple[InteractionData, InteractionData]:
    rows = load_interactions(path, merge=False)
    return rows, merge_pairs(rows)


def _pairs(data: InteractionData) -> set[tuple[int, int]]:
    """(user, item) index pairs: validation halves carry no string ids, and the rows, the
    merged data and the halves share vocabularies."""
    return set(zip(data.frame["user_idx"], data.frame["item_idx"], strict=True))


def test_validation_cut_before_merging_keeps_repeat_purchases(tmp_path: Path) -> None:
    rows, train = _rows_and_train(write_log(tmp_path, rebuy=0.7))
    merged = validation_split(train, forward=True)
    cut = validation_split(train, forward=True, rows=rows)
    assert not _pairs(merged.fit) & _pairs(merged.valid)  # merged first: no repeat survives
    repeats = _pairs(cut.fit) & _pairs(cut.valid)
    assert len(repeats) > 0.3 * len(_pairs(cut.valid))  # bought before and after the cut
    assert cut.fit.frame["timestamp"].max() < cut.valid.frame["timestamp"].min()
    assert "repeat purchases" in cut.description
    # every row is in one half: the rows' counts add up
    assert cut.fit.frame["value"].sum() + cut.valid.frame["value"].sum() == len(rows.frame)


def test_own_item_weight_follows_the_rebuy_rate(tmp_path: Path) -> None:
    chosen = {}
    for rebuy in (0.0, 0.8):
        folder = tmp_path / str(rebuy)
        folder.mkdir()
        rows, train = _rows_and_train(write_log(folder, rebuy=rebuy))
        split = validation_split(train, forward=True, rows=rows)
        base = LinearAutoencoder(l2=10.0, device="cpu").fit(split.fit)
        choice = choose_repeat_weight(base, split)
        assert set(choice.scores) == set(REPEAT_MULTIPLES)
        assert choice.weight == pytest.approx(choice.multiple * choice.spread)
        chosen[rebuy] = choice
    # staples bought again: own items weigh, and validation gains by it
    staples = chosen[0.8]
    assert staples.multiple > 0 and staples.scores[staples.multiple] > 1.05 * staples.scores[0.0]
    # nobody keeps to their own items: a much smaller weight, if any
    assert chosen[0.0].multiple < staples.multiple


def test_fit_tuned_serves_the_chosen_own_item_weight(tmp_path: Path) -> None:
    rows, train = _rows_and_train(write_log(tmp_path, rebuy=0.8))
    tuned = fit_tuned(train, forward=True, repeat_rows=rows, budget=TuneBudget(3, 60), device="cpu")
    assert tuned.repeat is not None and tuned.repeat.weight > 0
    assert tuned.base.params.repeat_weight == tuned.repeat.weight
    assert np.allclose(np.diag(tuned.base.weights_), tuned.repeat.weight, atol=1e-5)
    assert tuned.summary()["base"]["repeat"]["multiple"] == tuned.repeat.multiple
    # own items weigh by purchases: the training rows' counts, the fit part's on validation
    counts = rows.matrix(binary=True)
    assert (tuned.base.purchases_ != counts).nnz == 0 and counts.data.max() > 1
    assert tuned.split is not None and tuned.split.fit_purchases is not None
    assert tuned.split.fit_purchases.sum() < counts.sum()
    assert (tuned.split.fit_purchases.sign() != tuned.split.fit.matrix(binary=True)).nnz == 0
    assert (tuned.fit_base.purchases_ != tuned.split.fit_purchases).nnz == 0
    # without repeat_rows nothing changes: EASE's zero diagonal
    plain = fit_tuned(train, forward=True, budget=TuneBudget(3, 60), device="cpu")
    assert plain.repeat is None and not np.diag(plain.base.weights_).any()


def test_repeat_rows_follow_the_split(tmp_path: Path) -> None:
    path = write_log(tmp_path, rebuy=0.5)
    train, test = load_split(path, split="temporal")
    rows = repeat_rows(train, path, split="temporal")
    assert rows is not None and rows.n_users == train.n_users and rows.n_items == train.n_items
    assert _pairs(rows) == _pairs(train) and len(rows.frame) > len(train.frame)
    assert rows.frame["timestamp"].max() < test.frame["timestamp"].min()
    whole = load_interactions(path)
    assert len(repeat_rows(whole, path, split=None).frame) == len(
        load_interactions(path, merge=False).frame
    )
    random_train, _ = load_split(path, split="random")
    assert repeat_rows(random_train, path, split="random") is None


def test_cli_repeat_weighs_own_items(tmp_path: Path) -> None:
    path = write_log(tmp_path, rebuy=0.8)
    out = tmp_path / "m.zip"
    args = ["train", "--train", str(path), "--split", "temporal", "--repeat", "--no-text"]
    assert main([*args, "--trials", "2", "--out", str(out)]) == 0
    loaded = load_bundle(out)
    repeat = loaded.config["selection"]["base"]["repeat"]
    assert repeat["multiple"] > 0
    assert loaded.config["selection"]["base"]["params"]["repeat_weight"] == repeat["weight"]
    # the validation curves α reads were measured with own items in the lists, as served
    curve = loaded.config["cutoffs"]["curves"][0]
    assert curve["lam"] == 0.0 and curve["precision"][0] > 0.2  # 0.11 without own items
    # served lists keep, and lead with, the users' own staples
    model = loaded.model
    users = [str(u) for u in model.users_.ids[:30]]
    rows = model.users_.index(users)
    own = {
        (u, str(model.items_.ids[j]))
        for u, r in zip(users, rows, strict=True)
        for j in model.train_[r].indices
    }
    lists = loaded.recommend(users, k=3)
    shown = list(zip(lists["user"].astype(str), lists["item"].astype(str), strict=True))
    assert sum(pair in own for pair in shown) > 0.6 * len(shown)
    # the bundle keeps the purchase counts; an update adds one per new event
    before = loaded.model.base.purchases_
    train, _ = load_split(path, split="temporal")
    counted = repeat_rows(train, path, split="temporal")
    assert before is not None and counted is not None and before.data.max() > 1
    assert (before != counted.matrix(binary=True)).nnz == 0
    user, item = users[0], str(model.items_.ids[model.train_[rows[0]].indices[0]])
    new = pd.DataFrame({"user": [user] * 2, "item": [item] * 2, "timestamp": "2024-03-15"})
    updated = loaded.update(new).model.base.purchases_
    i, j = rows[0], model.items_.index([item])[0]
    assert updated[i, j] == before[i, j] + 2 and updated.sum() == before.sum() + 2


def test_the_model_card_states_the_own_item_weight() -> None:
    from recolab.bundle.card import _selection_options

    cfg = {"selection": {"base": {"repeat": {"weight": 0.5, "multiple": 16.0}}}}
    card = _selection_options(cfg)["own-item weight"]
    assert card.startswith("0.5 per purchase (16 × the spread")
    assert "own-item weight" not in _selection_options({"selection": {"base": {}}})


def test_the_spread_is_read_off_users_with_a_history(tmp_path: Path) -> None:
    from recolab.tuning.repeat import score_spread
    from recolab.tuning.validation import ValidationSplit

    rows, train = _rows_and_train(write_log(tmp_path, rebuy=0.5))
    split = validation_split(train, forward=True, rows=rows)
    # three quarters of the users are newcomers: validation only, every score 0
    frame = split.fit.frame
    newcomers = frame["user_idx"].isin(train.users.index([f"u{u}" for u in range(60)]))
    fit = split.fit.with_frame(frame[~newcomers])
    model = LinearAutoencoder(l2=10.0, device="cpu").fit(fit)
    known = np.flatnonzero(
        (split.valid.matrix(binary=True).getnnz(axis=1) > 0)
        & (fit.matrix(binary=True).getnnz(axis=1) > 0)
    )
    expected = float(np.median(model.score(known).std(axis=1)))
    assert 0 < expected != 1.0
    assert score_spread(model, ValidationSplit(fit, split.valid, "t", "t")) == pytest.approx(
        expected
    )


def test_validation_curves_and_front_keep_own_items_when_served_so(tmp_path: Path) -> None:
    """The Trade-offs page's front and α's cut-off curves are measured as lists are served:
    with repeat purchases the users' own items stay in them, and repeats are hits."""
    from recolab.evaluation import Protocol
    from recolab.models.tradeoff import TradeoffRecommender
    from recolab.rerank import make_reranker
    from recolab.tuning.cutoff import validation_cutoffs
    from recolab.tuning.fronts import measure_front

    rows, train = _rows_and_train(write_log(tmp_path, rebuy=0.8))
    split = validation_split(train, forward=True, rows=rows)
    base = LinearAutoencoder(l2=10.0, repeat_weight=1.0, device="cpu").fit(split.fit)
    model = TradeoffRecommender(base, make_reranker("popularity"), 1.0, n_candidates=20)
    model.fit(split.fit)
    kept = validation_cutoffs(model, split.valid, [0.0], exclude_seen=False)["curves"][0]
    dropped = validation_cutoffs(model, split.valid, [0.0])["curves"][0]
    assert kept["precision"][0] > 1.5 * dropped["precision"][0]
    served = Protocol(exclude_seen=False)
    with_own = measure_front(model, split.fit, split.valid, [0.0], protocol=served)
    without = measure_front(model, split.fit, split.valid, [0.0])
    assert with_own["ndcg@10"].iloc[0] > 1.5 * without["ndcg@10"].iloc[0]


def test_fit_tuned_calibrates_the_fronts_as_lists_are_served(tmp_path: Path) -> None:
    """With repeat purchases the mechanisms' λ ranges and fronts are measured over the
    weighted base with own items kept: before, they were measured on new items only, and
    the λ range overshot once own items led the lists."""
    from recolab.evaluation import Protocol, evaluate
    from recolab.rerank import ReRankedRecommender, make_reranker
    from recolab.tuning.fronts import MAX_LOSS

    rows, train = _rows_and_train(write_log(tmp_path, rebuy=0.8))
    tuned = fit_tuned(
        train,
        forward=True,
        repeat_rows=rows,
        budget=TuneBudget(3, 60),
        device="cpu",
        mechanisms=["popularity"],
    )
    front, split, served = tuned.mechanism, tuned.split, Protocol(exclude_seen=False)
    assert split is not None and tuned.fit_base is not None
    assert tuned.fit_base.params.repeat_weight == tuned.repeat.weight > 0

    def ndcg(lam: float) -> float:
        model = ReRankedRecommender(
            tuned.fit_base, make_reranker("popularity"), n_candidates=front.n_candidates
        ).fit(split.fit)
        result = evaluate(
            model, split.fit, split.valid, ks=(10,), lam=lam, protocol=served, accuracy_only=True
        )
        return result.metrics["ndcg@10"]

    assert front.rows["ndcg@10"].iloc[0] == pytest.approx(ndcg(0.0))
    assert front.rows["ndcg@10"].iloc[-1] == pytest.approx(ndcg(front.lam_high))
    assert ndcg(front.lam_high) <= (1 - MAX_LOSS) * ndcg(0.0)
