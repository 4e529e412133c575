"""Opening an input file safely: what kind of file it is, and a capped, decompressing stream.

Everything that can go wrong before the first cell is parsed is a
:class:`~recolab.errors.DataError` naming the file and the true cause: not a regular file
(a folder, a named pipe, a device), unreadable, empty, a spreadsheet or an image rather than
a table, a truncated or corrupt compressed stream, or one that inflates past the
decompressed-size cap (counted while streaming, never trusted from a header).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from recolab.errors import DataError

#: Environment variable overriding :data:`DEFAULT_MAX_DECOMPRESSED_BYTES`.
MAX_DECOMPRESSED_ENV = "RECOLAB_MAX_DECOMPRESSED_BYTES"

#: Most bytes a compressed input may inflate to (2 GiB).
DEFAULT_MAX_DECOMPRESSED_BYTES = 2 * 1024**3

#: Compressed formats read transparently, by magic bytes.
COMPRESSED_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}

#: Leading bytes of formats that are not text tables, and what to tell the user.
FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an Excel 97-2003 (.xls) or other Office file; "
        "export the sheet as CSV (UTF-8) and load that",
    ),
    (b"\x89PNG\r\n\x1a\n", "a PNG image, not a table"),
    (b"\xff\xd8\xff", "a JPEG image, not a table"),
    (b"GIF8", "a GIF image, not a table"),
    (b"%PDF", "a PDF document, not a table; export the data as CSV"),
    (b"\x7fELF", "an executable program, not a table"),
    (b"SQLite format 3\x00", "an SQLite database; export the table as CSV"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive; extract the CSV inside and load that"),
    (b"Rar!", "a RAR archive; extract the CSV inside and load that"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed; decompress it (or use gzip) and load that"),
    (b"ARROW1", "an Arrow/Feather file; save it as Parquet or CSV"),
    (b"Obj\x01", "an Avro file; save it as Parquet or CSV"),
    (b"ORC", "an ORC file; save it as Parquet or CSV"),
    (b"\x93NUMPY", "a NumPy array file, not a table"),
    (b"\x80\x04\x95", "a Python pickle; recolab does not load pickles: save as CSV or Parquet"),
)

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def max_decompressed_bytes() -> int:
    """The decompressed-size cap: ``$RECOLAB_MAX_DECOMPRESSED_BYTES`` when set, else 2 GiB."""
    value = os.environ.get(MAX_DECOMPRESSED_ENV, "").strip()
    if not value:
        return DEFAULT_MAX_DECOMPRESSED_BYTES
    try:
        cap = int(float(value))
    except ValueError:
        raise DataError(f"{MAX_DECOMPRESSED_ENV}={value!r} is not a number of bytes") from None
    return max(cap, 1)


def _describe_zip(path: Path) -> str:
    """What a ZIP-format file holds, in words (an Excel workbook, an OpenDocument sheet, …)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "a ZIP archive (damaged); unzip it and load the CSV inside"
    if any(n.startswith("xl/") for n in names):
        return "an Excel workbook (.xlsx, a ZIP file); export the sheet as CSV (UTF-8)"
    if "content.xml" in names and "mimetype" in names:
        return "an OpenDocument file (.ods, a ZIP file); export the sheet as CSV (UTF-8)"
    shown = ", ".join(n[:60] for n in names[:5]) + (", …" if len(names) > 5 else "")
    return f"a ZIP archive (holding {shown or 'nothing'}); unzip it and load the CSV inside"


def foreign_kind(head: bytes) -> str | None:
    """What a file starting with ``head`` is when it is a known non-table format, else None."""
    for magic, what in FOREIGN_MAGIC:
        if head.startswith(magic):
            return what
    if head.startswith(_ZIP_MAGIC):
        return "a ZIP archive (an Excel workbook is one); export or unzip to CSV"
    return None


class _CappedStream(io.RawIOBase):
    """A raw binary stream over ``inner`` that raises :class:`DataError` past ``cap`` bytes
    and turns decompression faults (truncated, corrupt) into :class:`DataError`."""

    def __init__(self, inner: BinaryIO, *, cap: int, name: str, compression: str) -> None:
        super().__init__()
        self._inner = inner
        self._cap = cap
        self._name = name
        self._compression = compression
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._cap + 1 - self.bytes_read)
        try:
            data = self._inner.read(max(want, 1))
        except EOFError as exc:
            raise DataError(
                f"the {self._compression} data is truncated (the file ends before the "
                "compressed stream does); download or compress it again",
                file=self._name,
            ) from exc
        except (OSError, zlib.error, lzma.LZMAError, ValueError) as exc:
            raise DataError(
                f"the {self._compression} data is corrupt ({exc}); download or compress it again",
                file=self._name,
            ) from exc
        self.bytes_read += len(data)
        if self.bytes_read > self._cap:
            raise DataError(
                f"the {self._compression} file inflates to more than {self._cap:,} bytes "
                f"(the decompressed-size cap; raise it with {MAX_DECOMPRESSED_ENV} if the "
                "file is genuine)",
                file=self._name,
            )
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


@dataclass(frozen=True)
class Source:
    """A regular, readable, non-empty file and how to read its bytes.

    Attributes
    ----------
    path, name:
        The file, and how messages name it.
    compression:
        ``"gzip"``, ``"bz2"``, ``"xz"`` or ``None``.
    parquet:
        Whether it is a Parquet file (by magic bytes or extension).
    """

    path: Path
    name: str
    compression: str | None
    parquet: bool

    def open(self) -> BinaryIO:
        """The decompressed bytes (capped when compressed); close it after use."""
        try:
            if self.compression is None:
                return self.path.open("rb")
            opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}[self.compression]
            inner = opener(self.path, "rb")
        except OSError as exc:
            raise DataError(f"cannot read the file: {exc.strerror or exc}", file=self.name) from exc
        raw = _CappedStream(
            inner, cap=max_decompressed_bytes(), name=self.name, compression=self.compression
        )
        return io.BufferedReader(raw, buffer_size=1 << 20)  # type: ignore[return-value]

    def head(self, size: int) -> bytes:
        """Up to ``size`` leading (decompressed) bytes."""
        with self.open() as fh:
            return fh.read(size)


def _file_type_error(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file; save the data to a file first"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    return None


def open_source(path: str | Path) -> Source:
    """Check that ``path`` is a readable table file and identify its format.

    Never opens a FIFO or device (that could block or read forever).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataError
        Not a regular file, unreadable, empty, or a known non-table format (Excel, ZIP,
        image, PDF, …), each named as such.
    """
    path = Path(path)
    name = str(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(2, "No such file", name) from None
    except (OSError, ValueError) as exc:  # permission on a parent, a NUL in the name, …
        raise DataError(
            f"cannot open the file: {getattr(exc, 'strerror', None) or exc}", file=name
        ) from exc
    problem = _file_type_error(st.st_mode)
    if problem:
        raise DataError(problem, file=name)
    if st.st_size == 0:
        raise DataError("the file is empty", file=name)
    try:
        with path.open("rb") as fh:
            magic = fh.read(16)
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror or exc}", file=name) from exc
    if magic.startswith(_ZIP_MAGIC):
        raise DataError("this is " + _describe_zip(path), file=name)
    what = foreign_kind(magic)
    if what:
        raise DataError("this is " + what, file=name)
    parquet = magic.startswith(b"PAR1") or path.suffix.lower() in (".parquet", ".pq")
    compression = next((c for m, c in COMPRESSED_MAGIC.items() if magic.startswith(m)), None)
    return Source(path=path, name=name, compression=compression, parquet=parquet)
