"""Hand-checkable inputs for the re-ranker known-answer tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recolab.data import InteractionData, Vocabulary, build_interactions
from recolab.rerank import Candidates


def cand(
    items: list[list[int]], scores: list[list[float]], users: list[int] | None = None
) -> Candidates:
    """Candidates of users ``0 … n-1`` (or ``users``); ``-1`` items get score ``-inf``."""
    item_arr = np.array(items, dtype=np.int64)
    score_arr = np.where(item_arr >= 0, np.array(scores, dtype=np.float64), -np.inf)
    user_arr = np.arange(len(items)) if users is None else np.array(users)
    return Candidates(user_arr, item_arr, score_arr.astype(np.float32))


def implicit(
    pairs: list[tuple[str, str]], users: list[str] | None = None, items: list[str] | None = None
) -> InteractionData:
    """Implicit data from (user, item) pairs; ``users``/``items`` fix the index order."""
    frame = pd.DataFrame(pairs, columns=["user", "item"])
    frame["value"] = 1.0
    return build_interactions(
        frame,
        kind="implicit",
        users=Vocabulary.from_ids(users) if users is not None else None,
        items=Vocabulary.from_ids(items) if items is not None else None,
    )
