"""Parsing cells: ids, numbers and timestamps, with every rewrite and failure counted.

Rules, all per cell:

- **Ids** are strings. Only an empty cell (or a real null in Parquet) is missing. NA-like
  words (``NA``, ``None``, ``null``, ``nan``, ``N/A``, …) are ids, unless every other cell
  of the column is a number: then they are missing-value markers. Surrounding spaces are
  removed, accents are put in one form (Unicode NFC), and an integral decimal (``17.0``)
  is the integer (``17``) in every cell of the column, so ``17`` and ``17.0`` are one id.
- **Numbers** are floats; NaN where missing or unparsable (``inf`` stays infinite, for the
  caller to count).
- **Timestamps**: each cell is read as Unix time (when the column is mostly numbers) or as a
  date text; a cell that is neither is NaT, for the caller to drop and count.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Words pandas would read as missing; here ids unless the column is numeric (lower case).
NA_WORDS = frozenset(
    w.lower()
    for w in (
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    )
)

_INTEGRAL_DECIMAL = r"-?\d+\.0*"
_DAY_MONTH = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}")


@dataclass
class CleanIds:
    """Ids of one column and what cleaning did.

    Attributes
    ----------
    ids:
        Strings; NA where missing.
    empty:
        Cells that were empty (or null in a typed file).
    na_marker:
        Cells holding an NA-like word in a numeric column (read as missing).
    decimals:
        Cells rewritten from an integral decimal (``17.0``) to an integer (``17``).
    stripped:
        Cells whose surrounding spaces were removed.
    unicode:
        Cells rewritten to Unicode NFC (``e`` + combining accent → ``é``).
    na_words_kept:
        Cells holding an NA-like word kept as an id (the column is not numeric).
    """

    ids: pd.Series
    empty: np.ndarray
    na_marker: np.ndarray
    decimals: int = 0
    stripped: int = 0
    unicode: int = 0
    na_words_kept: int = 0

    def rules(self, role: str) -> list[str]:
        """Report lines for the rewrites applied to the ``role`` column (empty if none)."""
        out = []
        if self.decimals:
            out.append(
                f"{role} ids written as decimals (e.g. 17850.0) read as integers (17850), so "
                f"17 and 17.0 are one id: {self.decimals} cells"
            )
        if self.stripped:
            out.append(f"{role} ids: surrounding spaces removed in {self.stripped} cells")
        if self.unicode:
            out.append(
                f"{role} ids: accents written as combining marks rewritten to one character "
                f"(Unicode NFC), so they match: {self.unicode} cells"
            )
        if self.na_words_kept:
            out.append(
                f"{role} ids: NA-like words (NA, None, null, nan, N/A, …) are ids here, not "
                f"missing values: {self.na_words_kept} cells"
            )
        if self.na_marker.any():
            out.append(
                f"{role} ids are numbers: NA-like words in that column (NA, null, …) mark "
                f"missing ids: {int(self.na_marker.sum())} cells"
            )
        return out


def _numeric_ids(series: pd.Series) -> CleanIds:
    """Ids of a typed numeric column (Parquet): integral floats are written as integers."""
    n = len(series)
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
        empty = series.isna().to_numpy(dtype=bool)
        ids = series.astype("string").astype("object").where(~empty, np.nan)
        return CleanIds(pd.Series(ids, index=series.index), empty, np.zeros(n, bool))
    vals = series.to_numpy(dtype="float64", na_value=np.nan)
    empty = np.isnan(vals)
    integral = ~empty & np.isfinite(vals) & (np.abs(vals) < 2.0**53)
    integral[integral] = vals[integral] == np.round(vals[integral])
    out = np.full(n, np.nan, dtype=object)
    out[integral] = vals[integral].astype(np.int64).astype(str)
    other = ~empty & ~integral
    out[other] = [repr(float(v)) for v in vals[other]]
    return CleanIds(
        pd.Series(out, index=series.index), empty, np.zeros(n, bool), decimals=int(integral.sum())
    )


def _nfc(text: pd.Series) -> tuple[pd.Series, int]:
    """Non-ASCII cells in Unicode NFC, and how many changed."""
    nonascii = ~text.str.isascii().fillna(True)
    if not nonascii.any():
        return text, 0
    fixed = text[nonascii].str.normalize("NFC")
    changed = int((fixed != text[nonascii]).sum())
    if changed:
        text = text.copy()
        text[nonascii] = fixed
    return text, changed


def clean_ids(series: pd.Series) -> CleanIds:
    """Clean an id column (see the module docstring for the rules)."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        return _numeric_ids(series)
    text = series.astype("string")
    stripped = text.str.strip()
    n_stripped = int((stripped != text).fillna(False).sum())
    empty = (stripped.isna() | (stripped == "")).to_numpy(dtype=bool)
    words = (stripped.str.lower().isin(NA_WORDS).fillna(False)).to_numpy(dtype=bool) & ~empty
    rest = stripped[~empty & ~words]
    numeric = bool(len(rest)) and bool(pd.to_numeric(rest, errors="coerce").notna().all())
    marker = words if numeric else np.zeros(len(series), dtype=bool)
    stripped, n_nfc = _nfc(stripped)
    decimal = stripped.str.fullmatch(_INTEGRAL_DECIMAL).fillna(False).to_numpy(dtype=bool)
    decimal &= ~empty
    if decimal.any():
        stripped = stripped.mask(decimal, stripped.str.replace(r"\.0*$", "", regex=True))
    ids = stripped.astype("object").where(~(empty | marker), np.nan)
    return CleanIds(
        ids=pd.Series(ids, index=series.index),
        empty=empty,
        na_marker=marker,
        decimals=int(decimal.sum()),
        stripped=n_stripped,
        unicode=n_nfc,
        na_words_kept=0 if numeric else int(words.sum()),
    )


