"""Generators of hostile bundles, one per kind, written from an intact bundle by code.

Each generator takes the intact bundle's members (name → bytes) and a folder to write in,
and returns the path of the hostile bundle. :data:`CASES` maps a kind to its generator and
to the member the refusal must name (``None`` for archive-level refusals). Most kinds
recompute the checksum table, so that the refusal comes from the check under test and not
from the checksums.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

Files = dict[str, bytes]
MODEL_FILES = ("weights.safetensors", "history.safetensors", "users.csv", "items.csv")


def read_members(path: Path) -> Files:
    """Name → bytes of every member of a zip bundle."""
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def config_of(files: Files) -> dict:
    """The parsed ``config.json``."""
    return json.loads(files["config.json"])


def with_config(files: Files, cfg: dict, *, fix_sums: bool = True) -> Files:
    """``files`` with ``cfg`` as config.json, checksums recomputed unless told not to."""
    out = dict(files)
    if fix_sums:
        cfg["sha256"] = {n: hashlib.sha256(out[n]).hexdigest() for n in MODEL_FILES}
    out["config.json"] = json.dumps(cfg).encode()
    return out


def resum(files: Files) -> Files:
    """``files`` with the checksum table recomputed (what a tamperer does)."""
    return with_config(files, config_of(files))


def write_zip(path: Path, files: Files, method: int = zipfile.ZIP_DEFLATED) -> Path:
    """A zip holding ``files``."""
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def safetensors_bytes(header: dict | bytes, data: bytes = b"", length: int | None = None) -> bytes:
    """A safetensors member with a hand-made header (and a length field we may lie in)."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(raw) if length is None else length
    return struct.pack("<Q", n) + raw + data


