"""External id ⇄ row index maps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """A bijection between external ids (always strings) and indices ``0..n-1``.

    Unknown ids map to ``-1``; they never raise.

    Examples
    --------
    >>> v = Vocabulary.from_ids(["b", "a", "b"])
    >>> v.index(["a", "zzz"]).tolist()
    [1, -1]
    """

    ids: np.ndarray
    _lookup: pd.Index = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=object)
        index = pd.Index(ids)
        if not index.is_unique:
            raise ValueError("Vocabulary ids must be unique")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "_lookup", index)

    @classmethod
    def from_ids(cls, ids: Iterable[object]) -> Vocabulary:
        """Build a vocabulary from ids in first-seen order (duplicates kept once)."""
        values = pd.unique(_as_str_array(ids))
        return cls(np.asarray(values, dtype=object))

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item: object) -> bool:
        return str(item) in self._lookup

    def index(self, ids: Iterable[object]) -> np.ndarray:
        """Indices of ``ids`` (int64); ``-1`` for ids not in the vocabulary."""
        keys = pd.Index(_as_str_array(ids), dtype=object)
        return np.asarray(self._lookup.get_indexer(keys), dtype=np.int64)

    def id_of(self, indices: Iterable[int] | np.ndarray) -> np.ndarray:
        """External ids of ``indices``; ``None`` where an index is ``-1`` or out of range."""
        idx = np.asarray(indices, dtype=np.int64)
        out = np.full(idx.shape, None, dtype=object)
        ok = (idx >= 0) & (idx < len(self.ids))
        out[ok] = self.ids[idx[ok]]
        return out

    def union(self, other: Vocabulary) -> Vocabulary:
        """This vocabulary followed by the ids of ``other`` it lacks (indices here are kept)."""
        extra = [i for i in other.ids if i not in self._lookup]
        return Vocabulary(np.concatenate([self.ids, np.asarray(extra, dtype=object)]))


def _as_str_array(ids: Iterable[object]) -> np.ndarray:
    """Ids as an object array of str, without a Python-level loop for arrays and Series."""
    if isinstance(ids, pd.Series | pd.Index | np.ndarray):
        arr = np.asarray(ids)
    else:
        arr = np.asarray(list(ids), dtype=object)
    return arr.astype(str).astype(object)
