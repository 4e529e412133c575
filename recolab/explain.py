"""What λ changed in a list, and which objective changed it (issue 15, point 5).

:func:`list_changes` compares the list a bundle serves at one λ (by default λ = 0, the base)
with the list at another: every item is *kept* (with both ranks), *added* or *dropped*, and
an added or dropped item says which objective moved it, in terms an analyst can check:

- novelty (popularity penalty): the share of training users who have the item;
- coverage (exposure greedy, trained residual): the share of the base's top-20 lists, over
  the training users, that hold the item;
- diversity (MMR): its mean cosine similarity to the other items of the list;
- revenue: its price against the median price;
- calibration: that it moves the list's categories toward the user's history.

The statistics come from the bundle alone (its histories, item vectors and the mechanism's
fitted state), so the Python API and the Recommendations page give the same answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: Length of the base lists whose exposure the coverage reason counts.
EXPOSURE_K = 20
#: At most this many training users' base lists are counted (a seeded sample beyond).
EXPOSURE_USERS = 5000


@dataclass(frozen=True)
class ItemStatistics:
    """Per-item figures the reasons quote.

    Attributes
    ----------
    user_share:
        Share of training users who have each item.
    list_share:
        Share of the base's top-:data:`EXPOSURE_K` lists (λ = 0) that hold each item.
    """

    user_share: np.ndarray
    list_share: np.ndarray


def item_statistics(model: Any) -> ItemStatistics:
    """:class:`ItemStatistics` of a fitted model with training histories (``train_``)."""
    train = model.train_
    users = np.flatnonzero(train.getnnz(axis=1) > 0)
    user_share = train.getnnz(axis=0) / max(users.size, 1)
    if users.size > EXPOSURE_USERS:
        users = np.sort(np.random.default_rng(0).choice(users, EXPOSURE_USERS, replace=False))
    lists, _ = model.recommend(users, EXPOSURE_K, lam=0.0)
    shown = lists[lists >= 0]
    list_share = np.bincount(shown, minlength=train.shape[1]) / max(users.size, 1)
    return ItemStatistics(np.asarray(user_share, dtype=float), list_share.astype(float))


def _pct(share: float) -> str:
    return f"{100 * share:.1f} %" if share >= 0.001 else f"{100 * share:.2f} %"


def objective_of(model: Any) -> str:
    """The objective the served λ weighs: the re-ranker's, else ``"trade-off"``."""
    reranker = getattr(model, "reranker", None)
    return str(reranker.objective) if reranker is not None else "trade-off"


def reason(model: Any, stats: ItemStatistics, item: int, listed: list[int], added: bool) -> str:
    """Why ``item`` entered (``added``) or left a list, by the served objective.

    ``listed`` is the list it is judged against: the new list for an added item, the old
    one for a dropped item.
    """
    objective = objective_of(model)
    verb = "added for" if added else "dropped for"
    if objective == "novelty":
        return f"{verb} novelty: {_pct(stats.user_share[item])} of users have it"
    if objective == "coverage":
        return f"{verb} coverage: in {_pct(stats.list_share[item])} of the λ = 0 lists"
    if objective == "diversity" and getattr(model, "item_vectors", None) is not None:
        return (
            f"{verb} diversity: mean similarity to the list {_similarity(model, item, listed):.2f}"
        )
    if objective == "revenue":
        prices = np.asarray(getattr(model.reranker, "prices_", []), dtype=float)
        if prices.size > item and np.isfinite(prices[item]):
            median = float(np.nanmedian(prices))
            return f"{verb} revenue: price {prices[item]:.2f} (median {median:.2f})"
    if objective == "calibration":
        return f"{verb} calibration: moves the list's categories toward the history's"
    return f"{verb} {objective}"


def _similarity(model: Any, item: int, listed: list[int]) -> float:
    vectors = np.asarray(model.item_vectors, dtype=float)
    others = [i for i in listed if i != item]
    if not others:
        return 0.0
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return float((unit[others] @ unit[item]).mean())


def change_table(
    model: Any, before: list[int], after: list[int], stats: ItemStatistics
) -> pd.DataFrame:
    """One row per item of either list: index, rank before and after (``NaN`` when absent),
    change (``kept``/``added``/``dropped``) and reason; the ``after`` list first, then what
    it dropped."""
    rank_before = {item: r for r, item in enumerate(before, start=1)}
    rank_after = {item: r for r, item in enumerate(after, start=1)}
    rows = []
    for item in after + [i for i in before if i not in rank_after]:
        was, now = rank_before.get(item), rank_after.get(item)
        if was is not None and now is not None:
            change, why = "kept", ""
        elif now is not None:
            change, why = "added", reason(model, stats, item, after, added=True)
        else:
            change, why = "dropped", reason(model, stats, item, before, added=False)
        rows.append(
            {"index": item, "rank_before": was, "rank_after": now, "change": change, "reason": why}
        )
    return pd.DataFrame(rows, columns=["index", "rank_before", "rank_after", "change", "reason"])


def list_changes(
    loaded: Any,
    *,
    user_id: str | None = None,
    history_ids: list[str] | None = None,
    k: int | None = None,
    lam: float | None = None,
    lam_from: float = 0.0,
) -> pd.DataFrame:
    """The list of a known user (``user_id``) or of a new user's history (``history_ids``)
    served at ``lam`` (default: the bundle's λ) against the list at ``lam_from`` (default
    λ = 0, the base), for a :class:`~recolab.bundle.LoadedModel`.

    Returns
    -------
    pandas.DataFrame
        Columns item, title (when the bundle has titles), rank_before, rank_after, change
        (kept, added, dropped) and reason (see the module docstring).
    """
    if (user_id is None) == (history_ids is None):
        raise ValueError("list_changes needs exactly one of user_id and history_ids")

    def served(at: float | None) -> list[int]:
        if user_id is not None:
            frame = loaded.recommend([str(user_id)], k=k, lam=at)
        else:
            frame = loaded.recommend_for_history([str(i) for i in history_ids], k=k, lam=at)
        return [int(i) for i in loaded.model.items_.index(frame["item"].astype(str).tolist())]

    model = loaded.model
    stats = getattr(loaded, "_item_statistics", None)
    if stats is None:
        stats = item_statistics(model)
        loaded._item_statistics = stats  # the bundle is read-only: computed once per load
    table = change_table(model, served(lam_from), served(lam), stats)
    ids = model.items_.ids
    table.insert(0, "item", [str(ids[i]) for i in table["index"]])
    titles = getattr(model, "item_titles_", None)
    if titles is not None:
        table.insert(1, "title", [str(titles[i]) for i in table["index"]])
    return table.drop(columns="index")
