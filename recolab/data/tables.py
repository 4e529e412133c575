"""Reading a table from disk into string cells, detecting format, encoding, delimiter, header.

Text is read as UTF-8 (a byte that is not valid UTF-8 is read as latin-1, and counted),
UTF-16/32 when a byte-order mark or the NUL pattern says so, or latin-1 when the first bytes
are not UTF-8. Only empty cells are missing: ``NA``, ``None``, ``null`` stay text (see
:mod:`recolab.data.cells` for when they mean missing).
"""

from __future__ import annotations

import codecs
import csv
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recolab.data.columns import ITEM_ROLE_ALIASES, ROLE_ALIASES, normalise
from recolab.data.sources import (
    MAX_DECOMPRESSED_ENV,
    Source,
    foreign_kind,
    max_decompressed_bytes,
    open_source,
)
from recolab.errors import DataError

log = logging.getLogger(__name__)

#: Delimiters tried when sniffing a text file.
DELIMITERS = (",", "\t", ";", "|")

_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 50
_LATIN1_FALLBACK = "recolab-latin1-fallback"
_fallback_count = threading.local()


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read bytes that are not valid UTF-8 as latin-1, and count them."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _fallback_count.n = getattr(_fallback_count, "n", 0) + (exc.end - exc.start)
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error(_LATIN1_FALLBACK, _latin1_fallback)


@dataclass
class RawTable:
    """A table as read from disk, before any role is assigned.

    Attributes
    ----------
    frame:
        The cells; text files are read as strings (only empty cells are NA).
    header:
        Whether the first line was a header. Headerless columns are named ``col1``, ``col2``…
    fmt:
        ``"csv"`` or ``"parquet"``.
    delimiter, encoding:
        What was detected for text files.
    compression:
        ``"gzip"``, ``"bz2"``, ``"xz"`` or ``None``.
    latin1_bytes:
        Bytes of a UTF-8 file that were not valid UTF-8 and were read as latin-1.
    """

    frame: pd.DataFrame
    header: bool
    fmt: str
    delimiter: str | None = None
    encoding: str | None = None
    compression: str | None = None
    latin1_bytes: int = 0


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _bom_encoding(head: bytes) -> str | None:
    """UTF-32/16/8 from a byte-order mark, or UTF-16 from the NUL pattern of ASCII text."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    sample = head[:4096]
    if len(sample) >= 8:
        even, odd = sample[0::2], sample[1::2]
        even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
        if odd_nul > 0.3 and even_nul < 0.05:
            return "utf-16-le"
        if even_nul > 0.3 and odd_nul < 0.05:
            return "utf-16-be"
    return None


def _decode_head(head: bytes, truncated: bool, name: str) -> tuple[str, str]:
    """Decode the first bytes: the BOM's encoding, else UTF-8, else latin-1."""
    encoding = _bom_encoding(head)
    if encoding in (None, "utf-8-sig"):
        try:
            decoder = codecs.getincrementaldecoder("utf-8-sig")()
            return decoder.decode(head, final=not truncated), "utf-8"
        except UnicodeDecodeError:
            return head.decode("latin-1"), "latin-1"
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
        return decoder.decode(head, final=not truncated), encoding
    except UnicodeDecodeError as exc:
        raise DataError(
            f"the file looks {encoding.upper()} encoded but is not valid {encoding.upper()} "
            f"({exc.reason} at byte {exc.start}); save it as UTF-8 CSV",
            file=name,
        ) from exc


def _text_kind(text: str) -> str | None:
    """What a text that is not a delimited table is (JSON, HTML, XML), else None."""
    start = text.lstrip()[:200].lower()
    if start.startswith(("<!doctype html", "<html")):
        return "an HTML page, not a table (a download that failed?); save the data as CSV"
    if start.startswith("<?xml"):
        return "an XML document, not a table; export the data as CSV"
    if start.startswith(("{", "[")) and re.match(r'^[\[{]\s*("|\{|\[|\]|\})', start):
        return "JSON, not a table; convert it to CSV (one row per interaction) or Parquet"
    return None


def _is_binary(text: str) -> bool:
    if "\x00" in text:
        return True
    if not text:
        return False
    control = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\x0c\r")
    return control / len(text) > 0.05


def _sniff_delimiter(lines: list[str]) -> str:
    """The candidate delimiter giving the most consistent field count above one."""
    best: tuple[float, int, int] | None = None
    best_delim = ","
    for rank, delim in enumerate(DELIMITERS):
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delim)]
        except csv.Error:  # e.g. a field over the csv module's size limit
            counts = [line.count(delim) + 1 for line in lines]
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


def _split_rows(lines: list[str], delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(lines, delimiter=delimiter))
    except csv.Error:
        return [line.split(delimiter) for line in lines]


def _parser_error(exc: Exception, name: str, has_header: bool) -> DataError:
    """A :class:`DataError` for a pandas parser error, naming the row when pandas says it."""
    message = str(exc).strip().splitlines()[-1].strip() if str(exc).strip() else type(exc).__name__
    row = None
    line = re.search(r"line (\d+)", message)  # 1-based lines, the header included
    if line:
        row = int(line.group(1)) - (1 if has_header else 0)
    zero_based = re.search(r"row (\d+)", message)  # 0-based records, the header included
    if zero_based and row is None:
        row = int(zero_based.group(1)) + (0 if has_header else 1)
    if "EOF inside string" in message:
        message = 'a quoted field is never closed (a stray " ?): ' + message
    return DataError(f"malformed row: {message[:300]}", file=name, row=row)


