"""A failed upload is not saved (issue 14, point 5): the workspace is left as it was."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from recolab import studio
from recolab.errors import DataError

GOOD = b"user,item\nu1,a\nu1,b\nu2,a\n"


def _png() -> bytes:
    """A real 1×1 PNG image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _state(root: Path) -> tuple[list[str], list[str]]:
    """The datasets listed and every entry under the workspace's datasets folder."""
    listed = [d.id for d in studio.list_datasets(root)]
    on_disk = (
        sorted(p.name for p in (root / "datasets").glob("*"))
        if (root / "datasets").is_dir()
        else []
    )
    return listed, on_disk


@pytest.fixture
def root(tmp_path: Path) -> Path:
    home = tmp_path / "ws"
    studio.save_upload(home, "good.csv", GOOD)  # the dataset that was there before
    return home


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("photo.png", _png(), "png"),
        ("one.csv", b"user item\nu1 a\nu2 b\n", "only one column"),
        ("headers.csv", b"visitor,when\nv1,2020\n", "no item column"),
        ("returns.csv", b"user,item,rating\nu1,a,x\nu2,b,y\n", "no usable rows"),
    ],
)
def test_a_failed_upload_leaves_the_workspace_unchanged(
    root: Path, name: str, data: bytes, match: str
) -> None:
    before = _state(root)
    with pytest.raises(DataError, match=match) as err:
        studio.save_upload(root, name, data)
    assert str(err.value).startswith(f"file {name}"), str(err.value)  # as the user named it
    assert ".staging" not in str(err.value)
    assert _state(root) == before


def test_a_mapping_naming_a_missing_column_is_refused(root: Path) -> None:
    before = _state(root)
    with pytest.raises(DataError, match="no such column") as err:
        studio.save_upload(root, "log.csv", b"a,b\n1,2\n", mapping={"user": "a", "item": "z"})
    assert err.value.file == "log.csv" and err.value.column == "z"
    assert _state(root) == before


def test_a_bad_catalogue_refuses_the_whole_upload(root: Path) -> None:
    before = _state(root)
    with pytest.raises(DataError, match=r"items\.png"):
        studio.save_upload(root, "log.csv", GOOD, items_name="items.png", items_data=_png())
    assert _state(root) == before


def test_a_bad_row_is_named_with_the_uploaded_file(root: Path) -> None:
    with pytest.raises(DataError) as err:
        studio.save_upload(root, "q.csv", b'user,item\nu1,a\nu2,"b\nu3,c\n')
    assert err.value.file == "q.csv" and err.value.row == 2


def test_upload_columns_reads_without_saving(root: Path) -> None:
    before = _state(root)
    columns, detected = studio.upload_columns(root, "odd.csv", b"person,sku\np1,a\n")
    assert columns == ["person", "sku"] and detected == {"item": "sku"}
    with pytest.raises(DataError, match=r"file photo\.png"):
        studio.upload_columns(root, "photo.png", _png())
    assert _state(root) == before


def test_a_good_upload_is_saved_with_its_mapping(root: Path) -> None:
    info = studio.save_upload(root, "p.csv", b"person,sku\np1,a\n", mapping={"user": "person"})
    assert info.id in [d.id for d in studio.list_datasets(root)]
    assert info.mapping == {"user": "person"}
    assert studio.load_dataset(root, info.id).n_users == 1
    assert not list((root / "datasets").glob(".staging-*"))
