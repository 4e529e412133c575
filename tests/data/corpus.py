"""A corpus of bad and awkward input files, by class, for ``recolab data-report``.

Each :class:`Case` writes its file(s) into a folder and says what must happen: ``"ok"``
(exit 0, the counts balance, plus the case's own facts about what was kept) or
``"error"`` (exit 2 with one line naming the file, and the row or column where meaningful).
Classes: encodings, delimiters, headers, NA-like and float ids, duplicates, timestamps,
ratings, empty and binary files, foreign formats, compression, line structure, file kinds,
columns and item catalogues. ``test_corpus.py`` runs every case.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Report = dict[str, Any]
Built = Path | tuple[Path, list[str]]


@dataclass(frozen=True)
class Case:
    """One corpus file: how to make it and what must happen.

    Attributes
    ----------
    make:
        Writes the file(s) under a folder; returns the path (and extra CLI arguments).
    expect:
        ``"ok"`` or ``"error"``.
    match:
        For errors: a lower-case fragment the message must hold (the true cause).
    row, column:
        For errors: the row / column the message must name.
    check:
        For ``"ok"``: facts about the JSON report (beyond the balance every case gets).
    env:
        Environment variables set while the case runs.
    """

    make: Callable[[Path], Built]
    expect: str
    match: str | None = None
    row: int | None = None
    column: str | None = None
    check: Callable[[Report], None] | None = None
    env: dict[str, str] = field(default_factory=dict)


def _text(name: str, text: str, encoding: str = "utf-8") -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(text.encode(encoding))
        return path

    return make


def _bytes(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data() if callable(data) else data)
        return path

    return make


def _kept(n: int, users: int | None = None, items: int | None = None) -> Callable[[Report], None]:
    def check(r: Report) -> None:
        assert r["rows_kept"] == n, r
        if users is not None:
            assert r["n_users"] == users, r
        if items is not None:
            assert r["n_items"] == items, r

    return check


def _dropped(reason: str, n: int, kept: int | None = None) -> Callable[[Report], None]:
    def check(r: Report) -> None:
        hits = {k: v for k, v in r["dropped"].items() if reason in k}
        assert sum(hits.values()) == n, r["dropped"]
        if kept is not None:
            assert r["rows_kept"] == kept, r

    return check


def _all(*checks: Callable[[Report], None]) -> Callable[[Report], None]:
    def check(r: Report) -> None:
        for c in checks:
            c(r)

    return check


def _rule(fragment: str) -> Callable[[Report], None]:
    def check(r: Report) -> None:
        assert any(fragment in x for x in r["rules"]), r["rules"]

    return check


def _warning(fragment: str) -> Callable[[Report], None]:
    def check(r: Report) -> None:
        assert any(fragment in x for x in r["warnings"]), r["warnings"]

    return check


def _catalogue(kept: int, dropped: dict[str, int]) -> Callable[[Report], None]:
    def check(r: Report) -> None:
        cat = r["catalogue"]
        assert cat is not None and cat["rows_kept"] == kept, cat
        assert cat["dropped"] == dropped, cat
        assert cat["rows_read"] == cat["rows_kept"] + sum(cat["dropped"].values())

    return check


BASIC = "user,item,rating\nu1,i1,5\nu2,i1,3\nu2,i2,4\n"


def _rows(n: int, fmt: str = "u{k},i{j},{r}") -> str:
    return "".join(fmt.format(k=k % 50, j=k % 37, r=1 + k % 5) + "\n" for k in range(n))


def _timestamps_with_junk(folder: Path) -> Path:
    """1,000 rows, 15 (1.5 %) with unparsable timestamps: only those 15 are dropped."""
    lines = ["user,item,rating,timestamp"]
    for k in range(1000):
        ts = "garbage" if k % 67 == 3 else str(881250949 + k)
        lines.append(f"u{k % 40},i{k},3,{ts}")
    path = folder / "ts_junk.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _mixed_encoding(folder: Path) -> Path:
    """UTF-8 for the first 70 KB, then a latin-1 row."""
    head = "user,item\n" + "".join(f"José{k},café\n" for k in range(6000))
    data = head.encode() + "Zoë,thé\n".encode("latin-1")
    path = folder / "mixed.csv"
    path.write_bytes(data)
    return path


def _xlsx(folder: Path) -> Path:
    path = folder / "ratings.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    return path


def _xlsx_named_csv(folder: Path) -> Path:
    path = _xlsx(folder)
    return path.rename(folder / "ratings.csv")


def _zip_of_csv(folder: Path) -> Path:
    path = folder / "ratings.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ratings.csv", BASIC)
    return path


def _gzip(name: str, text: str) -> Callable[[Path], Path]:
    return _bytes(name, gzip.compress(text.encode()))


def _varied_rows(n: int) -> str:
    return "user,item,rating\n" + "".join(
        f"u{k * 7919 % 10007},i{k * 104729 % 7919},{1 + k % 5}\n" for k in range(n)
    )


def _truncated_gzip(folder: Path) -> Path:
    data = gzip.compress(_varied_rows(40000).encode())
    path = folder / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def _gzip_bomb_text(folder: Path) -> Path:
    """20 MB of valid rows in ~60 KB; the case sets a 1 MB decompressed-size cap."""
    path = folder / "bomb.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(b"user,item\n")
        chunk = b"u1,i1\n" * 100_000
        for _ in range(34):
            fh.write(chunk)
    return path


def _gzip_bomb_zeros(folder: Path) -> Path:
    """20 MB of zero bytes, about 20 KB compressed, under the default cap."""
    path = folder / "zeros.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:
        block = bytes(1 << 20)
        for _ in range(20):
            fh.write(block)
    return path


def _corrupt_gzip(folder: Path) -> Path:
    data = bytearray(gzip.compress((BASIC * 200).encode()))
    data[20:60] = b"\xff" * 40
    path = folder / "corrupt.csv.gz"
    path.write_bytes(bytes(data))
    return path


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.csv"
    os.mkfifo(path)
    return path


def _symlink_to_fifo(folder: Path) -> Path:
    target = _fifo(folder)
    link = folder / "link.csv"
    link.symlink_to(target)
    return link


def _device(folder: Path) -> Path:
    return Path(os.devnull)


def _folder(folder: Path) -> Path:
    path = folder / "data.csv"
    path.mkdir()
    return path


def _missing(folder: Path) -> Path:
    return folder / "no-such-file.csv"


def _parquet(frame_kwargs: dict[str, list[Any]], name: str = "x.parquet") -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        import pandas as pd

        path = folder / name
        pd.DataFrame(frame_kwargs).to_parquet(path)
        return path

    return make


def _empty_parquet(folder: Path) -> Path:
    import pandas as pd

    path = folder / "empty.parquet"
    pd.DataFrame({"user": pd.Series([], dtype=str), "item": pd.Series([], dtype=str)}).to_parquet(
        path
    )
    return path


def _with_items(items_text: str | Callable[[Path], Path]) -> Callable[[Path], Built]:
    def make(folder: Path) -> Built:
        log = folder / "log.csv"
        log.write_text("user,item\nu1,a\nu2,b\nu3,c\n")
        if callable(items_text):
            items = items_text(folder)
        else:
            items = folder / "items.csv"
            items.write_text(items_text)
        return log, ["--items", str(items)]

    return make


def _huge_line(folder: Path) -> Path:
    path = folder / "huge.csv"
    with path.open("w") as fh:
        fh.write("user,item,rating\n")
        fh.write("u1," + "x" * 3_000_000 + ",5\n")
        fh.write("u2,i2,4\n")
    return path


def _huge_header(folder: Path) -> Path:
    path = folder / "wide.csv"
    path.write_text("q" * 200_000 + ",other\n1,2\n")
    return path


def _late_nul(folder: Path) -> Path:
    """Clean text for 70 KB, then a NUL byte inside an id."""
    text = "user,item\n" + "".join(f"u{k},i{k % 100}\n" for k in range(8000))
    path = folder / "late_nul.csv"
    path.write_bytes(text.encode() + b"u\x00x,i1\nu9,i9\n")
    return path


def _many_rows_extreme(folder: Path) -> Path:
    body = _rows(200).replace("u7,i7,3", "u7,i7,1e300")
    path = folder / "extreme.csv"
    path.write_text("user,item,rating\n" + body)
    return path


def _mixed_scales(folder: Path) -> Path:
    body = _rows(300)
    body += "".join(f"w{k},i{k},{40 + k}\n" for k in range(30))
    path = folder / "scales.csv"
    path.write_text("user,item,rating\n" + body)
    return path


CASES: dict[str, Case] = {
    # ------------------------------------------------------------------ encodings
    "utf8": Case(_text("a.csv", BASIC), "ok", check=_kept(3, 2, 2)),
    "utf8_bom": Case(_text("a.csv", BASIC, "utf-8-sig"), "ok", check=_kept(3, 2, 2)),
    "utf16_le_bom": Case(_text("a.csv", BASIC, "utf-16"), "ok", check=_kept(3, 2, 2)),
    "utf16_be_bom": Case(
        _bytes("a.csv", b"\xfe\xff" + BASIC.encode("utf-16-be")), "ok", check=_kept(3, 2, 2)
    ),
    "utf16_le_no_bom": Case(_text("a.csv", BASIC, "utf-16-le"), "ok", check=_kept(3, 2, 2)),
    "utf32_bom": Case(_text("a.csv", BASIC, "utf-32"), "ok", check=_kept(3, 2, 2)),
    "latin1": Case(
        _text("a.csv", "user,item\nJosé,café\nAna,thé\n", "latin-1"), "ok", check=_kept(2, 2, 2)
    ),
    "cp1252_euro": Case(
        _text("a.csv", "user,item,price,quantity\nu1,€uro,1,2\nu2,café,2,1\n", "cp1252"),
        "ok",
        check=_kept(2),
    ),
    "mixed_utf8_then_latin1": Case(
        _mixed_encoding, "ok", check=_all(_kept(6001), _warning("not valid UTF-8"))
    ),
    "utf16_odd_length": Case(
        _bytes("a.csv", lambda: BASIC.encode("utf-16") + b"\x41"), "error", match="utf-16"
    ),
    "bom_only": Case(_bytes("a.csv", b"\xef\xbb\xbf"), "error", match="empty"),
    "nfc_and_nfd_ids": Case(
        _text("a.csv", "user,item\nJos\u00e9,i1\nJose\u0301,i2\n"),
        "ok",
        check=_all(_kept(2, 1, 2), _rule("Unicode NFC")),
    ),
    # ------------------------------------------------------------------ not a table
    "json": Case(_text("a.csv", '[{"user": "u1", "item": "i1"}]'), "error", match="json"),
    "json_lines": Case(
        _text("a.csv", '{"user": "u1", "item": "i1"}\n{"user": "u2", "item": "i2"}\n'),
        "error",
        match="json",
    ),
    "html_error_page": Case(
        _text("a.csv", "<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n"),
        "error",
        match="html",
    ),
    "xml": Case(
        _text("a.csv", '<?xml version="1.0"?>\n<rows><r u="1"/></rows>\n'), "error", match="xml"
    ),
    # ------------------------------------------------------------------ delimiters
    "excel_sep_line": Case(
        _text("a.csv", "sep=;\n" + BASIC.replace(",", ";")), "ok", check=_kept(3, 2, 2)
    ),
    "space_separated": Case(_text("a.txt", "u1 i1 5\nu2 i1 3\n"), "error", match="one column"),
    "tab": Case(_text("a.tsv", BASIC.replace(",", "\t")), "ok", check=_kept(3)),
    "semicolon": Case(_text("a.csv", BASIC.replace(",", ";")), "ok", check=_kept(3)),
    "pipe": Case(_text("a.txt", BASIC.replace(",", "|")), "ok", check=_kept(3)),
    "crlf": Case(_text("a.csv", BASIC.replace("\n", "\r\n")), "ok", check=_kept(3, 2, 2)),
    "extra_field_in_row": Case(
        _text("a.csv", "user,item\nu1,i1\nu2,i2\nu3,i3,zzz\n"), "error", match="malformed", row=3
    ),
    "short_row": Case(
        _text("a.csv", "user,item,rating\nu1,i1,5\nu2\n"),
        "ok",
        check=_dropped("missing item id", 1, kept=1),
    ),
    "trailing_delimiters": Case(
        _text("a.csv", "user,item,\nu1,i1,\nu2,i2,\n"), "ok", check=_kept(2)
    ),
    # ------------------------------------------------------------------ headers
    "headerless_3_columns": Case(_text("a.data", "1\t10\t5\n2\t10\t3\n"), "ok", check=_kept(2)),
    "only_header": Case(_text("a.csv", "user,item,rating\n"), "error", match="no data rows"),
    "header_spaces_and_quotes": Case(
        _text("a.csv", '" User ID ","Item ID"\n"u1","i1"\n"u2","i2"\n'), "ok", check=_kept(2)
    ),
    "repeated_header_rows": Case(
        _text("a.csv", "user,item\nu1,i1\nuser,item\nu2,i2\n"),
        "ok",
        check=_all(_dropped("repeated header", 1, kept=2), _kept(2, 2, 2)),
    ),
    "duplicate_column_names": Case(
        _text("a.csv", "user,user,item\nu1,x,i1\n"), "ok", check=_kept(1)
    ),
    "huge_header_cell": Case(_huge_header, "error", match="no user column"),
    "no_item_column": Case(_text("a.csv", "user,colour\nu1,red\n"), "error", match="no item"),
    "one_column": Case(_text("a.csv", "u1\nu2\nu3\n"), "error", match="one column"),
    # ------------------------------------------------------------------ NA-like and float ids
    "na_words_are_ids": Case(
        _text("a.csv", "user,item\nNA,i1\nNone,i1\nnull,i1\nnan,i1\nN/A,i1\n#N/A,i1\n"),
        "ok",
        check=_all(_kept(6, 6, 1), _rule("NA-like words")),
    ),
    "na_word_item_ids": Case(
        _text("a.csv", "user,item\nu1,NA\nu1,None\nu2,null\n"), "ok", check=_kept(3, 2, 3)
    ),
    "na_marker_in_numeric_column": Case(
        _text("a.csv", "user,item\n1,10\n2,11\nNA,12\nnull,13\n3,14\n"),
        "ok",
        check=_dropped("NA marker", 2, kept=3),
    ),
    "empty_ids_counted": Case(
        _text("a.csv", "user,item\nu1,i1\n,i2\n  ,i3\nu4,\n"),
        "ok",
        check=_all(_dropped("missing user id", 2), _dropped("missing item id", 1, kept=1)),
    ),
    "float_and_int_ids": Case(
        _text("a.csv", "user,item\n17,i1\n17.0,i2\n17.00,i3\n18,i1\n"),
        "ok",
        check=_all(_kept(4, 2, 3), _rule("17 and 17.0 are one id: 2 cells")),
    ),
    "float_ids_with_text_ids": Case(
        _text("a.csv", "user,item\n17850.0,85123A\n17850,85123A\nabc,22423.0\nabc,22423\n"),
        "ok",
        check=_all(_kept(2, 2, 2)),
    ),
    "spaces_around_ids": Case(
        _text("a.csv", "user,item\nu1,i1\n u1 ,i1\nu1,i1 \n"),
        "ok",
        check=_all(_kept(1, 1, 1), _rule("surrounding spaces")),
    ),
    "parquet_float_ids": Case(
        _parquet({"user_id": [1.0, 2.0, None, 17.0], "item_id": ["a", "b", "c", "NA"]}),
        "ok",
        check=_all(_kept(3, 3, 3), _dropped("missing user id", 1)),
    ),
    "parquet_int_ids_and_none": Case(
        _parquet({"user": ["NA", "None", None], "item": [1, 2, 3]}),
        "ok",
        check=_all(_kept(2, 2, 2), _dropped("missing user id", 1)),
    ),
    # ------------------------------------------------------------------ duplicates
    "duplicate_rows": Case(
        _text("a.csv", "user,item,rating\nu1,i1,5\nu1,i1,5\nu1,i1,5\nu2,i1,1\n"),
        "ok",
        check=lambda r: (r["duplicates_merged"] == 2 and r["rows_kept"] == 2) or _fail(r),
    ),
    # ------------------------------------------------------------------ timestamps
    "timestamps_1_5_percent_junk": Case(
        _timestamps_with_junk, "ok", check=_dropped("timestamp", 15, kept=985)
    ),
    "timestamps_text_with_junk": Case(
        _text(
            "a.csv",
            "user,item,date\nu1,i1,2020-01-01\nu2,i1,yesterday\nu3,i1,2020-02-30\nu4,i1,2021-03-04\n",
        ),
        "ok",
        check=_dropped("timestamp", 2, kept=2),
    ),
    "timestamps_mixed_unix_and_iso": Case(
        _text("a.csv", "user,item,time\nu1,i1,881250949\nu2,i1,881250950\nu3,i1,1997-12-04\n"),
        "ok",
        check=_kept(3),
    ),
    "timestamps_day_first": Case(
        _text("a.csv", "user,item,date\nu1,i1,01/02/2020\nu2,i1,13/02/2020\n"),
        "ok",
        check=_all(_kept(2), _rule("day first")),
    ),
    "timestamps_extreme_numbers": Case(
        _text("a.csv", "user,item,ts\nu1,i1,881250949\nu2,i1,1e300\nu3,i1,-1e300\nu4,i1,inf\n"),
        "ok",
        check=_dropped("timestamp", 3, kept=1),
    ),
    "timestamps_all_bad": Case(
        _text("a.csv", "user,item,timestamp\nu1,i1,soon\nu2,i1,later\n"),
        "error",
        match="missing or unparsable timestamp: 2",
    ),
    # ------------------------------------------------------------------ ratings
    "rating_1e300": Case(_many_rows_extreme, "ok", check=_dropped("extreme", 1, kept=None)),
    "rating_inf_and_nan": Case(
        _text("a.csv", "user,item,rating\nu1,i1,inf\nu2,i1,-inf\nu3,i1,nan\nu4,i1,4\n"),
        "ok",
        check=_all(_dropped("non-finite rating", 2), _dropped("unparsable rating", 1, kept=1)),
    ),
    "rating_mixed_scales": Case(_mixed_scales, "ok", check=_warning("mixed rating scales")),
    "rating_text": Case(
        _text("a.csv", "user,item,rating\nu1,i1,five\nu2,i1,4\nu3,i1,NA\n"),
        "ok",
        check=_dropped("unparsable rating", 2, kept=1),
    ),
    "quantity_extreme": Case(
        _text("a.csv", "user,item,quantity\nu1,i1,1e300\nu2,i1,3\n"),
        "ok",
        check=_dropped("quantity beyond", 1, kept=1),
    ),
    # ------------------------------------------------------------------ empty and binary
    "empty_file": Case(_text("a.csv", ""), "error", match="empty"),
    "only_blank_lines": Case(_text("a.csv", "\n\n   \n"), "error", match="empty"),
    "blank_lines_between_rows": Case(
        _text("a.csv", "user,item\nu1,i1\n\n\nu2,i2\n"), "ok", check=_dropped("empty line", 2, 2)
    ),
    "binary_junk": Case(_bytes("a.csv", bytes(range(256)) * 40), "error", match="binary"),
    "nul_after_head": Case(_late_nul, "ok", check=lambda r: None),
    # ------------------------------------------------------------------ foreign formats
    "xlsx": Case(_xlsx, "error", match="excel"),
    "xlsx_named_csv": Case(_xlsx_named_csv, "error", match="excel"),
    "xls_ole": Case(
        _bytes("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)), "error", match="excel"
    ),
    "zip_of_csv": Case(_zip_of_csv, "error", match="unzip"),
    "png": Case(_bytes("a.csv", b"\x89PNG\r\n\x1a\n" + bytes(300)), "error", match="png"),
    "pdf": Case(_bytes("a.csv", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n"), "error", match="pdf"),
    "sqlite": Case(_bytes("a.db", b"SQLite format 3\x00" + bytes(200)), "error", match="sqlite"),
    "corrupt_parquet": Case(_bytes("a.parquet", b"PAR1" + b"junk" * 50), "error", match="parquet"),
    "parquet_no_rows": Case(_empty_parquet, "error", match="no rows"),
    "parquet_bool_rating": Case(
        _parquet({"user": ["a", "b"], "item": ["x", "y"], "rating": [True, False]}),
        "ok",
        check=_kept(2),
    ),
    "parquet_over_cap": Case(
        _parquet({"user": [f"u{k}" for k in range(5000)], "item": ["x"] * 5000}),
        "error",
        match="decompressed-size cap",
        env={"RECOLAB_MAX_DECOMPRESSED_BYTES": "1000"},
    ),
    # ------------------------------------------------------------------ compression
    "gzip_empty": Case(_gzip("a.csv.gz", ""), "error", match="empty"),
    "gzip_ok": Case(_gzip("a.csv.gz", BASIC), "ok", check=_kept(3)),
    "bz2_ok": Case(_bytes("a.csv.bz2", bz2.compress(BASIC.encode())), "ok", check=_kept(3)),
    "xz_ok": Case(_bytes("a.csv.xz", lzma.compress(BASIC.encode())), "ok", check=_kept(3)),
    "truncated_gzip": Case(_truncated_gzip, "error", match="truncated"),
    "truncated_bz2": Case(
        _bytes("a.csv.bz2", lambda: bz2.compress(_varied_rows(20000).encode())[:5000]),
        "error",
        match="truncated",
    ),
    "corrupt_gzip": Case(_corrupt_gzip, "error", match="corrupt"),
    "gzip_bomb_text": Case(
        _gzip_bomb_text,
        "error",
        match="decompressed-size cap",
        env={"RECOLAB_MAX_DECOMPRESSED_BYTES": str(1 << 20)},
    ),
    "gzip_bomb_zeros": Case(_gzip_bomb_zeros, "error", match="binary"),
    "gzip_of_xlsx": Case(
        lambda folder: _bytes("a.csv.gz", gzip.compress(_xlsx(folder).read_bytes()))(folder),
        "error",
        match="zip",
    ),
    # ------------------------------------------------------------------ line structure
    "huge_line": Case(_huge_line, "ok", check=_kept(2)),
    "quoted_newlines": Case(
        _text("a.csv", 'user,item,rating\n"u\n1","i,1",5\nu2,"i\r\n2",4\n'),
        "ok",
        check=_kept(2, 2, 2),
    ),
    "unclosed_quote": Case(
        _text("a.csv", 'user,item\nu1,i1\nu2,"i2\nu3,i3\n'),
        "error",
        match="never closed",
        row=2,
    ),
    "cr_only_line_ends": Case(_text("a.csv", BASIC.replace("\n", "\r")), "ok", check=_kept(3)),
    # ------------------------------------------------------------------ file kinds
    "fifo": Case(_fifo, "error", match="named pipe"),
    "symlink_to_fifo": Case(_symlink_to_fifo, "error", match="named pipe"),
    "device": Case(_device, "error", match="device"),
    "folder": Case(_folder, "error", match="folder"),
    "missing_file": Case(_missing, "error", match="not found"),
    # ------------------------------------------------------------------ item catalogues
    "catalogue_drops_counted": Case(
        _with_items("item,title\na,Apple\n,No id\nb,Bread\na,Again\n\nNA,Called NA\n"),
        "ok",
        check=_catalogue(
            3,
            {"missing item id": 1, "item id repeated (the first row is kept)": 1, "empty line": 1},
        ),
    ),
    "catalogue_xlsx": Case(_with_items(_xlsx), "error", match="excel"),
    "catalogue_without_id_column": Case(
        _with_items("colour,title\nred,Apple\n"), "error", match="no item id column"
    ),
}


def _fail(r: Report) -> bool:
    raise AssertionError(r)


def build(name: str, folder: Path) -> tuple[Path, list[str]]:
    """Write case ``name`` under ``folder``; returns its path and any extra CLI arguments."""
    built = CASES[name].make(folder)
    if isinstance(built, tuple):
        return built
    return built, []


__all__ = ["CASES", "Case", "build"]