def parse_safetensors(data: bytes) -> tuple[dict, bytes]:
    """(header, data) of a safetensors member."""
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def _member_zip(out: Path, files: Files, name: str, chunks: Callable[[], object]) -> Path:
    """A zip whose member ``name`` is streamed from ``chunks()`` (for bombs)."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, data in files.items():
            if n != name:
                zf.writestr(n, data)
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            for chunk in chunks():  # type: ignore[attr-defined]
                fh.write(chunk)
    return out


def _zeros(total: int, prefix: bytes = b"") -> Callable[[], object]:
    block = bytes(1 << 20)

    def gen():  # type: ignore[no-untyped-def]
        yield prefix
        for _ in range(total // len(block)):
            yield block

    return gen


BOMB_BYTES = 1 << 30  # each bomb member inflates to 1 GiB (about 1 MB compressed)


# -- archive-level kinds ----------------------------------------------------------------


def truncated(files: Files, out: Path) -> Path:
    data = write_zip(out / "full.zip", files).read_bytes()
    (out / "cut.zip").write_bytes(data[: len(data) // 2])
    return out / "cut.zip"


def empty_file(files: Files, out: Path) -> Path:
    (out / "empty.zip").write_bytes(b"")
    return out / "empty.zip"


def random_bytes(files: Files, out: Path) -> Path:
    (out / "noise.zip").write_bytes(os.urandom(4096))
    return out / "noise.zip"


def foreign_zip(files: Files, out: Path) -> Path:
    return write_zip(out / "foreign.zip", {"hello.txt": b"hi"})


def zip_slip(files: Files, out: Path) -> Path:
    return write_zip(out / "slip.zip", {**files, "../../escape.txt": b"x"})


def absolute_member(files: Files, out: Path) -> Path:
    return write_zip(out / "abs.zip", {**files, "/tmp/abs.txt": b"x"})


def duplicate_member(files: Files, out: Path) -> Path:
    path = out / "dup.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        cfg = config_of(files)
        cfg["objectives"]["lam"] = 0.9
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zf.writestr("config.json", json.dumps(cfg))
    return path


def bomb_weights(files: Files, out: Path) -> Path:
    """A valid weights header followed by 1 GiB of zeros (the declared size is honest)."""
    return _member_zip(
        out / "bomb_w.zip",
        files,
        "weights.safetensors",
        _zeros(BOMB_BYTES, files["weights.safetensors"]),
    )


def bomb_extra(files: Files, out: Path) -> Path:
    """An extra member (a model card) that inflates to 1 GiB."""
    return _member_zip(out / "bomb_x.zip", files, "MODEL_CARD.md", _zeros(BOMB_BYTES))


def bomb_csv(files: Files, out: Path) -> Path:
    """users.csv inflating to 1 GiB of one repeated row."""
    row = b"0,x\n" * (1 << 18)

    def gen():  # type: ignore[no-untyped-def]
        yield b"index,id\n"
        for _ in range(BOMB_BYTES // len(row)):
            yield row

    return _member_zip(out / "bomb_u.zip", files, "users.csv", gen)


def declared_size_lie(files: Files, out: Path) -> Path:
    """The zip declares 16 bytes for history.safetensors; the stream holds more."""

    def size(data: bytearray, at: int) -> None:
        struct.pack_into("<I", data, at + 24, 16)

    return _patch_central(write_zip(out / "lie.zip", files), "history.safetensors", size)


def _patch_central(path: Path, name: str, patch: Callable[[bytearray, int], None]) -> Path:
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        (n,) = struct.unpack_from("<H", data, at + 28)
        if data[at + 46 : at + 46 + n] == name.encode():
            patch(data, at)
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    return path


def encrypted_flag(files: Files, out: Path) -> Path:
    def flag(data: bytearray, at: int) -> None:
        (bits,) = struct.unpack_from("<H", data, at + 8)
        struct.pack_into("<H", data, at + 8, bits | 0x1)

    return _patch_central(write_zip(out / "enc.zip", files), "users.csv", flag)


def bzip2_member(files: Files, out: Path) -> Path:
    return write_zip(out / "bz.zip", files, zipfile.ZIP_BZIP2)


def unknown_method(files: Files, out: Path) -> Path:
    def method(data: bytearray, at: int) -> None:
        struct.pack_into("<H", data, at + 10, 99)

    return _patch_central(write_zip(out / "m99.zip", files), "items.csv", method)


def symlink_member_in_zip(files: Files, out: Path) -> Path:
    path = out / "zlink.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            if name == "users.csv":
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, b"/etc/passwd")
            else:
                zf.writestr(name, data)
    return path


def too_many_members(files: Files, out: Path) -> Path:
    return write_zip(out / "many.zip", {**files, **{f"f{i}.txt": b"x" for i in range(200)}})


def directory_entry(files: Files, out: Path) -> Path:
    path = write_zip(out / "dir.zip", files)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(zipfile.ZipInfo("extra/"), b"")
    return path


def missing_member(files: Files, out: Path) -> Path:
    return write_zip(
        out / "miss.zip", {k: v for k, v in files.items() if k != "history.safetensors"}
    )


def crc_corruption(files: Files, out: Path) -> Path:
    """One byte of a stored member flipped: the zip's CRC no longer matches."""
    path = write_zip(out / "crc.zip", files, zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("items.csv")
    (n, m) = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + n + m + 3] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


# -- folder kinds -------------------------------------------------------------------------


def _folder(files: Files, out: Path, name: str) -> Path:
    folder = out / name
    folder.mkdir()
    for n, data in files.items():
        (folder / n).write_bytes(data)
    return folder


def folder_symlink(files: Files, out: Path) -> Path:
    """users.csv is a symbolic link to a file outside the folder (with a valid checksum)."""
    folder = _folder(files, out, "fsym")
    outside = out / "outside.csv"
    outside.write_bytes(files["users.csv"])
    (folder / "users.csv").unlink()
    (folder / "users.csv").symlink_to(outside)
    return folder


def folder_fifo(files: Files, out: Path) -> Path:
    folder = _folder(files, out, "ffifo")
    (folder / "items.csv").unlink()
    os.mkfifo(folder / "items.csv")
    return folder


def folder_subdir(files: Files, out: Path) -> Path:
    folder = _folder(files, out, "fdir")
    (folder / "nested").mkdir()
    return folder


