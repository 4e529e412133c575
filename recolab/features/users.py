"""User attributes as tokens: the user side ψ(u) of the weighted model, beyond the history.

Each attribute column becomes a few tokens: a numeric column (age) its quantile bin, a
categorical column (gender, occupation) its value when enough users share it, else the
column's ``other`` token. A missing value gives no token. The model learns one vector per
token and adds the user's token vectors to the history encoding, so a user with attributes
but no history still gets personalised scores (cold start).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recolab.data.interactions import InteractionData

log = logging.getLogger(__name__)

#: Quantile bins per numeric column.
NUMERIC_BINS = 5
#: A categorical value gets its own token when at least this many users have it.
MIN_USERS_PER_VALUE = 5


@dataclass
class UserAttributeEncoder:
    """Maps user attribute values to token indices; round-trips to JSON.

    Parameters
    ----------
    columns:
        One dict per attribute column: ``{"name", "kind": "numeric", "edges": [...]}`` (bin
        ``j`` holds values with ``edges[j-1] ≤ v < edges[j]``) or ``{"name", "kind":
        "category", "values": [...]}`` (values with their own token; the rest share
        ``name=other``).

    Examples
    --------
    >>> meta = pd.DataFrame({"age": [20, 30, 40, 50]}, index=["a", "b", "c", "d"])
    >>> enc = UserAttributeEncoder.fit(meta, bins=2, min_users=1)
    >>> enc.tokens
    ['age#0', 'age#1']
    >>> enc.encode_one({"age": 45}).tolist()
    [1]
    """

    columns: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._offsets: list[int] = []
        n = 0
        for col in self.columns:
            self._offsets.append(n)
            n += self._width(col)
        self.n_tokens = n

    @staticmethod
    def _width(col: dict[str, Any]) -> int:
        if col["kind"] == "numeric":
            return len(col["edges"]) + 1
        return len(col["values"]) + 1  # + other

    @classmethod
    def fit(
        cls,
        meta: pd.DataFrame,
        *,
        bins: int = NUMERIC_BINS,
        min_users: int = MIN_USERS_PER_VALUE,
    ) -> UserAttributeEncoder:
        """Learn bins and frequent values from ``meta`` (one row per user, attribute columns;
        fit it on the training users only)."""
        columns: list[dict[str, Any]] = []
        for name in meta.columns:
            series = meta[name]
            if pd.api.types.is_numeric_dtype(series):
                values = series.dropna().to_numpy(dtype=np.float64)
                if len(values) == 0:
                    continue
                quantiles = np.quantile(values, np.arange(1, bins) / bins)
                edges = [float(e) for e in np.unique(quantiles) if e > values.min()]
                columns.append({"name": str(name), "kind": "numeric", "edges": edges})
            else:
                counts = series.dropna().astype(str).value_counts()
                frequent = sorted(counts[counts >= min_users].index.tolist())
                columns.append({"name": str(name), "kind": "category", "values": frequent})
        return cls(columns)

    @property
    def tokens(self) -> list[str]:
        """Readable token names, in index order."""
        out: list[str] = []
        for col in self.columns:
            name = col["name"]
            if col["kind"] == "numeric":
                out += [f"{name}#{j}" for j in range(len(col["edges"]) + 1)]
            else:
                out += [f"{name}={v}" for v in col["values"]] + [f"{name}=other"]
        return out

    def _token(self, c: int, value: Any) -> int | None:
        col = self.columns[c]
        if col["kind"] == "numeric":
            try:
                v = float(value)
            except (TypeError, ValueError):
                return None
            if np.isnan(v):
                return None
            return self._offsets[c] + int(np.searchsorted(col["edges"], v, side="right"))
        if value is None or pd.isna(value):
            return None
        values = col["values"]
        text = str(value).strip()
        if text == "":
            return None
        j = int(np.searchsorted(values, text))
        hit = j < len(values) and values[j] == text
        return self._offsets[c] + (j if hit else len(values))

    def encode_one(self, attributes: Mapping[str, Any]) -> np.ndarray:
        """Token indices of one user's attributes (unknown columns are ignored)."""
        out = [self._token(c, attributes.get(col["name"])) for c, col in enumerate(self.columns)]
        return np.array([t for t in out if t is not None], dtype=np.int64)

    def encode(self, meta: pd.DataFrame, user_ids: Sequence[str]) -> sp.csr_matrix:
        """Binary users × tokens matrix, rows in ``user_ids`` order; users absent from
        ``meta`` get an empty row."""
        frame = meta.reindex(pd.Index([str(u) for u in user_ids]))
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        for c, col in enumerate(self.columns):
            if col["name"] not in frame.columns:
                continue
            tokens = [self._token(c, v) for v in frame[col["name"]].tolist()]
            idx = np.array([i for i, t in enumerate(tokens) if t is not None], dtype=np.int64)
            rows.append(idx)
            cols.append(np.array([tokens[i] for i in idx], dtype=np.int64))
        r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        k = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        m = sp.csr_matrix((np.ones(len(r), np.float32), (r, k)), shape=(len(frame), self.n_tokens))
        m.sort_indices()
        return m

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {"columns": [dict(c) for c in self.columns]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> UserAttributeEncoder:
        """Inverse of :meth:`to_dict`."""
        return cls([dict(c) for c in d["columns"]])


def user_attribute_summary(data: InteractionData) -> dict[str, Any] | None:
    """How the user attributes of a dataset (``data.user_meta``) match its interaction log.

    Returns
    -------
    dict or None
        ``None`` when the dataset has no user attributes; otherwise

        - ``columns``: the attribute columns, in file order;
        - ``rows``: rows of the users file;
        - ``users``: users of the log;
        - ``users_with_attributes``: users of the log that have a row in the users file
          (the others train without attributes);
        - ``unknown_ids``: rows of the users file naming a user who is not in the log (not
          used, counted here rather than dropped silently);
        - ``missing``: attribute column → share of empty cells over the users of the log that
          have a row (NaN when none has);
        - ``table``: one row per attribute (``attribute``, ``type``, ``distinct``,
          ``missing``) for display.
    """
    meta = data.user_meta
    if meta is None:
        return None
    ids = meta.index.astype(str)
    in_log = ids.isin(pd.Index(data.users.ids.astype(str)))
    known = meta[in_log]
    missing = {
        str(c): float(known[c].isna().mean()) if len(known) else float("nan") for c in meta.columns
    }
    table = pd.DataFrame(
        {
            "attribute": [str(c) for c in meta.columns],
            "type": [
                "number" if pd.api.types.is_numeric_dtype(meta[c]) else "text" for c in meta.columns
            ],
            "distinct": [int(known[c].nunique()) for c in meta.columns],
            "missing": [missing[str(c)] for c in meta.columns],
        }
    )
    summary: dict[str, Any] = {
        "columns": [str(c) for c in meta.columns],
        "rows": len(meta),
        "users": int(data.n_users),
        "users_with_attributes": int(in_log.sum()),
        "unknown_ids": int((~in_log).sum()),
        "missing": missing,
        "table": table,
    }
    if summary["unknown_ids"]:
        log.info(
            "%d of %d rows of the users file name users not in the log",
            summary["unknown_ids"],
            summary["rows"],
        )
    return summary
