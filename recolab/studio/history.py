"""Users and histories of a loaded model: user ids, a user's history, item labels, and
matching a typed history (ids, then titles, never substrings) to items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from recolab.errors import RecolabError


def user_ids(loaded: Any, limit: int | None = None) -> list[str]:
    """External ids of the users the model knows (training users)."""
    ids = [str(u) for u in loaded.model.users_.ids]
    return ids[:limit] if limit else ids


def user_history(loaded: Any, user_id: str) -> list[int]:
    """Item indices of a known user's training history."""
    idx = int(loaded.model.users_.index([str(user_id)])[0])
    if idx < 0:
        raise RecolabError(f"unknown user {user_id!r}")
    m = loaded.model.train_
    return [int(i) for i in m.indices[m.indptr[idx] : m.indptr[idx + 1]]]


def item_label(loaded: Any, index: int) -> str:
    """``"title (id)"`` or the id when the model has no titles."""
    item = str(loaded.model.items_.ids[index])
    titles = loaded.model.item_titles_
    if titles is not None and str(titles[index]).strip():
        return f"{titles[index]} ({item})"
    return item


@dataclass
class HistoryMatch:
    """How one typed history entry was resolved.

    ``how`` is ``"id"``, ``"title"`` (the whole title, case-insensitive), ``"title
    without year"`` ("Heat" → "Heat (1995)"), ``"words"`` (every word of the entry is a whole
    word of exactly one title), ``"ambiguous"`` (several titles: ``options``, nothing taken)
    or ``"none"``.
    """

    entry: str
    how: str
    item: str | None = None
    options: list[str] = field(default_factory=list)
    label: str | None = None  # "title (id)" of the item taken


_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")


def match_history(loaded: Any, text: str) -> list[HistoryMatch]:
    """Resolve a typed history (ids or titles, separated by commas, semicolons or new lines)
    entry by entry: an item id first, then an exact title, then the title without its
    year, then whole words; an entry that fits several titles at the first level that
    matches is ambiguous and is not taken (never a substring: "Heat" is not "Theater")."""
    ids = [str(i) for i in loaded.model.items_.ids]
    titles = [str(t) for t in (loaded.model.item_titles_ or [])]
    levels = [
        ("title", [t.lower() for t in titles], lambda e, t: e == t),
        ("title without year", [_YEAR.sub("", t).lower() for t in titles], lambda e, t: e == t),
        ("words", [t.lower() for t in titles], _has_words),
    ]
    known = set(ids)
    out: list[HistoryMatch] = []
    for entry in (e.strip() for e in re.split(r"[,;\n]", text or "")):
        if not entry:
            continue
        match = HistoryMatch(entry, "id", entry) if entry in known else None
        out.append(match or _match_title(entry, ids, titles, levels))
    index = {item: n for n, item in enumerate(ids)}
    for match in out:
        if match.item is not None:
            match.label = item_label(loaded, index[match.item])
    return out


def _has_words(entry: str, title: str) -> bool:
    return all(re.search(rf"\b{re.escape(w)}\b", title) for w in entry.split())


def _match_title(
    entry: str, ids: list[str], titles: list[str], levels: list[tuple[str, list[str], Any]]
) -> HistoryMatch:
    needle = entry.lower()
    for how, keys, fits in levels:
        hits = [n for n, key in enumerate(keys) if fits(needle, key)]
        if len(hits) == 1:
            return HistoryMatch(entry, how, ids[hits[0]])
        if hits:
            return HistoryMatch(entry, "ambiguous", options=[titles[n] for n in hits[:8]])
    return HistoryMatch(entry, "none")


def parse_history(loaded: Any, text: str) -> tuple[list[str], list[str]]:
    """Item ids of a typed history (see :func:`match_history`), no repeats, and the entries
    that were not taken (matched nothing, or several titles)."""
    ids: list[str] = []
    unknown: list[str] = []
    for match in match_history(loaded, text):
        if match.item is None:
            unknown.append(match.entry)
        elif match.item not in ids:
            ids.append(match.item)
    return ids, unknown
