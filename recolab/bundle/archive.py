"""Reading a bundle's members, from a ``.zip`` or a folder, with bounded memory.

Nothing here trusts a size the archive declares. Every member is streamed in chunks and
counted as it is decompressed, and the stream stops at a cap:

* a first pass (:func:`scan`) hashes every member and measures its real size while holding
  one chunk at a time, plus the first bytes of each member (the safetensors header);
* the loader then checks the measured sizes against the validated config and the tensor
  headers, and only then (:meth:`Archive.read`) reads a member into memory, again capped at
  the size the first pass measured and checked against the same SHA-256.

Folder bundles refuse symbolic links and anything that is not a regular file; zip bundles
refuse member names that would escape a folder, duplicate names, encrypted members and
compression methods other than stored and deflate.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from recolab.errors import BundleError

log = logging.getLogger(__name__)

#: Bytes read per step while streaming a member.
CHUNK_BYTES = 1 << 20
#: At most this many members in a bundle.
MAX_MEMBERS = 64
#: Refuse bundles whose members unpack to more than this, counted while streaming.
MAX_UNPACKED_BYTES = 4 * 1024**3
#: A zip member may unpack to at most this many times its compressed size (plus
#: :data:`RATIO_SLACK_BYTES`); real bundles stay far below (float weights barely compress).
MAX_COMPRESSION_RATIO = 100
RATIO_SLACK_BYTES = 1 << 20
#: Caps of the small JSON members.
SMALL_MEMBER_CAPS = {"config.json": 16 << 20, "signature.json": 64 << 10}
#: The model's members; any other member (a model card, notes) may hold at most
#: :data:`EXTRA_MEMBER_CAP` bytes.
MODEL_MEMBERS = ("weights.safetensors", "history.safetensors", "users.csv", "items.csv")
EXTRA_MEMBER_CAP = 16 << 20
#: Bytes kept from the start of each member (room for a safetensors header).
HEAD_BYTES = (1 << 20) + 8
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    RuntimeError,
    NotImplementedError,
    ValueError,
    OverflowError,
)


def bundle_error(bundle: str | os.PathLike[str], member: str | None, message: str) -> BundleError:
    """A :class:`BundleError` whose message starts with the bundle and the member.

    The error carries them as ``bundle`` and ``member`` attributes too.
    """
    where = f"bundle {os.fspath(bundle)}" + (f", member {member}" if member else "")
    exc = BundleError(f"{where}: {message}")
    exc.bundle = os.fspath(bundle)  # type: ignore[attr-defined]
    exc.member = member  # type: ignore[attr-defined]
    return exc


def safe_member_name(name: str) -> bool:
    """Whether ``name`` stays inside a folder: relative, no ``..``, no drive, no backslash,
    no control characters, not empty."""
    if not name or len(name) > 255 or any(ord(c) < 32 for c in name):
        return False
    p = Path(name)
    return not (
        p.is_absolute()
        or ".." in p.parts
        or name.startswith(("/", "\\"))
        or ":" in name
        or "\\" in name
    )


@dataclass
class MemberInfo:
    """What the first pass measured of one member.

    Attributes
    ----------
    name, size, sha256:
        Member name, decompressed bytes counted while streaming, and their SHA-256.
    head:
        The first bytes (up to :data:`HEAD_BYTES`).
    data:
        The whole content for the small JSON members, else ``None``.
    """

    name: str
    size: int
    sha256: str
    head: bytes
    data: bytes | None = None


class Archive:
    """A bundle opened for reading: a zip file or a folder (see the module docstring).

    Use as a context manager; :func:`open_archive` builds one.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._sizes: dict[str, int | None] = {}

    # -- opening -------------------------------------------------------------------------

    def _open_zip(self) -> None:
        try:
            self._zip = zipfile.ZipFile(self.path)
            infos = self._zip.infolist()
        except zipfile.BadZipFile as exc:
            raise bundle_error(
                self.path, None, f"not a readable zip (truncated or not a bundle): {exc}"
            ) from exc
        except _READ_ERRORS as exc:
            raise bundle_error(self.path, None, f"could not be read: {exc}") from exc
        if len(infos) > MAX_MEMBERS:
            raise bundle_error(self.path, None, f"{len(infos)} members (at most {MAX_MEMBERS})")
        for info in infos:
            self._check_zip_member(info)
        self._sizes = {i.filename: i.compress_size for i in infos}

    def _check_zip_member(self, info: zipfile.ZipInfo) -> None:
        name = info.filename
        if not safe_member_name(name):
            raise bundle_error(self.path, repr(name), "member path escaping its folder: refused")
        if name in self._sizes:
            raise bundle_error(self.path, name, "the archive holds this name twice: refused")
        self._sizes[name] = info.compress_size
        if info.is_dir():
            raise bundle_error(self.path, name, "a folder entry: bundles hold files only")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise bundle_error(self.path, name, "a symbolic link: refused")
        if info.flag_bits & 0x1:
            raise bundle_error(self.path, name, "encrypted: refused")
        if info.compress_type not in _COMPRESSIONS:
            raise bundle_error(
                self.path, name, f"compression method {info.compress_type} is not supported"
            )

    def _open_folder(self) -> None:
        try:
            entries = sorted(os.scandir(self.path), key=lambda e: e.name)
        except OSError as exc:
            raise bundle_error(self.path, None, f"could not list the folder: {exc}") from exc
        if len(entries) > MAX_MEMBERS:
            raise bundle_error(self.path, None, f"{len(entries)} files (at most {MAX_MEMBERS})")
        for entry in entries:
            if entry.is_symlink():
                raise bundle_error(self.path, entry.name, "a symbolic link: refused")
            if not entry.is_file(follow_symlinks=False):
                raise bundle_error(self.path, entry.name, "not a regular file: refused")
            if not safe_member_name(entry.name):
                raise bundle_error(self.path, repr(entry.name), "unsafe file name: refused")
            self._sizes[entry.name] = None

    def __enter__(self) -> Archive:
        if self.path.is_dir():
            self._open_folder()
        elif self.path.is_file():
            self._open_zip()
        else:
            raise bundle_error(self.path, None, "no bundle at this path")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._zip is not None:
            self._zip.close()

    def stored_bytes(self, infos: dict[str, MemberInfo]) -> int:
        """Bytes the members take in the archive: compressed sizes in a zip, file sizes in
        a folder (what a crafted bundle cannot inflate without growing)."""
        return sum(
            info.size if self._sizes.get(name) is None else int(self._sizes[name] or 0)
            for name, info in infos.items()
        )

    @property
    def names(self) -> list[str]:
        """Member names, in archive order."""
        return list(self._sizes)

    # -- streaming -----------------------------------------------------------------------

    @contextmanager
    def _stream(self, name: str) -> Iterator[BinaryIO]:
        if self._zip is not None:
            with self._zip.open(name) as fh:
                yield fh  # type: ignore[misc]
            return
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(self.path / name, flags)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise bundle_error(self.path, name, "not a regular file: refused")
            with os.fdopen(fd, "rb", closefd=True) as fh:
                fd = -1
                yield fh
        finally:
            if fd >= 0:
                os.close(fd)

    def cap(self, name: str) -> int:
        """Most bytes ``name`` may unpack to before reading stops."""
        default = MAX_UNPACKED_BYTES if name in MODEL_MEMBERS else EXTRA_MEMBER_CAP
        cap = SMALL_MEMBER_CAPS.get(name, default)
        compressed = self._sizes.get(name)
        if compressed is not None:
            cap = min(cap, MAX_COMPRESSION_RATIO * compressed + RATIO_SLACK_BYTES)
        return cap

    def _chunks(self, name: str, cap: int) -> Iterator[bytes]:
        """The member's bytes in chunks; a :class:`BundleError` past ``cap`` bytes."""
        seen = 0
        try:
            with self._stream(name) as fh:
                while chunk := fh.read(min(CHUNK_BYTES, cap + 1 - seen)):
                    seen += len(chunk)
                    if seen > cap:
                        raise bundle_error(
                            self.path, name, f"unpacks to more than {cap:,} bytes: refused"
                        )
                    yield chunk
        except BundleError:
            raise
        except _READ_ERRORS as exc:
            raise bundle_error(self.path, name, f"could not be read: {exc}") from exc

    def measure(self, name: str, budget: int) -> MemberInfo:
        """Stream ``name`` once: its size, SHA-256 and head, holding one chunk at a time.

        ``budget`` is what the whole bundle may still unpack to.
        """
        cap = min(self.cap(name), budget)
        digest = hashlib.sha256()
        head = bytearray()
        size = 0
        keep = name in SMALL_MEMBER_CAPS
        whole = bytearray() if keep else None
        for chunk in self._chunks(name, cap):
            digest.update(chunk)
            size += len(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            if whole is not None:
                whole += chunk
        return MemberInfo(
            name, size, digest.hexdigest(), bytes(head), None if whole is None else bytes(whole)
        )

    def read(self, info: MemberInfo) -> bytes:
        """The whole member, read at most to the size :meth:`measure` found and checked
        against the same SHA-256 (the archive must not change between the two reads)."""
        out = bytearray()
        digest = hashlib.sha256()
        for chunk in self._chunks(info.name, info.size):
            digest.update(chunk)
            out += chunk
        if len(out) != info.size or digest.hexdigest() != info.sha256:
            raise bundle_error(self.path, info.name, "changed while it was being read")
        return bytes(out)


def open_archive(path: str | os.PathLike[str]) -> Archive:
    """An :class:`Archive` for ``path`` (enter it to open and list the members)."""
    return Archive(Path(path))


def scan(archive: Archive) -> dict[str, MemberInfo]:
    """Measure every member (see :meth:`Archive.measure`) within :data:`MAX_UNPACKED_BYTES`
    for the whole bundle."""
    out: dict[str, MemberInfo] = {}
    left = MAX_UNPACKED_BYTES
    for name in archive.names:
        info = archive.measure(name, left)
        left -= info.size
        out[name] = info
    log.debug("scanned %s: %d members, %d bytes", archive.path, len(out), MAX_UNPACKED_BYTES - left)
    return out
