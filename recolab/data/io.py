"""Reading interaction logs and item catalogues into validated :class:`InteractionData`.

Every row read is accounted for in the :class:`~recolab.data.report.DataReport`: it is kept,
dropped (counted under one reason, with a few example row numbers) or merged into another row
with the same (user, item) pair. Bad input raises one :class:`~recolab.errors.DataError` that
names the file, and the row and column where they apply.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import logging
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recolab.data.columns import (
    ITEM_ROLE_ALIASES,
    ROLE_ALIASES,
    detect_columns,
    normalise,
    resolve_column,
)
from recolab.data.interactions import InteractionData
from recolab.data.report import DataReport
from recolab.data.vocab import Vocabulary
from recolab.errors import DataError

log = logging.getLogger(__name__)

#: Duplicate policies for rows with the same (user, item) pair.
DUPLICATE_POLICIES = ("last", "sum", "mean", "max")

#: Users / items with fewer interactions than this are counted as cold in the report.
COLD_THRESHOLD = 5

#: Stock codes of a retail log that are not products (postage, fees, manual adjustments, …).
NON_PRODUCT_CODES = frozenset(
    {
        "POST",
        "DOT",
        "M",
        "D",
        "C2",
        "C3",
        "S",
        "B",
        "BANK CHARGES",
        "PADS",
        "AMAZONFEE",
        "CRUK",
        "ADJUST",
        "ADJUST2",
        "TEST001",
        "TEST002",
    }
)
_NON_PRODUCT_PATTERN = re.compile(r"^gift_\d+_\d+$", re.IGNORECASE)

#: Delimiters tried when sniffing a text file.
DELIMITERS = (",", "\t", ";", "|")

#: Positional roles of a headerless file, by number of columns.
HEADERLESS_ROLES = {
    2: ("user", "item"),
    3: ("user", "item", "rating"),
    4: ("user", "item", "rating", "timestamp"),
}

#: ML-100K genre names in flag order (used when ``u.genre`` is not beside ``u.item``).
ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)

_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 50
_INTEGRAL_FLOAT = re.compile(r"^-?\d+\.0+$")


# --------------------------------------------------------------------------------------------
# Reading a table
# --------------------------------------------------------------------------------------------


@dataclass
class RawTable:
    """A table as read from disk, before any role is assigned.

    Attributes
    ----------
    frame:
        The cells; text files are read as strings (missing cells are NA).
    header:
        Whether the first line was a header. Headerless columns are named ``col1``, ``col2``…
    fmt:
        ``"csv"`` or ``"parquet"``.
    delimiter, encoding:
        What was detected for text files.
    """

    frame: pd.DataFrame
    header: bool
    fmt: str
    delimiter: str | None = None
    encoding: str | None = None


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    if not head:
        return False
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return control / len(head) > 0.05


def _decode_head(head: bytes, truncated: bool) -> tuple[str, str]:
    """Decode the first bytes: UTF-8 (BOM allowed) first, else latin-1."""
    try:
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        return decoder.decode(head, final=not truncated), "utf-8-sig"
    except UnicodeDecodeError:
        return head.decode("latin-1"), "latin-1"


def _sniff_delimiter(lines: list[str]) -> str:
    """The candidate delimiter giving the most consistent field count above one."""
    best: tuple[float, int, int] | None = None
    best_delim = ","
    for rank, delim in enumerate(DELIMITERS):
        counts = [len(row) for row in csv.reader(lines, delimiter=delim)]
        if not counts:
            continue
        values, freq = np.unique(counts, return_counts=True)
        mode = int(values[np.argmax(freq)])
        if mode <= 1:
            continue
        score = (float(freq.max()) / len(counts), mode, -rank)
        if best is None or score > best:
            best, best_delim = score, delim
    return best_delim


def _cell_kind(cell: str) -> str:
    cell = cell.strip()
    return "e" if not cell else "n" if _looks_numeric(cell) else "t"


def _sniff_header(rows: list[list[str]]) -> bool:
    """Whether the first of ``rows`` is a header.

    A header if a cell names a known column (``userId``, ``rating``, …); not a header if the
    first row is all numbers, or has a number and the same pattern of number / text / empty
    cells as most later rows; a header if a text cell heads a column of numbers; else a
    header (the safe default: a wrong guess shows up as an unknown column name).
    """
    first = [c.strip() for c in rows[0]]
    known = {a for aliases in ROLE_ALIASES.values() for a in aliases}
    known |= {a for aliases in ITEM_ROLE_ALIASES.values() for a in aliases}
    if any(normalise(c) in known for c in first if c):
        return True
    kinds = [_cell_kind(c) for c in first]
    if "n" in kinds and "t" not in kinds:
        return False
    rest = rows[1:]
    if rest and "n" in kinds:
        sigs = pd.Series(["".join(_cell_kind(c) for c in r) for r in rest])
        if "".join(kinds) == sigs.mode().iloc[0]:
            return False
    for j, cell in enumerate(first):
        if _cell_kind(cell) != "t":
            continue
        col = [r[j].strip() for r in rest if len(r) > j and r[j].strip()]
        if col and sum(_looks_numeric(c) for c in col) >= 0.8 * len(col):
            return True
    return True


def _line_number(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def read_table(path: str | Path, *, header: bool | None = None) -> RawTable:
    """Read a CSV/TSV/Parquet file into strings, detecting format, delimiter, header, encoding.

    Parameters
    ----------
    path:
        The file. Parquet is recognised by extension (``.parquet``, ``.pq``) or magic bytes;
        gzip-compressed text by its magic bytes. Text is decoded as UTF-8, else latin-1.
    header:
        Force header detection on (``True``) or off (``False``); ``None`` sniffs.

    Returns
    -------
    RawTable

    Raises
    ------
    DataError
        Empty file, binary content, malformed rows (naming the row), header without rows.
    FileNotFoundError
        The file does not exist.
    """
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", name)
    if path.is_dir():
        raise DataError("is a folder, not a file", file=name)
    if path.stat().st_size == 0:
        raise DataError("the file is empty", file=name)
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1" or path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise DataError(f"cannot read as Parquet: {exc}", file=name) from exc
        if len(frame) == 0:
            raise DataError("the Parquet file has columns but no rows", file=name)
        frame.columns = [str(c) for c in frame.columns]
        return RawTable(frame=frame, header=True, fmt="parquet")

    compression: str | None = None
    opener = path.open
    if magic[:2] == b"\x1f\x8b":
        compression = "gzip"

        def opener(mode: str = "rb"):  # type: ignore[no-redef]
            return gzip.open(path, mode)

    with opener("rb") as fh:
        head = fh.read(_SNIFF_BYTES + 1)
    truncated = len(head) > _SNIFF_BYTES
    head = head[:_SNIFF_BYTES]
    if _is_binary(head):
        raise DataError(
            "not a text table: the file holds binary (non-text) bytes; "
            "expected CSV, TSV or Parquet",
            file=name,
        )
    text, encoding = _decode_head(head, truncated)
    lines = text.splitlines()
    if truncated and lines:
        lines = lines[:-1]
    lines = [ln for ln in lines if ln.strip()][:_SNIFF_LINES]
    if not lines:
        raise DataError("the file is empty (only blank lines)", file=name)
    delimiter = _sniff_delimiter(lines)
    rows = list(csv.reader(lines, delimiter=delimiter))
    has_header = _sniff_header(rows) if header is None else header

    def _read(enc: str) -> pd.DataFrame:
        kwargs: dict[str, object] = {}
        if not has_header:
            kwargs["names"] = [f"col{j + 1}" for j in range(len(rows[0]))]
        return pd.read_csv(
            path,
            sep=delimiter,
            header=0 if has_header else None,
            dtype=str,
            keep_default_na=True,
            skip_blank_lines=False,
            encoding=enc,
            compression=compression,
            engine="c",
            **kwargs,
        )

    try:
        try:
            frame = _read(encoding)
        except UnicodeDecodeError:
            if encoding == "latin-1":
                raise
            log.info("%s: not valid UTF-8 past the first bytes; reading as latin-1", name)
            encoding = "latin-1"
            frame = _read(encoding)
    except pd.errors.EmptyDataError as exc:
        raise DataError("the file is empty", file=name) from exc
    except pd.errors.ParserError as exc:
        line = _line_number(str(exc))
        row = None if line is None else (line - 1 if has_header else line)
        raise DataError(
            f"malformed row: {str(exc).splitlines()[-1].strip()}", file=name, row=row
        ) from exc
    if len(frame) == 0 or frame.isna().all(axis=None):
        raise DataError(
            "the file has a header but no data rows" if has_header else "the file has no data rows",
            file=name,
        )
    frame.columns = [str(c) for c in frame.columns]
    return RawTable(
        frame=frame, header=has_header, fmt="csv", delimiter=delimiter, encoding=encoding
    )


# --------------------------------------------------------------------------------------------
# Cell parsing
# --------------------------------------------------------------------------------------------


def _clean_ids(series: pd.Series) -> tuple[pd.Series, bool]:
    """Ids as stripped strings (NA where missing); ``17850.0`` style floats become ``17850``.

    Returns the ids and whether the float-to-integer rewrite was applied.
    """
    if pd.api.types.is_float_dtype(series.dtype):
        vals = series.to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(vals)
        if ok.any() and np.all(vals[ok] == np.round(vals[ok])):
            out = pd.Series(pd.array(series, dtype="Int64").astype("string"), index=series.index)
            return out.astype("str"), True
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        out = series.astype("string").astype("str")
        return out, False
    out = series.astype("str").str.strip()
    out = out.mask(out == "")
    nonmissing = out.dropna()
    rewrote = False
    if len(nonmissing) and nonmissing.str.match(_INTEGRAL_FLOAT).all():
        out = out.str.replace(r"\.0+$", "", regex=True)
        rewrote = True
    return out, rewrote


def _parse_numbers(series: pd.Series) -> pd.Series:
    """Float values; NaN where missing or not a finite number."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        vals = series.astype("float64")
    else:
        vals = pd.to_numeric(series, errors="coerce").astype("float64")
        retry = vals.isna() & series.notna()
        if retry.any():  # e.g. surrounding spaces
            stripped = series[retry].astype("str").str.strip()
            vals[retry] = pd.to_numeric(stripped, errors="coerce").astype("float64")
    return vals.where(np.isfinite(vals))


