"""Top-k lists of a loaded model, with the "because" column: the history items behind each
recommended item, and what that column means for the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recolab.errors import RecolabError
from recolab.studio.history import item_label, user_history


def explain(
    loaded: Any, history: Sequence[int], items: Sequence[int], n: int = 2
) -> list[list[tuple[int, float]]]:
    """For each recommended item, the ``n`` history items behind it.

    A linear model (``contributions``) names the history items that add most to the item's
    score (``W[h, i]``); the weighted network names those whose item vectors (``phi_``) sit
    closest to it (cosine).

    Returns
    -------
    list
        One list per item of ``items``: ``(history item index, value)``, largest first.
    """
    model = loaded.model
    n_items = model.n_items if hasattr(model, "contributions") else model.phi_.shape[0]
    hist = np.asarray([h for h in history if 0 <= h < n_items], dtype=int)
    if hist.size == 0:
        return [[] for _ in items]
    if hasattr(model, "contributions"):
        sims = model.contributions(hist, list(items))
    else:
        phi = np.asarray(model.phi_, dtype=np.float64)
        norms = np.linalg.norm(phi, axis=1)
        norms[norms == 0] = 1.0
        unit = phi / norms[:, None]
        sims = unit[np.asarray(items, dtype=int)] @ unit[hist].T
    out = []
    for row in np.atleast_2d(sims):
        order = np.argsort(-row, kind="stable")[:n]
        out.append([(int(hist[j]), float(row[j])) for j in order])
    return out


def because_caption(loaded: Any) -> str:
    """What the "because" column of :func:`recommendations` means for this model."""
    if hasattr(loaded.model, "contributions"):
        return (
            "*because*: the items of the history that add most to the recommended item's "
            "score (their item-item weight)."
        )
    return (
        "*because*: the items of the history closest to the recommended item "
        "(cosine of the model's item vectors)."
    )


def recommendations(
    loaded: Any,
    lam: float | Mapping[str, float],
    k: int = 10,
    *,
    user_id: str | None = None,
    history_ids: Sequence[str] | None = None,
    n_reasons: int = 2,
) -> pd.DataFrame:
    """Top-``k`` list of a known user (``user_id``) or of a new user (``history_ids``) at
    ``lam`` (a trade-off λ, or per-objective λs from
    :func:`recolab.pipeline.objective_lambdas`), with titles, scores and a "because" column
    naming the closest history items.

    Returns
    -------
    pandas.DataFrame
        Columns rank, item, title, score, because.
    """
    if user_id is not None:
        frame = loaded.recommend([str(user_id)], k=k, lam=lam)
        history = user_history(loaded, str(user_id))
    elif history_ids:
        frame = loaded.recommend_for_history([str(i) for i in history_ids], k=k, lam=lam)
        idx = loaded.model.items_.index([str(i) for i in history_ids])
        history = [int(i) for i in idx if i >= 0]
    else:
        raise RecolabError("pick a user or type at least one item of a history")
    columns = ["rank", "item", "title", "score", "because"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    rec_idx = loaded.model.items_.index(frame["item"].astype(str).tolist())
    reasons = explain(loaded, history, [int(i) for i in rec_idx], n_reasons)
    titles = frame["title"] if "title" in frame.columns else frame["item"]
    out = pd.DataFrame(
        {
            "rank": frame["rank"].to_numpy(),
            "item": frame["item"].astype(str).to_numpy(),
            "title": titles.astype(str).to_numpy(),
            "score": frame["score"].round(4).to_numpy(),
            "because": [
                "; ".join(f"{item_label(loaded, h)} ({c:.2f})" for h, c in r) for r in reasons
            ],
        }
    )
    return out
