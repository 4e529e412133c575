"""Reading a table of user attributes (one row per user), refusing ambiguous ids."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from recolab.data.cells import NA_WORDS, clean_ids, finite_numbers
from recolab.data.columns import ROLE_ALIASES, detect_columns, list_columns, mapped_roles
from recolab.data.tables import RawTable, read_table
from recolab.errors import DataError

log = logging.getLogger(__name__)

#: Aliases of the one role a user-attribute file has (used by :func:`load_users`).
USER_ROLE_ALIASES: dict[str, tuple[str, ...]] = {"user": ROLE_ALIASES["user"]}

#: Attribute columns of MovieLens-100K ``u.user`` after the user id, and whether each is numeric.
ML100K_USER_COLUMNS = (("age", True), ("gender", False), ("occupation", False), ("zip", False))


def _is_ml100k_users(path: Path, raw: RawTable) -> bool:
    """Headerless, five columns, and called ``u.user`` or shaped like it (``|``-separated,
    numeric age, gender M/F)."""
    if raw.header or raw.frame.shape[1] != 1 + len(ML100K_USER_COLUMNS):
        return False
    if path.name == "u.user":
        return True
    if raw.delimiter != "|":
        return False
    df = raw.frame
    age = df["col2"].dropna()
    gender = df["col3"].dropna().astype("str").str.strip().str.upper()
    return bool(
        len(age)
        and finite_numbers(age).notna().all()
        and len(gender)
        and gender.isin(["M", "F"]).all()
    )


def _text_cells(series: pd.Series) -> pd.Series:
    """Stripped strings; NaN where missing or empty."""
    out = series.astype("string").str.strip()
    out = out.mask(out == "")
    return out.astype("object").where(out.notna(), np.nan)


def _attribute(series: pd.Series, numeric: bool | None) -> pd.Series:
    """An attribute column: float64 if ``numeric`` (or, when ``None``, if every non-empty
    cell parses as a number), else stripped strings; empty cells are NaN. In a numeric
    column, NA-like words (``NA``, ``null``, …) are missing too; in a text column they are
    text."""
    text = _text_cells(series)
    words = text.astype("string").str.lower().isin(NA_WORDS).fillna(False).to_numpy(dtype=bool)
    present = text.notna().to_numpy(dtype=bool) & ~words
    numbers = finite_numbers(series)
    if numeric is None:
        if pd.api.types.is_bool_dtype(series.dtype):
            numeric = False
        else:
            numeric = bool((numbers.notna().to_numpy() == present).all())
    if numeric:
        return numbers.where(present).astype("float64")
    return text


def detect_user_id_column(path: str | Path) -> tuple[list[str], str | None]:
    """The columns of a user attributes file and the user id column :func:`load_users` finds
    without a mapping (``None`` when it finds none).

    Columns of a file without a header are called ``col1``, ``col2``, …; MovieLens-100K
    ``u.user`` gives ``col1``.

    Raises
    ------
    DataError
        As :func:`read_table`.
    """
    path = Path(path)
    raw = read_table(path)
    columns = [str(c) for c in raw.frame.columns]
    if _is_ml100k_users(path, raw):
        return columns, "col1"
    if not raw.header:
        return columns, None
    return columns, detect_columns(columns, USER_ROLE_ALIASES).get("user")


def _user_columns(
    path: Path, raw: RawTable, mapping: Mapping[str, str] | None
) -> tuple[str, dict[str, str], dict[str, bool | None]]:
    """The user id column, and each attribute column's name and kind (numeric: True,
    text: False, detect: None), from ML-100K's ``u.user`` layout, the mapping or the
    header."""
    name = str(path)
    columns = list(raw.frame.columns)
    if not mapping and _is_ml100k_users(path, raw):
        attrs = columns[1:]
        names = {c: attr for c, (attr, _) in zip(attrs, ML100K_USER_COLUMNS, strict=True)}
        kinds = {c: num for c, (_, num) in zip(attrs, ML100K_USER_COLUMNS, strict=True)}
        return "col1", names, kinds
    roles = mapped_roles(mapping, columns, USER_ROLE_ALIASES, name)
    if "user" not in roles and not raw.header:
        raise DataError(
            f"no header row and {len(columns)} columns: cannot tell which column is the "
            "user id; add a header (e.g. userId,age,…) or pass a mapping user=col1",
            file=name,
        )
    if raw.header:
        roles.update(detect_columns(columns, USER_ROLE_ALIASES, taken=roles))
    if "user" not in roles:
        raise DataError(
            f"no user id column found; columns found: {list_columns(columns)}. Name it "
            f"(e.g. {ROLE_ALIASES['user'][0]}) or pass a mapping user=COLUMN",
            file=name,
        )
    id_col = roles["user"]
    attrs = [c for c in columns if c != id_col]
    if not attrs:
        raise DataError(
            f"the file has a user id column ({id_col}) but no attribute columns", file=name
        )
    return id_col, {c: c for c in attrs}, dict.fromkeys(attrs)


def _user_ids(column: pd.Series, rows: np.ndarray, name: str) -> pd.Series:
    """The cleaned user ids of ``column`` (file rows ``rows``); an empty id or a repeated
    one is an error naming its row."""
    cleaned = clean_ids(column)
    for rule in cleaned.rules("user"):
        log.info("%s: %s", name, rule)
    ids = cleaned.ids
    missing = ids.isna().to_numpy()
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        what = (
            "user id is an NA marker (NA, null, …) in a numeric column"
            if cleaned.na_marker[first]
            else "empty user id"
        )
        raise DataError(what, file=name, row=int(rows[first]), column=str(column.name))
    repeat = ids.duplicated(keep="first").to_numpy()
    if repeat.any():
        pos = int(np.flatnonzero(repeat)[0])
        uid = str(ids.iloc[pos])
        first = int(rows[np.flatnonzero((ids == uid).to_numpy())[0]])
        raise DataError(
            f"user id {uid!r} appears again (first on row {first}); each user must have "
            "exactly one row",
            file=name,
            row=int(rows[pos]),
            column=str(column.name),
        )
    return ids


def load_users(path: str | Path, mapping: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Load a table of user attributes, indexed by user id (str).

    Parameters
    ----------
    path:
        CSV/TSV/Parquet with a header, a user id column (found by its name, e.g. ``userId``,
        ``customer_id``, ``visitor``) and any number of attribute columns; or MovieLens-100K
        ``u.user`` (``id|age|gender|occupation|zip``, no header).
    mapping:
        ``{"user": COLUMN}`` names the user id column; overrides detection. For a file
        without a header, columns are called ``col1``, ``col2``, …

    Returns
    -------
    pandas.DataFrame
        Index ``user`` (ids as strings, in file order); one column per attribute, in file
        order. A column whose non-empty cells are all numbers is ``float64``; any other holds
        stripped strings. Empty cells are NaN (a missing attribute). ML-100K gives ``age``
        (float64), ``gender``, ``occupation`` and ``zip`` (strings, leading zeros kept).

    Raises
    ------
    DataError
        As :func:`read_table`; no header and no mapping; no user id column (the message lists
        the columns found); a row with an empty user id (naming the row and column); a user
        id on two rows (naming the row of the repeat and the id); no attribute columns.

    Examples
    --------
    >>> users = load_users("sample_data/ml-100k/u.user")  # doctest: +SKIP
    >>> users.loc["1"].tolist()  # doctest: +SKIP
    [24.0, 'M', 'technician', '85711']
    """
    path = Path(path)
    name = str(path)
    raw = read_table(path)
    id_col, names, kinds = _user_columns(path, raw, mapping)
    df = raw.frame
    blank = df.isna().all(axis=1).to_numpy()
    if blank.any():
        log.info("%s: %d empty lines skipped", name, int(blank.sum()))
    rows = np.arange(1, len(df) + 1, dtype=np.int64)[~blank]
    df = df[~blank]
    ids = _user_ids(df[id_col], rows, name)
    out = pd.DataFrame(
        {names[c]: _attribute(df[c], kinds[c]).to_numpy() for c in names},
        index=pd.Index(ids.astype("str"), name="user"),
    )
    log.info("%s: read %d users with %d attribute columns", name, len(out), out.shape[1])
    return out