def parse_timestamps(series: pd.Series) -> tuple[pd.Series, str]:
    """Parse timestamps to naive ``datetime64[ns]`` (UTC when zones were given).

    Numbers are Unix time; the unit (s, ms, µs, ns) is chosen from their magnitude. Text is
    parsed with the format inferred from the first value, then any leftovers with mixed
    formats. Returns the parsed values (NaT where unparsable) and a description of the rule.
    """
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        ts = series
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        return ts.astype("datetime64[ns]"), "timestamps taken as stored"
    nonmissing = series.dropna()
    numbers = _parse_numbers(series)
    if len(nonmissing) and numbers.notna().sum() >= 0.99 * len(nonmissing):
        med = float(np.nanmedian(np.abs(numbers.to_numpy()))) if numbers.notna().any() else 0.0
        unit = "ns" if med > 1e17 else "us" if med > 1e14 else "ms" if med > 1e11 else "s"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts = pd.to_datetime(numbers, unit=unit, errors="coerce")
        return ts.astype("datetime64[ns]"), f"numeric timestamps read as Unix time in {unit}"
    text = series.astype("str").str.strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = pd.to_datetime(text, errors="coerce", utc=True)
        left = ts.isna() & text.notna()
        if left.any():
            ts2 = pd.to_datetime(text[left], errors="coerce", utc=True, format="mixed")
            ts = ts.copy()
            ts[left] = ts2
    ts = ts.dt.tz_localize(None).astype("datetime64[ns]")
    return ts, "text timestamps parsed as dates (zones converted to UTC)"