def folder_missing(files: Files, out: Path) -> Path:
    folder = _folder(files, out, "fmiss")
    (folder / "weights.safetensors").unlink()
    return folder


def no_such_path(files: Files, out: Path) -> Path:
    return out / "does-not-exist.zip"


# -- config.json kinds --------------------------------------------------------------------


def _edit(name: str, change: Callable[[dict], None], fix_sums: bool = True):  # type: ignore[no-untyped-def]
    def make(files: Files, out: Path) -> Path:
        cfg = config_of(files)
        change(cfg)
        return write_zip(out / f"{name}.zip", with_config(files, cfg, fix_sums=fix_sums))

    make.__name__ = name
    return make


def _raw_config(name: str, text: bytes):  # type: ignore[no-untyped-def]
    def make(files: Files, out: Path) -> Path:
        return write_zip(out / f"{name}.zip", {**files, "config.json": text})

    make.__name__ = name
    return make


def _set(path: str, value: object) -> Callable[[dict], None]:
    def change(cfg: dict) -> None:
        *parents, last = path.split(".")
        node = cfg
        for p in parents:
            node = node[p]
        node[last] = value

    return change


def consistent_large(files: Files, out: Path, n_items: int, name: str = "large") -> Path:
    """A linear-rerank bundle consistent in every part that claims ``n_items`` items, with
    a sparse n_items × n_items weight matrix of a few values (tiny on disk, huge unpacked):
    candidates, id maps, histories and checksums all agree."""
    import numpy as np
    from safetensors.numpy import load, save

    cfg = config_of(files)
    cfg["dimensions"]["n_items"] = n_items
    cfg["weights_layout"] = {"weights": {"storage": "sparse", "shape": [n_items, n_items]}}
    cfg.pop("item_vectors", None)
    nnz = 10
    weights = {
        "weights.rows": np.arange(nnz, dtype=np.int32),
        "weights.cols": np.arange(nnz, dtype=np.int32)[::-1].copy(),
        "weights.values": np.ones(nnz, np.float32),
    }
    history = dict(load(files["history.safetensors"]))
    history["candidates"] = np.ones(n_items, np.uint8)
    items = "index,id\n" + "".join(f"{i},i{i}\n" for i in range(n_items))
    out_files = {
        **files,
        "weights.safetensors": save(weights),
        "history.safetensors": save(history),
        "items.csv": items.encode(),
    }
    return write_zip(out / f"{name}.zip", with_config(out_files, cfg))


def sparse_million(files: Files, out: Path) -> Path:
    """10⁶ items: a sparse 10⁶ × 10⁶ matrix (4 TB unpacked), consistent everywhere else."""
    return consistent_large(files, out, 10**6, "million")


def sparse_30k(files: Files, out: Path) -> Path:
    """30,000 items: 3.6 GB unpacked from a bundle of about 100 KB."""
    return consistent_large(files, out, 30_000, "k30")


def layout_mismatch(cfg: dict) -> None:
    name = next(iter(cfg["weights_layout"]))
    shape = cfg["weights_layout"][name]["shape"]
    cfg["weights_layout"][name]["shape"] = [shape[0] + 1, *shape[1:]]


def drop_sum(cfg: dict) -> None:
    """The users.csv checksum left out (the other three still right)."""
    del cfg["sha256"]["users.csv"]


def big_integer(files: Files, out: Path) -> Path:
    """n_items written with 5,000 digits (past Python's int parsing limit)."""
    cfg = config_of(files)
    cfg["dimensions"]["n_items"] = 12345
    text = json.dumps(cfg).replace('"n_items": 12345', '"n_items": ' + "9" * 5000)
    return write_zip(out / "bigint.zip", {**files, "config.json": text.encode()})


def deep_json() -> bytes:
    return b'{"format": "recolab-bundle", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


# -- safetensors kinds --------------------------------------------------------------------


