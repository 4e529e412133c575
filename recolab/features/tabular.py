"""Item features from metadata columns (genres / categories), the diversity fallback."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from recolab.data.vocab import Vocabulary

logger = logging.getLogger(__name__)

#: Metadata columns read by :func:`genre_vectors`, first present wins.
GENRE_COLUMNS = ("genres", "category")


def _labels(value: object) -> list[str]:
    """Labels of one cell: a ``"|"``-separated string, or a list/tuple/set/array of labels."""
    if value is None:
        return []
    if isinstance(value, str):
        parts: Iterable[object] = value.split("|")
    elif isinstance(value, list | tuple | set | frozenset | np.ndarray | pd.Series):
        parts = value
    else:
        try:
            if pd.isna(value):
                return []
        except (TypeError, ValueError):
            pass
        parts = [value]
    out = []
    for part in parts:
        if part is None or (not isinstance(part, str) and pd.isna(part)):
            continue
        label = str(part).strip()
        if label:
            out.append(label)
    return out


def genre_column(item_meta: pd.DataFrame | None) -> str | None:
    """Name of the genre-like column of ``item_meta`` (``genres`` or ``category``), or None."""
    if item_meta is None:
        return None
    return next((c for c in GENRE_COLUMNS if c in item_meta.columns), None)


def genre_labels(item_meta: pd.DataFrame | None) -> list[str]:
    """Sorted distinct labels of the genre column; the column order of :func:`genre_vectors`."""
    column = genre_column(item_meta)
    if column is None or item_meta is None:
        return []
    return sorted({label for cell in item_meta[column] for label in _labels(cell)})


def genre_vectors(item_meta: pd.DataFrame | None, items: Vocabulary) -> np.ndarray:
    """Multi-hot genre/category vectors per item index, L2-normalised.

    Parameters
    ----------
    item_meta:
        Item metadata indexed by item id, with a ``genres`` column (preferred) or a
        ``category`` column. A cell is a ``"|"``-separated string (``"Action|Comedy"``) or a
        list of labels; blanks and duplicates are ignored.
    items:
        Item vocabulary; row ``i`` of the result is item index ``i``.

    Returns
    -------
    numpy.ndarray
        ``float32`` (len(items), n_labels), columns in :func:`genre_labels` order. A row
        with ``m`` labels has ``1/sqrt(m)`` in those columns (norm 1), so the dot product
        of two rows is their cosine similarity; items missing from ``item_meta`` or without
        labels get a zero row. Shape (len(items), 0) when there is no such column.

    Examples
    --------
    >>> meta = pd.DataFrame({"genres": ["A|B", "B"]}, index=["x", "y"])
    >>> vectors = genre_vectors(meta, Vocabulary.from_ids(["y", "x", "z"]))
    >>> (vectors > 0).astype(int).tolist()
    [[0, 1], [1, 1], [0, 0]]
    >>> np.linalg.norm(vectors, axis=1).round(6).tolist()
    [1.0, 1.0, 0.0]
    """
    column = genre_column(item_meta)
    n = len(items)
    if column is None or item_meta is None:
        logger.info("no genres/category column in the item metadata; no genre vectors")
        return np.zeros((n, 0), dtype=np.float32)
    labels = genre_labels(item_meta)
    col_of = {label: j for j, label in enumerate(labels)}
    cells = pd.Series(
        item_meta[column].to_numpy(dtype=object), index=item_meta.index.astype(str), dtype=object
    )
    if not cells.index.is_unique:
        cells = cells[~cells.index.duplicated(keep="first")]
    aligned = cells.reindex(pd.Index(items.ids, dtype=object))
    out = np.zeros((n, len(labels)), dtype=np.float32)
    for row, cell in enumerate(aligned.to_numpy(dtype=object)):
        for label in _labels(cell):
            out[row, col_of[label]] = 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out