def _is_non_product(items: pd.Series) -> pd.Series:
    upper = items.str.upper()
    return upper.isin(NON_PRODUCT_CODES) | items.str.match(_NON_PRODUCT_PATTERN).fillna(False)


# --------------------------------------------------------------------------------------------
# Interactions
# --------------------------------------------------------------------------------------------


def _mapped_roles(
    mapping: Mapping[str, str] | None,
    columns: list[str],
    aliases: Mapping[str, object],
    name: str,
) -> dict[str, str]:
    """Resolve an explicit role → column mapping against the file's columns; an unknown role
    or a column the file lacks is a :class:`DataError` naming the file and the column."""
    roles: dict[str, str] = {}
    for role, col in (mapping or {}).items():
        if role not in aliases:
            raise DataError(
                f"unknown role {role!r} in the column mapping; roles are " + ", ".join(aliases),
                file=name,
            )
        resolved = resolve_column(str(col), columns)
        if resolved is None:
            raise DataError(
                f"the mapping names column {col!r} for {role}, but the file has no such "
                f"column; columns found: {', '.join(columns)}",
                file=name,
                column=str(col),
            )
        roles[role] = resolved
    return roles


def _assign_roles(raw: RawTable, mapping: Mapping[str, str] | None, name: str) -> dict[str, str]:
    columns = list(raw.frame.columns)
    roles = _mapped_roles(mapping, columns, ROLE_ALIASES, name)
    if raw.header:
        roles.update(detect_columns(columns, taken=roles))
    else:
        positional = HEADERLESS_ROLES.get(len(columns))
        if positional is None and not mapping:
            raise DataError(
                f"no header row and {len(columns)} columns: cannot tell which column is "
                "which; add a header or pass a mapping such as user=col1 item=col2",
                file=name,
            )
        used = set(roles.values())
        for j, role in enumerate(positional or ()):
            col = f"col{j + 1}"
            if role not in roles and col not in used:
                roles[role] = col
    for role in ("user", "item"):
        if role not in roles:
            raise DataError(
                f"no {role} column found; columns found: {', '.join(columns)}. "
                f"Name it (e.g. {ROLE_ALIASES[role][0]}) or pass a mapping {role}=COLUMN",
                file=name,
            )
    return roles