def parse_numbers(series: pd.Series) -> pd.Series:
    """Float values of a column; NaN where missing or unparsable, ``±inf`` kept."""
    if pd.api.types.is_numeric_dtype(series.dtype):  # booleans too: 0 / 1
        return series.astype("float64")
    text = series.astype("string").str.strip()
    return pd.to_numeric(text, errors="coerce").astype("float64")


def finite_numbers(series: pd.Series) -> pd.Series:
    """As :func:`parse_numbers`, with non-finite values as NaN."""
    vals = parse_numbers(series)
    return vals.where(np.isfinite(vals))


def _unix_unit(numbers: pd.Series) -> str:
    med = float(np.nanmedian(np.abs(numbers.to_numpy()))) if numbers.notna().any() else 0.0
    return "ns" if med > 1e17 else "us" if med > 1e14 else "ms" if med > 1e11 else "s"


def _as_naive(ts: pd.Series) -> pd.Series:
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.astype("datetime64[ns]")


def _parse_date_texts(texts: pd.Series) -> tuple[pd.Series, bool]:
    """Parse date strings (each distinct value once); NaT where unparsable.

    Day-first when some value has a first field above 12 and none a second one above 12.
    Returns the dates and whether day-first was used.
    """
    uniq = pd.Series(pd.unique(texts.to_numpy(dtype=object)), dtype="object")
    parts = uniq.str.extract(_DAY_MONTH).astype("float64")
    dayfirst = bool((parts[0] > 12).any() and not (parts[1] > 12).any())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(uniq, errors="coerce", utc=True, dayfirst=dayfirst)
        left = parsed.isna()
        if left.any():
            retry = pd.to_datetime(
                uniq[left], errors="coerce", utc=True, format="mixed", dayfirst=dayfirst
            )
            parsed = parsed.copy()
            parsed[left] = retry
    parsed = _as_naive(pd.Series(parsed))
    pos = pd.Index(uniq).get_indexer(texts.to_numpy(dtype=object))
    return pd.Series(parsed.to_numpy()[pos], index=texts.index), dayfirst


def _unix_times(numbers: pd.Series) -> tuple[pd.Series, str]:
    """Numbers as Unix time (unit by magnitude), or as ``YYYYMMDD`` when all look so."""
    ints = numbers.dropna()
    if len(ints) and bool(
        ((ints == np.round(ints)) & (ints >= 1900_01_01) & (ints <= 2100_12_31)).all()
    ):
        as_text = ints.astype("int64").astype(str)
        ymd = pd.to_datetime(as_text, format="%Y%m%d", errors="coerce")
        if ymd.notna().all():
            out = pd.Series(pd.NaT, index=numbers.index, dtype="datetime64[ns]")
            out[ints.index] = ymd.astype("datetime64[ns]")
            return out, "numbers read as dates YYYYMMDD"
    unit = _unix_unit(numbers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = pd.to_datetime(numbers, unit=unit, errors="coerce")
    return ts.astype("datetime64[ns]"), f"numbers read as Unix time in {unit}"


def parse_timestamps(series: pd.Series) -> tuple[pd.Series, str]:
    """Parse timestamps per cell to naive ``datetime64[ns]`` (UTC when zones were given).

    When most non-empty cells are numbers, numbers are Unix time (s, ms, µs or ns by their
    magnitude; ``YYYYMMDD`` when every number is such a date); otherwise numbers are read
    as date text too. Text cells are parsed as dates (the format inferred from the first,
    then any other format). A cell that parses neither way is NaT: the caller drops and
    counts those rows, never the whole file. Returns the values and a description.
    """
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return _as_naive(series), "timestamps taken as stored"
    numbers = parse_numbers(series).where(lambda v: np.isfinite(v))
    if pd.api.types.is_numeric_dtype(series.dtype):
        ts, rule = _unix_times(numbers)
        return ts, "timestamps: " + rule
    text = series.astype("string").str.strip()
    text = text.mask(text == "")
    present = text.notna()
    n_present = int(present.sum())
    is_num = numbers.notna() & present
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    rules = []
    numeric_column = n_present > 0 and int(is_num.sum()) * 2 > n_present
    if numeric_column:
        ts, rule = _unix_times(numbers[is_num])
        out[is_num] = ts
        rules.append(f"{int(is_num.sum())} {rule}")
    as_text = present & ~is_num if numeric_column else present
    if as_text.any():
        ts, dayfirst = _parse_date_texts(text[as_text].astype("object"))
        out[as_text] = ts
        rules.append(
            f"{int(as_text.sum())} parsed as dates"
            + (" (day first)" if dayfirst else "")
            + " (zones converted to UTC)"
        )
    bad = int((present & out.isna()).sum())
    rules.append(f"{bad} unparsable")
    return out, "timestamps parsed per cell: " + "; ".join(rules)