def _tensors(name: str, member: str, change: Callable[[dict, bytes], bytes]):  # type: ignore[no-untyped-def]
    def make(files: Files, out: Path) -> Path:
        out_files = dict(files)
        header, data = parse_safetensors(files[member])
        out_files[member] = change(header, data)
        return write_zip(out / f"{name}.zip", resum(out_files))

    make.__name__ = name
    return make


def header_len_huge(header: dict, data: bytes) -> bytes:
    return safetensors_bytes(header, data, length=2**63)


def header_len_past_end(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return safetensors_bytes(raw, data, length=len(raw) + len(data) + 100)


def header_4tb(header: dict, data: bytes) -> bytes:
    """One tensor claims 10⁶ × 10⁶ float32 = 4 TB with matching data_offsets."""
    name = next(iter(header))
    header[name] = {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4 * 10**12]}
    return safetensors_bytes(header, data)


def header_bad_dtype(header: dict, data: bytes) -> bytes:
    next(iter(v for k, v in header.items() if k != "__metadata__"))["dtype"] = "Q99"
    return safetensors_bytes(header, data)


def header_gap(header: dict, data: bytes) -> bytes:
    entry = next(iter(v for k, v in header.items() if k != "__metadata__"))
    entry["data_offsets"] = [o + 4 for o in entry["data_offsets"]]
    return safetensors_bytes(header, data)


def header_negative(header: dict, data: bytes) -> bytes:
    next(iter(v for k, v in header.items() if k != "__metadata__"))["shape"][0] = -1
    return safetensors_bytes(header, data)


def header_not_json(header: dict, data: bytes) -> bytes:
    return safetensors_bytes(b"{not json" + b" " * 20, data)


def header_list(header: dict, data: bytes) -> bytes:
    return safetensors_bytes(b"[1, 2, 3]", data)


def header_rank3(header: dict, data: bytes) -> bytes:
    """A [n, n] tensor described as [n, n, 1] (same bytes)."""
    entry = next(v for k, v in header.items() if k != "__metadata__" and len(v["shape"]) == 2)
    entry["shape"] = [*entry["shape"], 1]
    return safetensors_bytes(header, data)


def weights_as_int(header: dict, data: bytes) -> bytes:
    """Every F32 tensor relabelled I32 (consistent header, wrong type for the layout)."""
    for k, v in header.items():
        if k != "__metadata__" and v["dtype"] == "F32":
            v["dtype"] = "I32"
    return safetensors_bytes(header, data)


def weights_nan(header: dict, data: bytes) -> bytes:
    entry = next(v for k, v in header.items() if k != "__metadata__" and v["dtype"] == "F32")
    begin = entry["data_offsets"][0]
    patched = bytearray(data)
    patched[begin : begin + 4] = struct.pack("<f", float("nan"))
    return safetensors_bytes(header, bytes(patched))


def _array_edit(name: str, fill: Callable[[bytearray, int, int], None]):  # type: ignore[no-untyped-def]
    def change(header: dict, data: bytes) -> bytes:
        begin, end = header[name]["data_offsets"]
        patched = bytearray(data)
        fill(patched, begin, end)
        return safetensors_bytes(header, bytes(patched))

    return change


def _set_i64(index: int, value: int) -> Callable[[bytearray, int, int], None]:
    def fill(buf: bytearray, begin: int, end: int) -> None:
        at = begin + 8 * index if index >= 0 else end + 8 * index
        struct.pack_into("<q", buf, at, value)

    return fill


def _set_u8(buf: bytearray, begin: int, end: int) -> None:
    buf[begin] = 7


def history_short_indptr(header: dict, data: bytes) -> bytes:
    begin, end = header["indptr"]["data_offsets"]
    header["indptr"]["shape"] = [header["indptr"]["shape"][0] - 1]
    cut = data[: end - 8] + data[end:]
    for v in header.values():
        if isinstance(v, dict) and v.get("data_offsets", [0])[0] >= end:
            v["data_offsets"] = [o - 8 for o in v["data_offsets"]]
    header["indptr"]["data_offsets"] = [begin, end - 8]
    return safetensors_bytes(header, cut)