def _example_rows(rows: np.ndarray, mask: np.ndarray) -> list[int]:
    return [int(r) for r in rows[mask][:5]]


def load_interactions(
    path: str | Path,
    mapping: Mapping[str, str] | None = None,
    *,
    items: str | Path | None = None,
    duplicate_policy: str | None = None,
    kind: str | None = None,
    rating_range: tuple[float, float] | None = None,
) -> InteractionData:
    """Load an interaction log (ratings, events, purchases) into :class:`InteractionData`.

    Parameters
    ----------
    path:
        CSV, TSV (any of ``,`` ``\\t`` ``;`` ``|``), gzip-compressed text, or Parquet. The header
        is detected; a headerless file of 2–4 columns is read as user, item[, rating
        [, timestamp]] (MovieLens ``u.data``). Text is UTF-8, else latin-1.
    mapping:
        Role → column name (``{"user": "visitor", "item": "sku"}``); overrides detection.
        Roles: user, item, rating, timestamp, quantity, price, event, invoice. Headerless
        columns are called ``col1``, ``col2``, …
    items:
        Optional item catalogue (see :func:`load_items`), attached as ``item_meta``; its items
        join the item vocabulary even without interactions.
    duplicate_policy:
        How rows with the same (user, item) are merged into ``value``: ``"last"`` (latest by
        timestamp, else by file order), ``"sum"``, ``"mean"`` or ``"max"``. Default: ``"last"``
        for explicit data, ``"sum"`` for implicit data (so ``value`` counts events, or sums
        quantities when there is a quantity column).
    kind:
        ``"explicit"`` or ``"implicit"``; default explicit exactly when a rating column exists.
    rating_range:
        ``(low, high)``: ratings outside are dropped and counted.

    Returns
    -------
    InteractionData
        With ``report`` filled; ``report.check_balance()`` holds.

    Raises
    ------
    DataError
        Empty or binary file, header without rows, malformed row, no user or item column,
        mapping naming a missing column, or no usable rows after cleaning.

    Examples
    --------
    >>> data = load_interactions("sample_data/ml-100k/u.data")  # doctest: +SKIP
    >>> data.n_users, data.n_items, data.kind  # doctest: +SKIP
    (943, 1682, 'explicit')
    """
    name = str(path)
    if kind not in (None, "explicit", "implicit"):
        raise ValueError(f"kind must be 'explicit' or 'implicit', not {kind!r}")
    if duplicate_policy is not None and duplicate_policy not in DUPLICATE_POLICIES:
        raise ValueError(
            f"duplicate_policy must be one of {', '.join(DUPLICATE_POLICIES)}, "
            f"not {duplicate_policy!r}"
        )
    raw = read_table(path)
    roles = _assign_roles(raw, mapping, name)
    df = raw.frame
    n = len(df)
    report = DataReport(source=name, rows_read=n)
    report.columns = {role: roles[role] for role in ROLE_ALIASES if role in roles}
    if raw.fmt == "csv":
        report.notes.append(
            f"read as text: delimiter {raw.delimiter!r}, "
            f"encoding {'utf-8' if raw.encoding == 'utf-8-sig' else raw.encoding}, "
            + ("header row" if raw.header else "no header row")
        )
        if not raw.header:
            report.rules.append(
                "no header: columns taken by position as "
                + ", ".join(f"{r}={c}" for r, c in report.columns.items())
            )
    else:
        report.notes.append("read as Parquet")

    if kind is None:
        kind = "explicit" if "rating" in roles else "implicit"
    if kind == "explicit" and "rating" not in roles:
        raise DataError(
            "kind='explicit' needs a rating column; columns found: " + ", ".join(df.columns),
            file=name,
        )
    report.kind = kind

    rows = np.arange(1, n + 1, dtype=np.int64)
    alive = np.ones(n, dtype=bool)

    checked: list[str] = []

    def drop(reason: str, bad: np.ndarray) -> None:
        checked.append(reason)
        hit = alive & bad
        count = int(hit.sum())
        if count:
            report.drop(reason, count, _example_rows(rows, hit))
            alive[hit] = False

    drop("empty line", df.isna().all(axis=1).to_numpy())

    users, rewrote_u = _clean_ids(df[roles["user"]])
    item_ids, rewrote_i = _clean_ids(df[roles["item"]])
    for rewrote, role in ((rewrote_u, "user"), (rewrote_i, "item")):
        if rewrote:
            report.rules.append(
                f"{role} ids written as decimals (e.g. 17850.0) read as integers (17850)"
            )
    drop("missing user id", users.isna().to_numpy())
    drop("missing item id", item_ids.isna().to_numpy())

    is_log = any(r in roles for r in ("quantity", "invoice", "price"))
    if is_log:
        drop("non-product row (postage, fees, adjustments)", _is_non_product(item_ids).to_numpy())
        report.rules.append(
            "non-product stock codes (postage, carriage, bank charges, fees, manual "
            "adjustments, discounts, gift vouchers: "
            + ", ".join(sorted(NON_PRODUCT_CODES))
            + ", gift_*) are not items: dropped and counted"
        )

    out = pd.DataFrame({"user": users, "item": item_ids})

    quantity = None
    if "quantity" in roles:
        quantity = _parse_numbers(df[roles["quantity"]])
        drop("missing or unparsable quantity", quantity.isna().to_numpy())
    if "quantity" in roles or "invoice" in roles:
        is_return = np.zeros(n, dtype=bool)
        if quantity is not None:
            is_return |= (quantity < 0).to_numpy()
        if "invoice" in roles:
            inv = df[roles["invoice"]].astype("str").str.strip().str.upper()
            is_return |= inv.str.startswith("C").fillna(False).to_numpy(dtype=bool)
        drop("return or cancellation (negative quantity or invoice starting with C)", is_return)
        report.rules.append(
            "returns (negative quantity, or an invoice number starting with C) are not "
            "positive feedback: dropped and counted; the purchases they cancel are kept"
        )
    if quantity is not None:
        drop("zero quantity", (quantity == 0).to_numpy())
        out["quantity"] = quantity
    if "price" in roles:
        price = _parse_numbers(df[roles["price"]])
        drop("missing or unparsable price", price.isna().to_numpy())
        drop("negative price", (price < 0).to_numpy())
        out["price"] = price

    if "rating" in roles:
        rating = _parse_numbers(df[roles["rating"]])
        drop("missing or unparsable rating", rating.isna().to_numpy())
        if rating_range is not None:
            lo, hi = rating_range
            drop(
                f"rating out of range [{lo:g}, {hi:g}]",
                ((rating < lo) | (rating > hi)).to_numpy(),
            )
        out["rating"] = rating

    if "timestamp" in roles:
        ts, ts_rule = parse_timestamps(df[roles["timestamp"]])
        drop("missing or unparsable timestamp", ts.isna().to_numpy())
        out["timestamp"] = ts
        report.rules.append(ts_rule)

    if "event" in roles:
        ev = df[roles["event"]].astype("str").str.strip()
        out["event"] = ev.fillna("")

    report.rules.append(
        "each dropped row is counted once, under the first reason that applies, checked in "
        "this order: " + "; ".join(checked)
    )

    out = out[alive]
    if len(out) == 0:
        reasons = "; ".join(f"{k}: {v}" for k, v in report.dropped.items())
        raise DataError(
            f"no usable rows after cleaning: all {n} rows were dropped ({reasons})",
            file=name,
        )

    if kind == "explicit":
        out["value"] = out["rating"].astype("float64")
        report.rules.append("explicit data: value = rating")
    elif quantity is not None:
        out["value"] = out["quantity"].astype("float64")
        report.rules.append("implicit data: value = quantity bought (summed over repeat rows)")
    else:
        out["value"] = 1.0
        report.rules.append("implicit data: value = number of events for the user-item pair")

    policy = duplicate_policy or ("last" if kind == "explicit" else "sum")
    report.duplicate_policy = policy
    out, merged = _merge_duplicates(out, policy, kind)
    report.duplicates_merged = merged
    if merged:
        extra = []
        if "timestamp" in out.columns:
            extra.append("timestamp = latest")
        if "price" in out.columns:
            extra.append("price = mean unit price")
        if "event" in out.columns:
            extra.append("event = latest")
        report.rules.append(
            f"rows with the same user and item merged into one: value by policy {policy!r}"
            + (" (latest by timestamp, then file order)" if policy == "last" else "")
            + ("; " + ", ".join(extra) if extra else "")
        )
    report.rows_kept = len(out)

    item_meta = None
    if items is not None:
        item_meta = load_items(items)
    data = _build(out, kind=kind, item_meta=item_meta, report=report, name=Path(name).name)
    if item_meta is not None:
        missing = int((~data.frame["item"].drop_duplicates().isin(item_meta.index)).sum())
        report.notes.append(
            f"item catalogue {items}: {len(item_meta)} items; "
            f"{missing} interacted items have no catalogue entry"
        )
    fill_report_stats(data, report)
    report.check_balance()
    log.info("%s: kept %d of %d rows", name, report.rows_kept, report.rows_read)
    return data


