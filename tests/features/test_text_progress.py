"""The text encoder reports (done, total) as it embeds: after loading and per batch."""

from __future__ import annotations

from pathlib import Path

from recolab.features.text import TextEncoder


def test_progress_per_batch_then_all_cached(cache_dir: Path) -> None:
    encoder = TextEncoder(device="cpu", cache_dir=cache_dir, batch_size=2)
    texts = ["red wool hat", "blue mug", "red wool hat", "", "tea towel", "candle holder", "lamp"]
    seen: list[tuple[int, int]] = []
    encoder.encode(texts, on_progress=lambda d, t: seen.append((d, t)))
    # 5 distinct non-empty texts: 0 once the model is loaded, then per batch of 2
    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]
    again: list[tuple[int, int]] = []
    encoder.encode([*texts, "new text"], on_progress=lambda d, t: again.append((d, t)))
    assert again == [(5, 6), (6, 6)]  # the cached five count as done at once
    cached: list[tuple[int, int]] = []
    encoder.encode(texts[:2], on_progress=lambda d, t: cached.append((d, t)))
    assert cached == [(2, 2)]
