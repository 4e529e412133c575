"""ML-100K u1.base / u1.test as InteractionData, built directly (no loader), cached."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from recolab.data import InteractionData, Vocabulary, build_interactions

ML100K = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "ml-100k"

GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip


def _read(name: str) -> pd.DataFrame:
    frame = pd.read_csv(
        ML100K / name, sep="\t", header=None, names=["user", "item", "rating", "timestamp"]
    )
    frame["value"] = frame["rating"].astype(float)
    return frame[["user", "item", "value", "rating"]]


def _item_meta() -> pd.DataFrame:
    cols = ["item", "title", "date", "video", "url", *GENRES]
    raw = pd.read_csv(ML100K / "u.item", sep="|", header=None, names=cols, encoding="latin-1")
    flags = raw[GENRES].to_numpy(dtype=bool)
    genres = ["|".join(g for g, on in zip(GENRES, row, strict=True) if on) for row in flags]
    return pd.DataFrame(
        {"title": raw["title"].to_numpy(), "genres": genres}, index=raw["item"].astype(str)
    )


@lru_cache(maxsize=1)
def ml100k_u1() -> tuple[InteractionData, InteractionData]:
    """(train, test) sharing one user and one item vocabulary; genres in train.item_meta."""
    base, test = _read("u1.base"), _read("u1.test")
    both = pd.concat([base, test])
    users = Vocabulary.from_ids(both["user"])
    items = Vocabulary.from_ids(both["item"])
    meta = _item_meta()
    train_data = build_interactions(
        base, kind="explicit", users=users, items=items, item_meta=meta, name="u1.base"
    )
    test_data = build_interactions(
        test, kind="explicit", users=users, items=items, item_meta=meta, name="u1.test"
    )
    return train_data, test_data
