"""Item × item memory is planned before it is allocated: a clear error or a fallback, never
a MemoryError or a crash."""

from __future__ import annotations

import logging

import pytest
import torch

import recolab.memory
from recolab.config import TrainConfig
from recolab.data.synthetic import synthetic_interactions
from recolab.errors import DataError
from recolab.models.ease import EASERecommender
from recolab.models.linear import LinearAutoencoder, solve_memory_bytes
from recolab.models.weighted.trainer import OOF_FOLDS, _use_item_item

CPU = torch.device("cpu")


@pytest.fixture
def one_mib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recolab.memory, "available_memory_bytes", lambda: 2**20)


def test_solve_bytes_by_hand() -> None:
    # three float32 items × items matrices at the peak, on every device
    assert solve_memory_bytes(1000, CPU) == 3 * 4 * 1000 * 1000
    assert solve_memory_bytes(1000, torch.device("cuda")) == 3 * 4 * 1000 * 1000


def test_linear_models_refuse_a_solve_that_does_not_fit(one_mib: None) -> None:
    # 300 items (and more users, so the primal solve): 3 × 4 × 300² = 1.1 MB > 80 % of 1 MiB
    data = synthetic_interactions(400, 300, n_interactions=4000, seed=0)
    for model in (LinearAutoencoder(l2=10.0, device="cpu"), EASERecommender(l2=10.0)):
        expected = r"300 items needs 1\.0 MiB, more than 80 % of the 1\.0 MiB"
        with pytest.raises(DataError, match=expected):
            model.fit(data)


def test_few_users_solve_in_dual_form_where_the_items_would_not_fit(one_mib: None) -> None:
    # 50 users × 1,000 items: the primal solve needs 3 × 4 × 1000² = 12 MB; the dual
    # 3 × 8 × 50² + 8 × 50² + 8 × 50 × 1000 = 480 kB
    data = synthetic_interactions(50, 1000, n_interactions=1500, seed=0)
    model = LinearAutoencoder(l2=10.0, device="cpu").fit(data)
    assert model.dual_ is not None
    assert model.recommend([0, 1], 5)[0].shape == (2, 5)
    # 300 users × 2,000 items: 2.2 MB + 0.7 MB + 4.8 MB of the dual's own is refused
    wide = synthetic_interactions(300, 2000, n_interactions=4000, seed=0)
    with pytest.raises(DataError, match=r"users × users solve for 300 users needs 7\.3 MiB"):
        LinearAutoencoder(l2=10.0, device="cpu").fit(wide)


def test_where_only_the_primal_solve_fits_it_is_the_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # 190 users × 200 items: dual 3 × 8 × 190² + 8 × 190² + 8 × 190 × 200 = 1.46 MB, primal
    # 3 × 4 × 200² = 0.48 MB, with 80 % of 1.5 MiB = 1.26 MB free
    monkeypatch.setattr(recolab.memory, "available_memory_bytes", lambda: 3 * 2**19)
    data = synthetic_interactions(190, 200, n_interactions=3000, seed=0)
    model = LinearAutoencoder(l2=10.0, device="cpu").fit(data)
    assert model.dual_ is None and model.weights_.shape == (200, 200)


def test_small_catalogue_fits(one_mib: None) -> None:
    # 50 items: 3 × 4 × 50² = 30 kB
    data = synthetic_interactions(100, 50, n_interactions=1000, seed=0)
    assert EASERecommender(l2=10.0).fit(data).weights_.shape == (50, 50)


def test_weighted_item_item_memory_falls_back_or_refuses(
    one_mib: None, caplog: pytest.LogCaptureFixture
) -> None:
    # 300 items: solve 1.1 MB + B and its out-of-fold copies: over the 0.8 MiB allowed
    with caplog.at_level(logging.WARNING):
        assert _use_item_item(300, TrainConfig(item_item="auto"), CPU) is False
    assert "item-item memory skipped: for 300 items it needs" in caplog.text
    with pytest.raises(DataError, match=r"item_item='on'.*300 items needs"):
        _use_item_item(300, TrainConfig(item_item="on"), CPU)
    assert _use_item_item(300, TrainConfig(item_item="off"), CPU) is False
    # 40 items: 3·4·1600 + (1 + folds)·4·1600 bytes fit
    assert 3 * 4 * 1600 + (1 + OOF_FOLDS) * 4 * 1600 < 0.8 * 2**20
    assert _use_item_item(40, TrainConfig(item_item="auto"), CPU) is True


def test_text_embeddings_refuse_what_memory_cannot_hold(one_mib: None) -> None:
    from recolab.features.text import TextEncoder

    encoder = TextEncoder(cache=False)
    # 2 × 4 × 1,000 × 384 bytes = 3.1 MB > 80 % of 1 MiB, refused before the model loads
    with pytest.raises(DataError, match=r"embedding 1,000 item texts \(384 floats each\) needs"):
        encoder.encode(["a title"] * 1000)
    assert encoder._model is None