def _build(
    frame: pd.DataFrame,
    *,
    kind: str,
    item_meta: pd.DataFrame | None,
    report: DataReport,
    name: str,
) -> InteractionData:
    """Same result as :func:`build_interactions` (ids in first-seen order, then catalogue
    items without interactions), computed with :func:`pandas.factorize` for speed."""
    frame = frame.reset_index(drop=True)
    frame["user"] = frame["user"].astype("str")
    frame["item"] = frame["item"].astype("str")
    ucodes, uniq_users = pd.factorize(frame["user"])
    icodes, uniq_items = pd.factorize(frame["item"])
    item_ids = np.asarray(uniq_items, dtype=object)
    if item_meta is not None and len(item_meta):
        meta_ids = pd.Index(item_meta.index.astype("str"))
        extra = meta_ids[~meta_ids.isin(item_ids)].unique()
        item_ids = np.concatenate([item_ids, np.asarray(extra, dtype=object)])
    frame["user_idx"] = ucodes.astype(np.int64)
    frame["item_idx"] = icodes.astype(np.int64)
    return InteractionData(
        users=Vocabulary(np.asarray(uniq_users, dtype=object)),
        items=Vocabulary(item_ids),
        frame=frame,
        kind=kind,
        item_meta=item_meta,
        report=report,
        name=name,
    )