# -- CSV kinds ----------------------------------------------------------------------------


def _csv(name: str, member: str, change: Callable[[bytes], bytes], fix_sums: bool = True):  # type: ignore[no-untyped-def]
    def make(files: Files, out: Path) -> Path:
        changed = {**files, member: change(files[member])}
        return write_zip(out / f"{name}.zip", resum(changed) if fix_sums else changed)

    make.__name__ = name
    return make


def csv_duplicate_ids(data: bytes) -> bytes:
    lines = data.decode().splitlines()
    second = lines[2].split(",", 1)[0]
    lines[2] = f"{second},{lines[1].split(',', 1)[1]}"
    return ("\n".join(lines) + "\n").encode()


def csv_drop_last(data: bytes) -> bytes:
    return ("\n".join(data.decode().splitlines()[:-1]) + "\n").encode()


def csv_no_id(data: bytes) -> bytes:
    lines = data.decode().splitlines()
    lines[0] = lines[0].replace("id", "ident", 1).replace("index", "index", 1)
    return ("\n".join(lines) + "\n").encode()


#: kind → (generator, member the refusal must name; None: the archive itself)
CASES: dict[str, tuple[Callable[[Files, Path], Path], str | None]] = {
    "truncated zip": (truncated, None),
    "empty file": (empty_file, None),
    "random bytes": (random_bytes, None),
    "foreign zip": (foreign_zip, "config.json"),
    "zip-slip member": (zip_slip, "'../../escape.txt'"),
    "absolute member path": (absolute_member, "'/tmp/abs.txt'"),
    "duplicate member name": (duplicate_member, "config.json"),
    "zip bomb in weights (1 GiB)": (bomb_weights, "weights.safetensors"),
    "zip bomb in an extra member": (bomb_extra, "MODEL_CARD.md"),
    "zip bomb in users.csv": (bomb_csv, "users.csv"),
    "declared size lies": (declared_size_lie, "history.safetensors"),
    "encrypted member": (encrypted_flag, "users.csv"),
    "bzip2 members": (bzip2_member, "config.json"),
    "unknown compression method": (unknown_method, "items.csv"),
    "symlink member in zip": (symlink_member_in_zip, "users.csv"),
    "too many members": (too_many_members, None),
    "folder entry in zip": (directory_entry, "extra/"),
    "missing member": (missing_member, "history.safetensors"),
    "CRC corruption": (crc_corruption, "items.csv"),
    "folder: users.csv symlink": (folder_symlink, "users.csv"),
    "folder: FIFO member": (folder_fifo, "items.csv"),
    "folder: sub-folder": (folder_subdir, "nested"),
    "folder: missing file": (folder_missing, "weights.safetensors"),
    "no such path": (no_such_path, None),
    "config: not JSON": (_raw_config("notjson", b"{oops"), "config.json"),
    "config: JSON list": (_raw_config("cfglist", b"[1, 2]"), "config.json"),
    "config: nested 100k deep": (_raw_config("deep", deep_json()), "config.json"),
    "config: 5000-digit integer": (big_integer, "config.json"),
    "config: schema version 2": (_edit("v2", _set("schema_version", 2)), "config.json"),
    "config: n_items = 1e6 (float)": (
        _edit("f1e6", _set("dimensions.n_items", 1e6)),
        "config.json",
    ),
    "config: n_users = 1e9": (_edit("u1e9", _set("dimensions.n_users", 10**9)), "config.json"),
    "config: n_items = 1e9": (_edit("i1e9", _set("dimensions.n_items", 10**9)), "config.json"),
    "sparse 10^6 x 10^6, consistent": (sparse_million, "config.json"),
    "sparse 30k x 30k, consistent (3.6 GB unpacked)": (sparse_30k, "config.json"),
    "config: layout shape differs from header": (
        _edit("laymis", layout_mismatch),
        "weights.safetensors",
    ),
    "config: λ is NaN": (_edit("lamnan", _set("objectives.lam", float("nan"))), "config.json"),
    "config: λ is a list": (_edit("lamlist", _set("objectives.lam", [1])), "config.json"),
    "config: λ range reversed": (_edit("lamrev", _set("lambda_range", [1.0, 0.0])), "config.json"),
    "config: negative candidates": (_edit("cand", _set("n_candidates", -5)), "config.json"),
    "config: unknown re-ranker": (
        _edit("mech", _set("mechanism", {"name": "no-such-mechanism"})),
        "config.json",
    ),
    "config: re-ranker option of the wrong kind": (
        _edit("mechopt", _set("mechanism", {"name": "popularity", "bogus": 1})),
        "config.json",
    ),
    "config: negative l2": (_edit("l2", _set("base.params.l2", -1.0)), "config.json"),
    "config: checksum table incomplete": (_edit("nosum", drop_sum, fix_sums=False), "config.json"),
    "config: dimensions missing": (_edit("nodims", lambda c: c.pop("dimensions")), "config.json"),
    "checksum mismatch (corruption)": (
        _csv("csum", "items.csv", lambda d: d + b"\n", fix_sums=False),
        "items.csv",
    ),
    "header length 2^63": (
        _tensors("hl63", "weights.safetensors", header_len_huge),
        "weights.safetensors",
    ),
    "header length past the end": (
        _tensors("hlend", "history.safetensors", header_len_past_end),
        "history.safetensors",
    ),
    "header claims a 4 TB tensor": (
        _tensors("h4tb", "weights.safetensors", header_4tb),
        "weights.safetensors",
    ),
    "header: unknown dtype": (
        _tensors("hdtype", "weights.safetensors", header_bad_dtype),
        "weights.safetensors",
    ),
    "header: gap between tensors": (
        _tensors("hgap", "history.safetensors", header_gap),
        "history.safetensors",
    ),
    "header: negative size": (
        _tensors("hneg", "weights.safetensors", header_negative),
        "weights.safetensors",
    ),
    "header: not JSON": (
        _tensors("hjson", "weights.safetensors", header_not_json),
        "weights.safetensors",
    ),
    "header: a JSON list": (
        _tensors("hlist", "history.safetensors", header_list),
        "history.safetensors",
    ),
    "header: rank-3 tensor": (
        _tensors("hrank", "weights.safetensors", header_rank3),
        "weights.safetensors",
    ),
    "weights stored as integers": (
        _tensors("wint", "weights.safetensors", weights_as_int),
        "weights.safetensors",
    ),
    "weights hold NaN": (
        _tensors("wnan", "weights.safetensors", weights_nan),
        "weights.safetensors",
    ),
    "history: item index out of range": (
        _tensors("hidx", "history.safetensors", _array_edit("indices", _set_i64(0, 10**12))),
        "history.safetensors",
    ),
    "history: negative item index": (
        _tensors("hnegidx", "history.safetensors", _array_edit("indices", _set_i64(0, -3))),
        "history.safetensors",
    ),
    "history: indptr not increasing": (
        _tensors("hptr", "history.safetensors", _array_edit("indptr", _set_i64(1, 10**9))),
        "history.safetensors",
    ),
    "history: indptr one short": (
        _tensors("hshort", "history.safetensors", history_short_indptr),
        "history.safetensors",
    ),
    "history: candidate flag 7": (
        _tensors("hcand", "history.safetensors", _array_edit("candidates", _set_u8)),
        "history.safetensors",
    ),
    "users.csv: duplicate ids": (_csv("udup", "users.csv", csv_duplicate_ids), "users.csv"),
    "items.csv: a row short": (_csv("ishort", "items.csv", csv_drop_last), "items.csv"),
    "users.csv: no id column": (_csv("unoid", "users.csv", csv_no_id), "users.csv"),
    "users.csv: binary garbage": (
        _csv("ubin", "users.csv", lambda d: zlib.compress(os.urandom(2000))),
        "users.csv",
    ),
    "items.csv: empty": (_csv("iempty", "items.csv", lambda d: b""), "items.csv"),
}
