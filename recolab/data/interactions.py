"""The validated in-memory form of a data set."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recolab.data.report import DataReport
from recolab.data.vocab import Vocabulary

#: The frame's string id columns; the vocabularies hold the same ids.
ID_COLUMNS = ("user", "item")


@dataclass(eq=False)
class InteractionData:
    """Interactions of users with items, with id maps and optional item metadata.

    Attributes
    ----------
    users, items:
        Vocabularies. In a train/test split both halves share the same vocabularies, so
        indices agree; an item may have no interaction in one half.
    frame:
        One row per (user, item) pair after cleaning: ``user``, ``item`` (str ids),
        ``user_idx``, ``item_idx`` (int64), ``value`` (float: the rating for explicit data,
        else the interaction strength, e.g. a count or quantity) and optionally
        ``rating``, ``timestamp`` (datetime64[ns]), ``quantity``, ``price``, ``event``.
    kind:
        ``"explicit"`` (ratings) or ``"implicit"`` (events).
    item_meta:
        Optional, indexed by item id (str): ``title``, ``text``, ``genres``, ``price``, …
        ``text`` is what the text encoder embeds.
    user_meta:
        Optional, indexed by user id (str).
    report:
        How the data were loaded.
    """

    users: Vocabulary
    items: Vocabulary
    frame: pd.DataFrame
    kind: str = "implicit"
    item_meta: pd.DataFrame | None = None
    user_meta: pd.DataFrame | None = None
    report: DataReport | None = None
    name: str = ""
    _matrices: dict[tuple[str, bool], sp.csr_matrix] = field(
        default_factory=dict, init=False, repr=False
    )

    @property
    def n_users(self) -> int:
        """Number of users in the vocabulary."""
        return len(self.users)

    @property
    def n_items(self) -> int:
        """Number of items in the vocabulary."""
        return len(self.items)

    @property
    def n_interactions(self) -> int:
        """Number of (user, item) pairs."""
        return len(self.frame)

    @property
    def user_items(self) -> sp.csr_matrix:
        """CSR matrix, users × items, of ``value`` (float32)."""
        return self.matrix("value")

    def matrix(self, column: str = "value", binary: bool = False) -> sp.csr_matrix:
        """CSR users × items matrix of ``column`` (or of ones when ``binary``).

        Built once per (column, binary) and shared: treat it as read-only (the frame of an
        :class:`InteractionData` is not changed after construction; :meth:`with_frame` makes
        a new object).
        """
        key = (column, binary)
        if key not in self._matrices:
            data = (
                np.ones(len(self.frame), dtype=np.float32)
                if binary
                else self.frame[column].to_numpy(dtype=np.float32)
            )
            m = sp.csr_matrix(
                (data, (self.frame["user_idx"].to_numpy(), self.frame["item_idx"].to_numpy())),
                shape=(self.n_users, self.n_items),
                dtype=np.float32,
            )
            m.sum_duplicates()
            m.sort_indices()
            self._matrices[key] = m
        return self._matrices[key]

    @property
    def item_texts(self) -> list[str] | None:
        """Text per item index (empty string when unknown), or ``None`` without metadata."""
        if self.item_meta is None or "text" not in self.item_meta.columns:
            return None
        texts = self.item_meta["text"].reindex(pd.Index(self.items.ids)).fillna("")
        return [str(t) for t in texts]

    def with_frame(self, frame: pd.DataFrame, name: str | None = None) -> InteractionData:
        """Same vocabularies and metadata, other interactions (used by splits)."""
        return replace(self, frame=frame.reset_index(drop=True), name=name or self.name)

    def without_ids(self) -> InteractionData:
        """The same interactions without the frame's string ids (:data:`ID_COLUMNS`): the
        vocabularies keep them and ``user_idx``/``item_idx`` point into them, which is all
        fitting and judging read. Copies nothing (pandas shares the other columns) and shares
        the built matrices; splits of it copy about half the bytes of a frame with ids
        (32 against 58 a row for ids of a few characters, value and timestamp)."""
        ids = [c for c in ID_COLUMNS if c in self.frame.columns]
        if not ids:
            return self
        lean = self.with_frame(self.frame.drop(columns=ids))
        lean._matrices = self._matrices
        return lean

    def density(self) -> float:
        """Fraction of the users × items matrix that is filled."""
        cells = self.n_users * self.n_items
        return self.n_interactions / cells if cells else 0.0


def build_interactions(
    frame: pd.DataFrame,
    *,
    kind: str,
    users: Vocabulary | None = None,
    items: Vocabulary | None = None,
    item_meta: pd.DataFrame | None = None,
    user_meta: pd.DataFrame | None = None,
    report: DataReport | None = None,
    name: str = "",
) -> InteractionData:
    """Make an :class:`InteractionData` from a clean frame with ``user``, ``item``, ``value``.

    Vocabularies are built from the frame (and the item metadata's ids, so catalogue items
    without interactions get an index too) unless given. Ids are turned into strings.
    """
    frame = frame.copy()
    frame["user"] = frame["user"].astype(str)
    frame["item"] = frame["item"].astype(str)
    if users is None:
        users = Vocabulary.from_ids(frame["user"])
    if items is None:
        ids = list(frame["item"])
        if item_meta is not None:
            ids += [str(i) for i in item_meta.index]
        items = Vocabulary.from_ids(ids)
    frame["user_idx"] = users.index(frame["user"])
    frame["item_idx"] = items.index(frame["item"])
    if (frame["user_idx"] < 0).any() or (frame["item_idx"] < 0).any():
        raise ValueError("build_interactions: frame has ids missing from the given vocabularies")
    return InteractionData(
        users=users,
        items=items,
        frame=frame.reset_index(drop=True),
        kind=kind,
        item_meta=item_meta,
        user_meta=user_meta,
        report=report,
        name=name,
    )


def item_titles(data: InteractionData) -> list[str] | None:
    """Titles per item index from the item metadata: its ``title``, else its ``name``, else
    its ``description`` (per item, the first non-empty), ``""`` where none; ``None`` when the
    metadata has none of these columns."""
    meta = data.item_meta
    if meta is None:
        return None
    columns = [c for c in ("title", "name", "description") if c in meta.columns]
    if not columns:
        return None
    index = pd.Index(data.items.ids)
    titles = pd.Series("", index=index, dtype=object)
    for column in reversed(columns):
        values = meta[column].reindex(index).fillna("").astype(str).str.strip()
        titles = values.where(values != "", titles)
    return [str(t) for t in titles]


def data_fingerprint(data: InteractionData) -> str:
    """SHA-256 of the binary user × item matrix and the user and item ids (order-sensitive:
    the same file loaded the same way gives the same fingerprint)."""
    m = data.matrix(binary=True)
    h = hashlib.sha256()
    for a in (m.indptr, m.indices):
        h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
    for ids in (data.users.ids, data.items.ids):
        h.update("\x1f".join(map(str, ids)).encode())
        h.update(b"\x1e")
    return h.hexdigest()
