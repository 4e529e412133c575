"""Repeat purchases in serving: a bundle records ``repeat`` and serving honours it.

The known-answer model: three users, four items, and item-item weights chosen so that a
user's own item scores highest (item ``a`` weighs itself 5): with repeat purchases it is
served first, without them it never appears.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recolab.bundle import export_bundle, load
from recolab.data.interactions import build_interactions
from recolab.errors import BundleError
from recolab.models.linear import LinearAutoencoder, LinearParams
from recolab.models.tradeoff import TradeoffRecommender
from recolab.rerank import make_reranker

from .hostile import config_of, read_members, with_config, write_zip

ITEMS = ["a", "b", "c", "d"]
#: W[h, i]: how much having h adds to i. a → a 5 (the user's own item wins), a → b 1, ...
WEIGHTS = np.array(
    [
        [5.0, 1.0, 0.5, 0.0],
        [0.0, 0.0, 0.2, 0.1],
        [0.0, 0.3, 0.0, 0.0],
        [0.0, 0.0, 0.4, 0.0],
    ],
    dtype=np.float32,
)


def tiny_model() -> TradeoffRecommender:
    """The known-answer model: u0 has a, u1 has b and c, u2 has c and d; λ = 0 is the
    base's order (scores of u0: a 5, b 1, c 0.5, d 0)."""
    frame = pd.DataFrame(
        {"user": ["u0", "u1", "u1", "u2", "u2"], "item": ["a", "b", "c", "c", "d"], "value": 1.0}
    )
    data = build_interactions(frame, kind="implicit")
    assert data.items.ids.tolist() == ITEMS
    base = LinearAutoencoder.from_weights(WEIGHTS, data, LinearParams(l2=1.0))
    return TradeoffRecommender(base, make_reranker("popularity"), 1.0, n_candidates=4).fit(data)


@pytest.fixture(scope="module")
def model() -> TradeoffRecommender:
    return tiny_model()


