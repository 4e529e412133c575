"""One device rule for models, tuner, text encoder and jobs (recolab.device)."""

from __future__ import annotations

import pytest
import torch

from recolab.device import device_choice, resolve_device
from recolab.errors import RecolabError
from recolab.features import text as text_mod
from recolab.jobs.worker import resolve_device as job_device


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_auto_and_cpu_without_gpu(no_gpu: None) -> None:
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    assert device_choice("auto") == ("cpu", "no GPU found: training on CPU")
    assert device_choice("cpu") == ("cpu", None)


@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_cuda_without_gpu_is_an_error(no_gpu: None, name: str) -> None:
    with pytest.raises(RecolabError, match="no CUDA GPU is available"):
        resolve_device(name)


def test_unknown_device_is_named(no_gpu: None) -> None:
    with pytest.raises(RecolabError, match="unknown device 'gpu'"):
        resolve_device("gpu")


def test_every_caller_uses_the_same_rule(no_gpu: None) -> None:
    assert job_device("auto") == device_choice("auto")
    assert text_mod._resolve_device("auto") == "cpu"
    with pytest.raises(RecolabError):
        job_device("cuda")
    with pytest.raises(RecolabError):
        text_mod._resolve_device("cuda")