def _check_parquet_size(src: Source) -> None:
    """Refuse a Parquet file whose declared uncompressed size passes the cap."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(src.path).metadata
    declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    cap = max_decompressed_bytes()
    if declared > cap:
        raise DataError(
            f"the Parquet file declares {declared:,} bytes of data uncompressed, more than the "
            f"decompressed-size cap of {cap:,} (raise it with {MAX_DECOMPRESSED_ENV} if the "
            "file is genuine)",
            file=src.name,
        )


def _read_parquet(src: Source) -> RawTable:
    try:
        _check_parquet_size(src)
        frame = pd.read_parquet(src.path)
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DataError(f"cannot read as Parquet: {str(exc)[:300]}", file=src.name) from exc
    if len(frame) == 0:
        raise DataError("the Parquet file has columns but no rows", file=src.name)
    frame.columns = [str(c) for c in frame.columns]
    return RawTable(frame=frame, header=True, fmt="parquet")


def _sniff_lines(src: Source) -> tuple[list[str], str]:
    """The first non-blank lines (decoded) and the encoding, refusing binary content."""
    head = src.head(_SNIFF_BYTES + 1)
    truncated = len(head) > _SNIFF_BYTES
    head = head[:_SNIFF_BYTES]
    inner = foreign_kind(head) if src.compression else None
    if inner or (src.compression and head.startswith(b"PAR1")):
        raise DataError(
            f"the {src.compression} file holds {inner or 'a Parquet file; decompress it'}",
            file=src.name,
        )
    text, encoding = _decode_head(head, truncated, src.name)
    if _is_binary(text):
        raise DataError(
            "not a text table: the file holds binary (non-text) bytes; "
            "expected CSV, TSV or Parquet",
            file=src.name,
        )
    not_table = _text_kind(text)
    if not_table:
        raise DataError(f"this is {not_table}", file=src.name)
    lines = text.splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [ln for ln in lines if ln.strip()][:_SNIFF_LINES]
    if not lines:
        raise DataError("the file is empty (only blank lines)", file=src.name)
    return lines, encoding


def _read_text(
    src: Source, has_header: bool, delimiter: str, n_cols: int, enc: str, skip: int = 0
) -> pd.DataFrame:
    """pandas.read_csv over the (decompressed) bytes; only empty cells are NA."""
    kwargs: dict[str, object] = {}
    if not has_header:
        kwargs["names"] = [f"col{j + 1}" for j in range(n_cols)]
    if enc == "utf-8":
        kwargs["encoding_errors"] = _LATIN1_FALLBACK
        enc = "utf-8-sig"
    source = src.path if src.compression is None else src.open()
    try:
        return pd.read_csv(
            source,
            sep=delimiter,
            header=0 if has_header else None,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            skiprows=skip,
            encoding=enc,
            compression=None,
            engine="c",
            **kwargs,
        )
    finally:
        if not isinstance(source, Path):
            source.close()


def read_table(path: str | Path, *, header: bool | None = None) -> RawTable:
    """Read a CSV/TSV/Parquet file into strings, detecting format, delimiter, header, encoding.

    Parameters
    ----------
    path:
        The file. Parquet is recognised by extension (``.parquet``, ``.pq``) or magic bytes;
        gzip, bz2 and xz-compressed text by magic bytes (decompressed while streaming, up to
        :func:`~recolab.data.sources.max_decompressed_bytes`).
    header:
        Force header detection on (``True``) or off (``False``); ``None`` sniffs.

    Returns
    -------
    RawTable

    Raises
    ------
    DataError
        Not a regular file; empty; binary content or a known non-table format (Excel, ZIP,
        image, …, named as such); truncated, corrupt or oversized compressed data; malformed
        rows (naming the row); header without rows.
    FileNotFoundError
        The file does not exist.
    """
    src = open_source(path)
    if src.parquet and src.compression is None:
        return _read_parquet(src)
    lines, encoding = _sniff_lines(src)
    skip = 0
    excel_sep = re.fullmatch(r"sep=(.)", lines[0].strip())
    if excel_sep and len(lines) > 1:  # Excel's "sep=;" first line
        delimiter, skip, lines = excel_sep.group(1), 1, lines[1:]
    else:
        delimiter = _sniff_delimiter(lines)
    rows = _split_rows(lines, delimiter)
    has_header = _sniff_header(rows) if header is None else header
    _fallback_count.n = 0
    try:
        frame = _read_text(src, has_header, delimiter, len(rows[0]), encoding, skip)
    except pd.errors.EmptyDataError as exc:
        raise DataError("the file is empty", file=src.name) from exc
    except (pd.errors.ParserError, csv.Error, OverflowError) as exc:
        raise _parser_error(exc, src.name, has_header) from exc
    except UnicodeError as exc:
        raise DataError(
            f"the file is not valid {encoding.upper()} text ({exc}); save it as UTF-8 CSV",
            file=src.name,
        ) from exc
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror or exc}", file=src.name) from exc
    if len(frame) == 0 or frame.isna().all(axis=None):
        raise DataError(
            "the file has a header but no data rows" if has_header else "the file has no data rows",
            file=src.name,
        )
    frame.columns = [str(c) for c in frame.columns]
    latin1 = int(getattr(_fallback_count, "n", 0))
    if latin1:
        log.info("%s: %d bytes not valid UTF-8 read as latin-1", src.name, latin1)
    return RawTable(
        frame=frame,
        header=has_header,
        fmt="csv",
        delimiter=delimiter,
        encoding=encoding,
        compression=src.compression,
        latin1_bytes=latin1,
    )
