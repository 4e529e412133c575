"""Hand-checkable toy data for the model known-answer tests."""

from __future__ import annotations

import pandas as pd

from recolab.data import InteractionData, Vocabulary, build_interactions


def tiny(pairs: list[tuple[str, str]], items: list[str] | None = None) -> InteractionData:
    """Implicit data from (user, item) pairs; ``items`` fixes the item order when given."""
    frame = pd.DataFrame(pairs, columns=["user", "item"])
    frame["value"] = 1.0
    vocab = Vocabulary.from_ids(items) if items is not None else None
    return build_interactions(frame, kind="implicit", items=vocab)
