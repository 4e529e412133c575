"""Shared fixtures: one real text model per test session, few threads."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from recolab.features.text import TextEncoder  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _few_threads() -> None:
    """The machine's cores are shared: keep torch to one intra-op thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> TextEncoder:
    """A CPU encoder on the default model, with its own cache folder."""
    return TextEncoder(device="cpu", cache_dir=tmp_path_factory.mktemp("emb-cache"))


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """An empty cache folder for one test."""
    return tmp_path / "cache"
