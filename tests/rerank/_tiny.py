"""Hand-checkable inputs for the re-ranker known-answer tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recolab.data import InteractionData, Vocabulary, build_interactions
from recolab.data.prices import ITEM_PRICE
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
    data = build_interactions(
        frame,
        kind="implicit",
        users=Vocabulary.from_ids(users) if users is not None else None,
        items=Vocabulary.from_ids(items) if items is not None else None,
    )
    # every item priced 1, 4 or 7 (by index), so the revenue re-ranker has prices to use
    priced = data.frame.assign(**{ITEM_PRICE: 1.0 + 3.0 * (data.frame["item_idx"] % 3)})
    return data.with_frame(priced)
