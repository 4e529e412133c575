"""Where computation runs: one rule for every model, the training loop, the tuner, the text
encoder and the job worker."""

from __future__ import annotations

import torch

from recolab.errors import RecolabError

__all__ = ["device_choice", "resolve_device"]


def resolve_device(name: str | None = "auto") -> torch.device:
    """CUDA when asked for or available (``"auto"`` or ``None``), else CPU.

    Asking for CUDA (``"cuda"``, ``"cuda:1"``) without a GPU, or for a device that is neither
    ``auto``, ``cpu`` nor ``cuda``, is an error that says so rather than a silent fallback.
    """
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if not name.startswith("cuda"):
        raise RecolabError(f"unknown device {name!r}; use auto, cpu or cuda")
    if not torch.cuda.is_available():
        raise RecolabError(
            f"device {name!r} was asked for, but no CUDA GPU is available "
            "(torch.cuda.is_available() is False); use auto or cpu"
        )
    return torch.device(name)


def device_choice(name: str | None = "auto") -> tuple[str, str | None]:
    """:func:`resolve_device` as ``(device, note for the user or None)``: ``"auto"`` on a
    machine without a GPU gives ``("cpu", "no GPU found: training on CPU")``."""
    device = resolve_device(name)
    asked = (name or "auto").strip().lower()
    note = "no GPU found: training on CPU" if asked == "auto" and device.type == "cpu" else None
    return str(device), note