def _merge_duplicates(out: pd.DataFrame, policy: str, kind: str) -> tuple[pd.DataFrame, int]:
    """Merge rows with the same (user, item); returns the frame and how many rows merged."""
    ucodes, _ = pd.factorize(out["user"])
    icodes, iuniq = pd.factorize(out["item"])
    key = ucodes.astype(np.int64) * max(len(iuniq), 1) + icodes
    dup = pd.Series(key).duplicated(keep=False).to_numpy()
    if not dup.any():
        return out.reset_index(drop=True), 0
    out = out.reset_index(drop=True)
    out["_key"] = key
    out["_pos"] = np.arange(len(out))
    if "timestamp" in out.columns:
        out = out.sort_values("timestamp", kind="mergesort")
    agg: dict[str, str] = {"user": "first", "item": "first", "value": policy, "_pos": "min"}
    if "rating" in out.columns:
        agg["rating"] = policy if kind == "explicit" else "last"
    if "quantity" in out.columns:
        agg["quantity"] = policy if kind == "implicit" else "sum"
    if "price" in out.columns:
        agg["price"] = "mean"
    if "timestamp" in out.columns:
        agg["timestamp"] = "max"
    if "event" in out.columns:
        agg["event"] = "last"
    merged = out.groupby("_key", sort=False).agg(agg)
    # keep pairs in the order of their first appearance in the file
    merged = merged.sort_values("_pos", kind="mergesort").drop(columns="_pos")
    n_merged = len(out) - len(merged)
    return merged.reset_index(drop=True), n_merged


