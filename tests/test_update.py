"""Incremental update of a bundle (issue 15 point 3): ``LoadedModel.update`` and
``recolab update``, against a retrain on the union, on a tiny purchase log."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recolab.bundle import export_bundle, load
from recolab.bundle.serving import LoadedModel
from recolab.cli import main
from recolab.data.io import load_interactions
from recolab.errors import BundleError, DataError
from recolab.models.linear import LinearAutoencoder
from recolab.models.tradeoff import TradeoffRecommender
from recolab.rerank import make_reranker
from recolab.tuning.study import params_from
from recolab.update import export_updated, merge_histories, read_events

#: Tuned values as a study stores them: every option of the base away from its default.
VALUES = {"l2_scale": 0.5, "dropout": 0.2, "user_norm": 0.5, "item_norm": 0.1}


def _log(n_users: int, items: range, seed: int, day: int, first_user: int = 0) -> pd.DataFrame:
    """A purchase log: each user buys 3-6 distinct items of ``items`` on one day."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(first_user, first_user + n_users):
        for i in rng.choice(list(items), size=int(rng.integers(3, 7)), replace=False):
            rows.append(
                {
                    "InvoiceNo": f"{day}{u:03d}",
                    "StockCode": f"S{i:03d}",
                    "Description": f"ITEM {i}",
                    "Quantity": 1 + int(i) % 3,
                    "InvoiceDate": f"2011-0{day}-01 10:00",
                    "UnitPrice": 1.0 + int(i),
                    "CustomerID": str(1000 + u),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def period_one() -> pd.DataFrame:
    return _log(40, range(25), seed=1, day=1)


@pytest.fixture(scope="module")
def period_two() -> pd.DataFrame:
    """Known users buying again (some items they had, some new to them), new users, and
    five items never sold before (S025-S029)."""
    known = _log(15, range(30), seed=2, day=2, first_user=10)
    fresh = _log(8, range(20, 30), seed=3, day=2, first_user=100)
    return pd.concat([known, fresh], ignore_index=True)


def _bundle(
    tmp: Path, events: pd.DataFrame, mechanism: str = "popularity", repeat_weight: float = 0.0
) -> Path:
    """A trade-off bundle fitted on ``events`` with :data:`VALUES` (dense base)."""
    (tmp / "train.csv").write_text(events.to_csv(index=False))
    data = load_interactions(tmp / "train.csv")
    params = replace(params_from(VALUES, data.matrix(binary=True)), repeat_weight=repeat_weight)
    base = LinearAutoencoder(params, device="cpu").fit(data)
    model = TradeoffRecommender(
        base, make_reranker(mechanism), 2.0, n_candidates=15, lam_default=0.5
    ).fit(data)
    model.selection_ = {"base": {"trial": dict(VALUES)}}
    return export_bundle(model, tmp / "model.zip", lam=0.5, k=5)


def _aligned(w: np.ndarray, ids: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``w`` (indexed by ``ids``) re-indexed to the item order ``order``."""
    pos = pd.Index(ids).get_indexer(order)
    assert (pos >= 0).all()
    return w[np.ix_(pos, pos)]


def test_an_empty_update_changes_nothing(tmp_path: Path, period_one: pd.DataFrame) -> None:
    loaded = load(_bundle(tmp_path, period_one))
    users = np.arange(len(loaded.model.users_))
    before = loaded.model.score(users)
    after = loaded.update(pd.DataFrame(columns=period_one.columns))
    assert np.array_equal(after.model.score(users), before)
    assert "updates" not in after.config


def test_an_update_with_no_new_interaction_leaves_the_scores_unchanged(
    tmp_path: Path, period_one: pd.DataFrame
) -> None:
    """Events the histories already hold (the training log itself, re-read): the base is
    re-solved, with l2 rescaled from the stored scale, and lands on the same weights."""
    loaded = load(_bundle(tmp_path, period_one))
    users = np.arange(len(loaded.model.users_))
    updated = loaded.update(period_one, device="cpu")
    last = updated.config["updates"][-1]
    assert (last["new_users"], last["new_items"], last["pairs_added"]) == (0, 0, 0)
    assert last["l2"] == pytest.approx(loaded.model.base.params.l2, rel=1e-12)
    np.testing.assert_allclose(updated.model.score(users), loaded.model.score(users), atol=1e-6)
    served = loaded.recommend(list(loaded.model.users_.ids[:10]), k=5)
    again = updated.recommend(list(loaded.model.users_.ids[:10]), k=5)
    assert served[["user", "item"]].equals(again[["user", "item"]])


def test_an_update_keeps_the_own_item_weight(tmp_path: Path, period_one: pd.DataFrame) -> None:
    """A base that weighs own items (repeat purchases) is re-solved with the same weight."""
    loaded = load(_bundle(tmp_path, period_one, repeat_weight=0.3))
    assert np.allclose(np.diag(loaded.model.base.weights_), 0.3)
    updated = loaded.update(period_one, device="cpu")
    assert updated.model.base.params.repeat_weight == 0.3
    users = np.arange(len(loaded.model.users_))
    np.testing.assert_allclose(updated.model.score(users), loaded.model.score(users), atol=1e-6)


def test_an_update_gives_the_base_a_retrain_on_the_union_gives(
    tmp_path: Path, period_one: pd.DataFrame, period_two: pd.DataFrame
) -> None:
    loaded = load(_bundle(tmp_path, period_one))
    updated = loaded.update(period_two, device="cpu")
    (tmp_path / "union.csv").write_text(pd.concat([period_one, period_two]).to_csv(index=False))
    union = load_interactions(tmp_path / "union.csv")
    x = union.matrix(binary=True)
    retrained = LinearAutoencoder(params_from(VALUES, x), device="cpu").fit(union)
    base = updated.model.base
    assert base.params == retrained.params  # same options, l2 rescaled to the same value
    assert base.params.l2 != pytest.approx(loaded.model.base.params.l2)  # it did move
    order = np.asarray(union.items.ids)
    w = _aligned(base.weights_, np.asarray(updated.model.items_.ids), order)
    np.testing.assert_allclose(w, retrained.weights_, atol=1e-5)
    assert np.abs(w - _pad_old(loaded, order)).max() > 1e-3  # and differs from before
    last = updated.config["updates"][-1]
    pairs = set(zip(period_one["CustomerID"], period_one["StockCode"], strict=True))
    new_pairs = set(zip(period_two["CustomerID"], period_two["StockCode"], strict=True)) - pairs
    assert last["pairs_added"] == len(new_pairs) and base.train_.nnz == x.nnz


def _pad_old(loaded: LoadedModel, order: np.ndarray) -> np.ndarray:
    """The old weights in ``order``, zero for items the old model did not know."""
    old = np.asarray(loaded.model.items_.ids)
    out = np.zeros((len(order), len(order)), dtype=np.float32)
    pos = pd.Index(old).get_indexer(order)
    known = np.flatnonzero(pos >= 0)
    out[np.ix_(known, known)] = loaded.model.base.weights_[np.ix_(pos[known], pos[known])]
    return out


def test_pruning_width_and_options_are_kept(tmp_path: Path, period_one, period_two) -> None:
    path = _bundle(tmp_path, period_one)
    loaded = load(path)
    pruned = replace(loaded.model.base.params, top_k=4)
    loaded.model.base.params = pruned  # as a bundle whose base was pruned to 4 per column
    updated = loaded.update(period_two, device="cpu")
    params = updated.model.base.params
    assert params.top_k == 4 and params.dropout == VALUES["dropout"]
    assert ((updated.model.base.weights_ != 0).sum(axis=0) <= 4).all()


def test_new_users_and_items_get_entries_titles_and_recommendations(
    tmp_path: Path, period_one: pd.DataFrame, period_two: pd.DataFrame
) -> None:
    loaded = load(_bundle(tmp_path, period_one, mechanism="revenue"))
    updated = loaded.update(period_two, device="cpu")
    model = updated.model
    assert len(model.users_) == 48 and len(model.items_) == 30
    assert list(model.users_.ids[:40]) == list(loaded.model.users_.ids)  # indices kept
    new_items = [f"S{i:03d}" for i in range(25, 30)]
    idx = model.items_.index(new_items)
    assert (idx >= 25).all() and model.candidates_[idx].all()
    assert [model.item_titles_[i] for i in idx] == [f"ITEM {i}" for i in range(25, 30)]
    prices = updated.model.reranker.prices_
    assert prices[idx].tolist() == [26.0, 27.0, 28.0, 29.0, 30.0]  # from the events' UnitPrice
    recs = updated.recommend(["1100", "1107"], k=5)  # two users first seen in period two
    assert len(recs) == 10 and recs["title"].str.startswith("ITEM").all()
    all_recs = updated.recommend(list(model.users_.ids), k=5, lam=0.0)
    assert set(all_recs["item"]) & set(new_items)  # the new items are recommended
    with pytest.raises(BundleError, match="unknown user"):
        loaded.recommend(["1100"], k=5)  # the original is left as it was


def test_the_updated_bundle_round_trips(tmp_path: Path, period_one, period_two) -> None:
    loaded = load(_bundle(tmp_path, period_one))
    updated = loaded.update(period_two, device="cpu")
    out = export_updated(updated.model, updated.config, updated.config["updates"], tmp_path / "b2")
    again = load(out)
    assert again.config["updates"][0]["new_items"] == 5 and again.default_k == 5
    assert again.default_lam == 0.5 and again.config["mechanism"]["name"] == "popularity"
    users = list(updated.model.users_.ids)
    assert again.recommend(users, k=5).equals(updated.recommend(users, k=5))


def test_bad_events_name_the_frame_row_and_column(tmp_path: Path, period_one) -> None:
    loaded = load(_bundle(tmp_path, period_one))
    with pytest.raises(DataError, match=r"file \(data frame\).*column 'Customer'") as err:
        loaded.update(period_one, {"user": "Customer"})
    assert err.value.column == "Customer" and err.value.file == "(data frame)"
    bad = tmp_path / "bad.csv"
    lines = period_one.to_csv(index=False).splitlines()
    lines[3] += ",extra,fields"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        loaded.update(bad)
    assert err.value.file == str(bad) and err.value.row == 3
    with pytest.raises(DataError, match="no usable rows"):
        read_events(period_one.assign(CustomerID=""))


def test_cli_update_and_its_one_line_errors(
    tmp_path: Path, period_one, period_two, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _bundle(tmp_path, period_one)
    (tmp_path / "new.csv").write_text(period_two.to_csv(index=False))
    out = tmp_path / "b2.zip"
    args = ["update", "--bundle", str(path), "--new", str(tmp_path / "new.csv"), "--out"]
    assert main([*args, str(out)]) == 0
    printed = capsys.readouterr().out
    assert "8 new users, 5 new items" in printed and "bundle:" in printed
    assert load(out).recommend(["1100"], k=3)["item"].size == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("CustomerID,StockCode\n1,A\n2,B,C,D\n")
    cmd = [sys.executable, "-m", "recolab", "update", "--bundle", str(path), "--new", str(bad)]
    r = subprocess.run([*cmd, "--out", str(tmp_path / "b3.zip")], capture_output=True, text=True)
    errors = [ln for ln in r.stderr.splitlines() if not ln.startswith("INFO")]
    assert r.returncode == 2 and len(errors) == 1 and "Traceback" not in r.stderr, r.stderr
    assert str(bad) in errors[0] and "row 2" in errors[0] and not (tmp_path / "b3.zip").exists()


def test_the_weighted_model_refuses_update(tmp_path: Path, period_one) -> None:
    loaded = load(_bundle(tmp_path, period_one))
    weighted = LoadedModel(
        loaded.model, {**loaded.config, "model_type": "weighted-objective"}, loaded.path
    )
    with pytest.raises(BundleError, match="cannot be updated incrementally"):
        weighted.update(period_one)


def test_merge_histories_keeps_old_indices_and_is_binary() -> None:
    import scipy.sparse as sp

    from recolab.data.interactions import build_interactions
    from recolab.data.vocab import Vocabulary

    old = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
    frame = pd.DataFrame({"user": ["b", "c", "a"], "item": ["x", "y", "y"], "value": 3.0})
    new = build_interactions(frame, kind="implicit")
    users, items, x = merge_histories(
        Vocabulary.from_ids(["a", "b"]), Vocabulary.from_ids(["x", "y"]), old, new
    )
    assert list(users.ids) == ["a", "b", "c"] and list(items.ids) == ["x", "y"]
    assert x.toarray().tolist() == [[1, 1], [1, 1], [0, 1]]
