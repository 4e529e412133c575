"""Where computation runs: one rule for every model, the training loop and the tuner."""

from __future__ import annotations

import torch

from recolab.errors import RecolabError


def resolve_device(name: str = "auto") -> torch.device:
    """CUDA when asked for or available ("auto"), else CPU; asking for CUDA without one is an
    error that says so."""
    if name == "cuda" and not torch.cuda.is_available():
        raise RecolabError("device 'cuda' was asked for, but no CUDA GPU is available")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