def fill_report_stats(data: InteractionData, report: DataReport) -> None:
    """Fill size, density and cold-start counts of ``report`` from ``data``."""
    report.n_users = data.n_users
    report.n_items = data.n_items
    report.n_interactions = data.n_interactions
    report.density = data.density()
    per_user = np.bincount(data.frame["user_idx"].to_numpy(), minlength=data.n_users)
    per_item = np.bincount(data.frame["item_idx"].to_numpy(), minlength=data.n_items)
    report.cold_users = int((per_user < COLD_THRESHOLD).sum())
    report.cold_items = int((per_item < COLD_THRESHOLD).sum())


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------


def _join_text(parts: list[pd.Series]) -> pd.Series:
    cleaned = [p.fillna("").astype("str").str.strip() for p in parts]
    stacked = pd.concat(cleaned, axis=1)
    return stacked.apply(lambda r: ". ".join(x for x in r if x), axis=1).astype("str")


def _is_ml100k_items(path: Path, raw: RawTable) -> bool:
    return not raw.header and raw.delimiter == "|" and raw.frame.shape[1] == 5 + len(ML100K_GENRES)


def _load_ml100k_items(path: Path, raw: RawTable) -> pd.DataFrame:
    genre_names = list(ML100K_GENRES)
    genre_file = path.with_name("u.genre")
    if genre_file.exists():
        g = pd.read_csv(
            genre_file,
            sep="|",
            header=None,
            names=["name", "idx"],
            encoding="latin-1",
            dtype={"name": str, "idx": "Int64"},
        ).dropna()
        if len(g) == len(ML100K_GENRES):
            genre_names = list(g.sort_values("idx")["name"])
    df = raw.frame
    flags = df.iloc[:, 5:].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy() > 0
    genres = ["|".join(np.asarray(genre_names)[f]) for f in flags]
    out = pd.DataFrame(
        {
            "title": df["col2"].fillna("").astype("str"),
            "release_date": df["col3"].fillna("").astype("str"),
            "url": df["col5"].fillna("").astype("str"),
            "genres": genres,
        },
    )
    out.index = pd.Index(_clean_ids(df["col1"])[0].astype("str"), name="item")
    out["text"] = _join_text([out["title"], out["genres"].str.replace("|", ", ")])
    return out