@pytest.fixture(scope="module")
def bundles(model: TradeoffRecommender, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("repeat")
    return {
        "repeat": export_bundle(model, out / "repeat.zip", lam=0.0, repeat=True),
        "default": export_bundle(model, out / "default.zip", lam=0.0),
    }


def _items(frame: pd.DataFrame) -> list[str]:
    return frame["item"].tolist()


def test_repeat_bundle_serves_the_seen_item_that_scores_highest(bundles: dict) -> None:
    loaded = load(bundles["repeat"])
    assert loaded.repeat is True and loaded.config["repeat"] is True
    # u0 has a; scores a 5, b 1, c 0.5, d 0
    assert _items(loaded.recommend(["u0"], k=3)) == ["a", "b", "c"]
    assert _items(loaded.recommend_for_history(["a"], k=2)) == ["a", "b"]
    # the explicit override still leaves it out
    assert _items(loaded.recommend(["u0"], k=3, exclude_seen=True)) == ["b", "c", "d"]
    assert _items(loaded.recommend_for_history(["a"], k=2, exclude_seen=True)) == ["b", "c"]


def test_default_bundle_still_excludes_seen_items(bundles: dict) -> None:
    loaded = load(bundles["default"])
    assert loaded.repeat is False and loaded.config["repeat"] is False
    assert _items(loaded.recommend(["u0"], k=3)) == ["b", "c", "d"]
    # u1 has b and c: only a and d are left (a from nobody's history: score 0, d 0.1)
    assert _items(loaded.recommend(["u1"], k=4)) == ["d", "a"]
    assert _items(loaded.recommend(["u0"], k=1, exclude_seen=False)) == ["a"]


def test_old_bundle_without_the_field_loads_as_no_repeat(bundles: dict, tmp_path: Path) -> None:
    files = read_members(bundles["repeat"])
    cfg = config_of(files)
    del cfg["repeat"]
    old = load(write_zip(tmp_path / "old.zip", with_config(files, cfg)))
    assert "repeat" not in old.config and old.repeat is False
    assert _items(old.recommend(["u0"], k=3)) == ["b", "c", "d"]


def test_a_repeat_that_is_not_a_bool_is_refused(bundles: dict, tmp_path: Path) -> None:
    files = read_members(bundles["repeat"])
    cfg = config_of(files)
    cfg["repeat"] = "yes"
    with pytest.raises(BundleError, match=r"config\.json.*repeat"):
        load(write_zip(tmp_path / "bad.zip", with_config(files, cfg)))
    with pytest.raises(BundleError, match="exclude_seen"):
        load(bundles["repeat"]).recommend(["u0"], k=1, exclude_seen="no")  # type: ignore[arg-type]


def test_re_export_of_a_loaded_model_keeps_repeat(bundles: dict, tmp_path: Path) -> None:
    """What the dashboard's export at a new λ does: export_bundle(loaded.model, ...)."""
    again = load(export_bundle(load(bundles["repeat"]).model, tmp_path / "again.zip", lam=0.5))
    assert again.repeat is True
    plain = load(export_bundle(load(bundles["default"]).model, tmp_path / "plain.zip"))
    assert plain.repeat is False
    with pytest.raises(BundleError, match="repeat"):
        export_bundle(again.model, tmp_path / "x.zip", repeat=1)  # type: ignore[arg-type]


def test_trade_off_layer_passes_exclude_seen_through(model: TradeoffRecommender) -> None:
    """Neither the re-ranked model nor its fold-in masks seen items on its own."""
    users = model.users_.index(["u0"])
    for lam in (0.0, 1.0):
        kept, _ = model.recommend(users, 4, lam=lam, exclude_seen=False)
        assert "a" in [ITEMS[i] for i in kept[0] if i >= 0]
        left, _ = model.recommend(users, 4, lam=lam, exclude_seen=True)
        assert "a" not in [ITEMS[i] for i in left[0] if i >= 0]
    history = np.array([0])
    assert model.recommend_history(history, 1, 0.0, exclude_seen=False)[0][0] == 0
    assert model.recommend_history(history, 1, 0.0, exclude_seen=True)[0][0] == 1


def test_model_card_says_whether_seen_items_are_served(bundles: dict) -> None:
    from recolab.studio import model_card

    assert "**Repeat purchases**: yes" in model_card(load(bundles["repeat"]), 0.0, {})
    assert "**Repeat purchases**: no" in model_card(load(bundles["default"]), 0.0, {})


def test_purchase_counts_travel_with_the_bundle(tmp_path: Path) -> None:
    """A repeat-purchase base weighs own items by purchases: the counts are stored beside
    the histories, served after loading, and refused when they are not counts."""
    import scipy.sparse as sp
    from safetensors.numpy import load as st_load
    from safetensors.numpy import save as st_save

    from .hostile import resum

    model = tiny_model()
    # u1 bought b four times and c once, everyone else once; 0.5 per purchase
    counts = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 4, 1, 0], [0, 0, 1, 1]], np.float32))
    model.base = model.base.with_repeat_weight(0.5).with_purchases(counts)
    path = export_bundle(model, tmp_path / "counted.zip", lam=0.0, repeat=True)
    loaded = load(path)
    np.testing.assert_allclose(loaded.model.base.purchases_.toarray(), counts.toarray())
    users = loaded.model.users_.index(["u1"])
    # u1's scores: b (0.3 from c) + 0.5·4, c (0.2 from b) + 0.5·1, d 0.1, a 0
    np.testing.assert_allclose(loaded.model.base.score(users)[0], [0.0, 2.3, 0.7, 0.1], atol=1e-6)
    assert _items(loaded.recommend(["u1"], k=2)) == ["b", "c"]
    files = read_members(path)
    history = st_load(files["history.safetensors"])
    assert history["purchases"].tolist() == [1.0, 4.0, 1.0, 1.0, 1.0]
    history["purchases"][1] = 0.0
    files["history.safetensors"] = st_save(history)
    with pytest.raises(BundleError, match="purchases must be finite counts"):
        load(write_zip(tmp_path / "zero.zip", resum(files)))
    history["purchases"] = np.ones(3, np.float32)  # one per stored pair, or nothing
    files["history.safetensors"] = st_save(history)
    with pytest.raises(BundleError, match="purchases"):
        load(write_zip(tmp_path / "short.zip", resum(files)))
    # a base without counts writes none
    plain = read_members(export_bundle(tiny_model(), tmp_path / "plain.zip", repeat=True))
    assert "purchases" not in st_load(plain["history.safetensors"])


def test_a_new_users_repeated_items_count_as_purchases(tmp_path: Path) -> None:
    """Fold-in reads an item listed n times as n purchases where the base weighs purchases,
    and as one item elsewhere."""
    import scipy.sparse as sp

    model = tiny_model()
    counts = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 4, 1, 0], [0, 0, 1, 1]], np.float32))
    model.base = model.base.with_repeat_weight(0.5).with_purchases(counts)
    loaded = load(export_bundle(model, tmp_path / "counted.zip", lam=0.0, repeat=True))
    # history b, c, c, c: b 0.3 + 0.5, c 0.2 + 0.5·3, d 0.1 (a: nothing)
    once = loaded.model.fold_in(np.array([1, 2]))
    thrice = loaded.model.fold_in(np.array([1, 2, 2, 2]))
    np.testing.assert_allclose(once, [0.0, 0.8, 0.7, 0.1], atol=1e-6)
    np.testing.assert_allclose(thrice, [0.0, 0.8, 1.7, 0.1], atol=1e-6)
    assert _items(loaded.recommend_for_history(["b", "c", "c", "c"], k=2)) == ["c", "b"]
    assert _items(loaded.recommend_for_history(["b", "b", "b", "c"], k=2)) == ["b", "c"]
    # without purchase counts a repeated item is still one item
    plain = load(export_bundle(tiny_model(), tmp_path / "plain.zip", lam=0.0, repeat=True))
    np.testing.assert_allclose(
        plain.model.fold_in(np.array([1, 2, 2, 2])), plain.model.fold_in(np.array([1, 2]))
    )
