"""The dashboard's export: the model card of a loaded bundle (:mod:`recolab.bundle.card`), the
bundle at the chosen λ and k, and the bytes for a download button.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from recolab.bundle import card as bundle_card
from recolab.bundle.card import CARD_MEMBER, pareto_position

__all__ = ["export_at", "model_card", "pareto_position", "read_bytes", "zip_members"]


def model_card(loaded: Any, lam: float, metrics: Mapping[str, float], **options: Any) -> str:
    """:func:`recolab.bundle.card.model_card` of a loaded bundle (the Export page's card)."""
    return bundle_card.model_card(loaded.config, lam, metrics, **options)


def export_at(
    loaded: Any,
    lam: float,
    out: str | Path,
    *,
    alpha: Sequence[float] = (0.0, 0.0, 1.0),
    metrics: Mapping[str, float] | None = None,
    card: str | None = None,
    k: int | None = None,
) -> Path:
    """Write the loaded model as a bundle whose default λ is ``lam`` and default list length
    ``k`` (k* chosen by α; ``None``: unset), with the same weights, front, validation
    cut-off curves and protocol, and ``MODEL_CARD.md`` added to the zip; returns its path."""
    from recolab.bundle import export_bundle

    cfg = loaded.config
    path = export_bundle(
        loaded.model,
        out,
        lam=float(lam),
        alpha=tuple(float(a) for a in alpha),  # type: ignore[arg-type]
        metrics=dict(metrics or {}),
        front=list(cfg.get("front") or []),
        protocol=dict(cfg.get("protocol") or {}),
        text_model=cfg.get("text_model"),
        train_seconds=cfg.get("train_seconds"),
        device=cfg.get("device"),
        extra_files={CARD_MEMBER: card.encode()} if card is not None else None,
        k=k,
        cutoffs=cfg.get("cutoffs"),
    )
    return Path(path)


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a file (for a download button)."""
    with open(path, "rb") as fh:
        return fh.read()


def zip_members(data: bytes) -> list[str]:
    """Names inside a zip given as bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.namelist()