def load_items(path: str | Path, mapping: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Load an item catalogue, indexed by item id (str).

    Parameters
    ----------
    path:
        CSV/TSV/Parquet with an item id column and any of title, description, genres (or
        category/tags), price; or MovieLens-100K ``u.item`` (latin-1, ``|``-separated, no
        header, 19 genre flags; genre names from ``u.genre`` beside it).
    mapping:
        Role → column (roles: item, title, description, genres, price); overrides detection.

    Returns
    -------
    pandas.DataFrame
        Index ``item``; columns found among ``title``, ``description``, ``genres``, ``price``
        (ML-100K adds ``release_date``, ``url``; genres ``|``-separated), and ``text`` = the
        non-empty of title, description and genres joined by ``". "`` — what the text encoder
        embeds. Duplicate ids keep their first row.

    Raises
    ------
    DataError
        As :func:`read_table`, or no item id column.
    """
    path = Path(path)
    name = str(path)
    raw = read_table(path)
    if not mapping and _is_ml100k_items(path, raw):
        return _load_ml100k_items(path, raw)
    columns = list(raw.frame.columns)
    roles: dict[str, str] = _mapped_roles(mapping, columns, ITEM_ROLE_ALIASES, name)
    if raw.header:
        roles.update(detect_columns(columns, ITEM_ROLE_ALIASES, taken=roles))
    elif "item" not in roles:
        roles["item"] = "col1"
        if len(columns) >= 2 and "title" not in roles:
            roles["title"] = "col2"
    if "item" not in roles:
        raise DataError("no item id column found; columns found: " + ", ".join(columns), file=name)
    df = raw.frame
    ids, _ = _clean_ids(df[roles["item"]])
    keep = ids.notna() & ~ids.duplicated(keep="first")
    n_dup = int((ids.notna() & ids.duplicated(keep="first")).sum())
    if n_dup:
        log.info("%s: %d duplicate item ids, first row kept", name, n_dup)
    out = pd.DataFrame(index=pd.Index(ids[keep].astype("str"), name="item"))
    for role in ("title", "description", "genres"):
        if role in roles:
            out[role] = df.loc[keep, roles[role]].fillna("").astype("str").str.strip().to_numpy()
    if "price" in roles:
        out["price"] = _parse_numbers(df.loc[keep, roles["price"]]).to_numpy()
    parts = [out[r] for r in ("title", "description", "genres") if r in out.columns]
    out["text"] = _join_text(parts) if parts else ""
    return out


# --------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------

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
        and _parse_numbers(age).notna().all()
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
    cell parses as a number), else stripped strings; empty cells are NaN."""
    text = _text_cells(series)
    if numeric is None:
        if pd.api.types.is_bool_dtype(series.dtype):
            numeric = False
        else:
            numbers = _parse_numbers(series)
            numeric = bool((numbers.notna() == text.notna()).all())
    if numeric:
        return _parse_numbers(series).where(text.notna()).astype("float64")
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
    df = raw.frame
    columns = list(df.columns)
    kinds: dict[str, bool | None]
    names: dict[str, str]
    if not mapping and _is_ml100k_users(path, raw):
        id_col = "col1"
        attrs = columns[1:]
        names = {c: attr for c, (attr, _) in zip(attrs, ML100K_USER_COLUMNS, strict=True)}
        kinds = {c: num for c, (_, num) in zip(attrs, ML100K_USER_COLUMNS, strict=True)}
    else:
        roles = _mapped_roles(mapping, columns, USER_ROLE_ALIASES, name)
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
                f"no user id column found; columns found: {', '.join(columns)}. Name it "
                f"(e.g. {ROLE_ALIASES['user'][0]}) or pass a mapping user=COLUMN",
                file=name,
            )
        id_col = roles["user"]
        attrs = [c for c in columns if c != id_col]
        names = {c: c for c in attrs}
        kinds = dict.fromkeys(attrs)
    if not attrs:
        raise DataError(
            f"the file has a user id column ({id_col}) but no attribute columns",
            file=name,
        )

    blank = df.isna().all(axis=1).to_numpy()
    if blank.any():
        log.info("%s: %d empty lines skipped", name, int(blank.sum()))
    rows = np.arange(1, len(df) + 1, dtype=np.int64)[~blank]
    df = df[~blank]
    ids, rewrote = _clean_ids(df[id_col])
    if rewrote:
        log.info("%s: user ids written as decimals (e.g. 17850.0) read as integers", name)
    missing = ids.isna().to_numpy()
    if missing.any():
        raise DataError("empty user id", file=name, row=int(rows[missing][0]), column=id_col)
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
            column=id_col,
        )

    out = pd.DataFrame(
        {names[c]: _attribute(df[c], kinds[c]).to_numpy() for c in attrs},
        index=pd.Index(ids.astype("str"), name="user"),
    )
    log.info("%s: read %d users with %d attribute columns", name, len(out), out.shape[1])
    return out
