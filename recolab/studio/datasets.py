"""The workspace and its datasets: the samples, uploads (staged, checked, then saved),
column mappings, loading a dataset and its summary numbers.

Datasets live in ``<workspace>/datasets/<id>/`` (``meta.json`` plus the uploaded files, each
written atomically); the shipped samples are datasets too, under their own names.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recolab.data.interactions import InteractionData
from recolab.errors import DataError, RecolabError

log = logging.getLogger(__name__)


#: Roles offered in the column-mapping selectboxes of the Data page.
MAPPING_ROLES = (
    "user",
    "item",
    "rating",
    "timestamp",
    "quantity",
    "price",
    "event",
    "invoice",
    "title",
)


_ID_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def workspace(home: str | Path | None = None) -> Path:
    """The workspace root (``$RECOLAB_HOME`` or ``./workspace``), created if missing."""
    from recolab.jobs.workspace import workspace_root

    return workspace_root(home)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset the app can train on.

    Attributes
    ----------
    id:
        ``"ml-100k"`` / ``"retail-sample"`` for the samples, ``"up-<hash>"`` for uploads.
    name:
        What the user sees (the uploaded file name, or the sample name).
    kind:
        ``"sample"`` or ``"upload"``.
    interactions, items, users:
        Paths of the uploaded files (``None`` for samples; ``items`` (item texts) and
        ``users`` (user attributes) optional).
    mapping:
        Column role → column name chosen for the upload (empty: detection).
    created:
        Unix time of the upload (0 for samples).
    users_mapping:
        ``{"user": COLUMN}`` when the user id column of the users file was chosen by hand
        (empty: detection, see :func:`recolab.data.io.load_users`).
    """

    id: str
    name: str
    kind: str
    interactions: Path | None = None
    items: Path | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    created: float = 0.0
    users: Path | None = None
    users_mapping: dict[str, str] = field(default_factory=dict)


def _check_id(dataset_id: str) -> None:
    if not isinstance(dataset_id, str) or not _ID_SAFE.match(dataset_id):
        raise RecolabError(f"invalid dataset id {dataset_id!r}")


def _safe_name(name: str, default: str) -> str:
    """A file name without folders or odd characters, keeping the extension."""
    base = Path(str(name)).name
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", base).lstrip(".")
    return clean or default


def _write_atomic(path: Path, data: bytes) -> None:
    from recolab.fileio import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@dataclass(frozen=True)
class _UploadFile:
    """One uploaded file: its name in the dataset folder, its original name and bytes."""

    stored: str
    original: str
    data: bytes


def _upload_files(
    name: str,
    data: bytes,
    items: tuple[str | None, bytes | None],
    users: tuple[str | None, bytes | None],
) -> dict[str, _UploadFile]:
    """The files of an upload by role (interactions, items, users), named as stored."""
    files = {
        "interactions": _UploadFile("interactions-" + _safe_name(name, "data.csv"), name, data)
    }
    for role, (fname, blob) in (("items", items), ("users", users)):
        if blob:
            original = fname or f"{role}.csv"
            files[role] = _UploadFile(
                f"{role}-" + _safe_name(original, f"{role}.csv"), original, blob
            )
    return files


def _renamed(exc: DataError, folder: Path, files: Mapping[str, _UploadFile]) -> DataError:
    """``exc`` naming the uploaded file as the user called it, not its staging path."""
    text = str(exc)
    for f in files.values():
        text = text.replace(str(folder / f.stored), f.original)
    out = DataError(text)
    out.file = next(
        (f.original for f in files.values() if exc.file == str(folder / f.stored)), exc.file
    )
    out.row, out.column = exc.row, exc.column
    return out


def _validate_upload(
    folder: Path,
    files: Mapping[str, _UploadFile],
    mapping: Mapping[str, str],
    users_mapping: Mapping[str, str],
) -> InteractionData:
    """Load the staged files as :func:`load_dataset` would (read, map, clean)."""
    from recolab.data.io import load_interactions, load_users

    items = folder / files["items"].stored if "items" in files else None
    try:
        data = load_interactions(
            folder / files["interactions"].stored, mapping or None, items=items
        )
        if "users" in files:
            data.user_meta = load_users(folder / files["users"].stored, users_mapping or None)
    except DataError as exc:
        raise _renamed(exc, folder, files) from exc
    return data


def save_upload(
    root: Path,
    name: str,
    data: bytes,
    *,
    items_name: str | None = None,
    items_data: bytes | None = None,
    users_name: str | None = None,
    users_data: bytes | None = None,
    mapping: Mapping[str, str] | None = None,
    users_mapping: Mapping[str, str] | None = None,
) -> DatasetInfo:
    """Check an uploaded interactions file (and optional item and user files) and save it as
    a workspace dataset.

    The files are written to a staging folder and loaded there exactly as
    :func:`load_dataset` loads them (read, map columns, clean); only when that succeeds do
    they move into the dataset folder. A file that cannot be used (an image, one column, a
    mapping naming a missing column, no usable rows …) leaves the workspace as it was. The id
    is derived from the content, so uploading the same files twice gives the same dataset;
    files are written atomically.

    Parameters
    ----------
    root:
        Workspace root.
    name, data:
        Original file name and bytes of the interactions file.
    items_name, items_data:
        Same for the optional item catalogue (titles, descriptions, genres).
    users_name, users_data:
        Same for the optional user attributes (a user id column, then attribute columns such
        as age, gender, occupation; or MovieLens ``u.user``).
    mapping:
        Role → column of the interactions file (empty values ignored); ``None``: detection,
        or the mapping stored for the same files before.
    users_mapping:
        ``{"user": COLUMN}`` for the users file; ``None``: detection (or as stored).

    Returns
    -------
    DatasetInfo
        The saved dataset.

    Raises
    ------
    DataError
        The files cannot be loaded; the message names the uploaded file (as the user named
        it), and the row and column where they apply. Nothing is written then.
    """
    if not data:
        raise DataError("the uploaded file is empty", file=name)
    dataset_id = _upload_id(data, items_data, users_data)
    files = _upload_files(name, data, (items_name, items_data), (users_name, users_data))
    folder = Path(root) / "datasets" / dataset_id
    old = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").is_file() else {}
    chosen = _clean_mapping(mapping if mapping is not None else old.get("mapping") or {})
    users_chosen = _clean_mapping(
        users_mapping if users_mapping is not None else old.get("users_mapping") or {}
    )
    if not users_data:
        users_chosen = {}
    _stage_and_keep(folder, files, chosen, users_chosen)
    meta = {
        "id": dataset_id,
        "name": str(name),
        "interactions": files["interactions"].stored,
        "items": files["items"].stored if "items" in files else None,
        "items_name": items_name,
        "users": files["users"].stored if "users" in files else None,
        "users_name": users_name if users_data else None,
        "mapping": chosen,
        "users_mapping": users_chosen,
        "created": time.time(),
    }
    _write_atomic(folder / "meta.json", json.dumps(meta, indent=2).encode())
    log.info("saved upload %s as dataset %s", name, dataset_id)
    return get_dataset(root, dataset_id)


def _upload_id(data: bytes, items_data: bytes | None, users_data: bytes | None) -> str:
    """The dataset id of an upload: a digest of its files, so the same files give the same."""
    digest = hashlib.sha256(data)
    if items_data:
        digest.update(b"\0items\0" + items_data)
    if users_data:
        digest.update(b"\0users\0" + users_data)
    return "up-" + digest.hexdigest()[:12]


def _stage_and_keep(
    folder: Path, files: Mapping[str, Any], chosen: dict[str, str], users_chosen: dict[str, str]
) -> None:
    """Write the files to a staging folder beside ``folder``, load them there as
    :func:`load_dataset` would, and only then move them into ``folder``; the staging folder
    goes either way, so a file that cannot be used leaves the workspace as it was."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder.parent))
    try:
        for f in files.values():
            _write_atomic(staging / f.stored, f.data)
        _validate_upload(staging, files, chosen, users_chosen)
        folder.mkdir(parents=True, exist_ok=True)
        for f in files.values():
            os.replace(staging / f.stored, folder / f.stored)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _clean_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """Role → column without the empty choices."""
    return {str(k): str(v) for k, v in mapping.items() if v}


def upload_columns(root: Path, name: str, data: bytes) -> tuple[list[str], dict[str, str]]:
    """The columns of an uploaded file not yet saved, and the roles detected for them (as
    :func:`detect_mapping`), read from a staging copy that is removed afterwards.

    Raises
    ------
    DataError
        If the file cannot be read as a table (naming the file as the user called it).
    """
    if not data:
        raise DataError("the uploaded file is empty", file=name)
    datasets = Path(root) / "datasets"
    datasets.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=datasets))
    files = {"interactions": _UploadFile("upload-" + _safe_name(name, "data.csv"), name, data)}
    try:
        _write_atomic(staging / files["interactions"].stored, data)
        return detect_mapping(staging / files["interactions"].stored)
    except DataError as exc:
        raise _renamed(exc, staging, files) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _upload_meta(root: Path, dataset_id: str) -> tuple[Path, dict[str, Any]]:
    """The meta.json path and content of an uploaded dataset."""
    _check_id(dataset_id)
    meta_path = Path(root) / "datasets" / dataset_id / "meta.json"
    if not meta_path.is_file():
        raise RecolabError(f"no uploaded dataset {dataset_id!r} in {root}")
    return meta_path, json.loads(meta_path.read_text())


def set_mapping(root: Path, dataset_id: str, mapping: Mapping[str, str]) -> DatasetInfo:
    """Store the column mapping chosen for an uploaded dataset (empty values are dropped),
    once the log loads with it; a mapping that fails raises :class:`DataError` and the stored
    one stays."""
    meta_path, meta = _upload_meta(root, dataset_id)
    info = get_dataset(root, dataset_id)
    chosen = _clean_mapping(mapping)
    assert info.interactions is not None
    from recolab.data.io import load_interactions

    load_interactions(info.interactions, chosen or None, items=info.items)  # refuse a bad one
    meta["mapping"] = chosen
    _write_atomic(meta_path, json.dumps(meta, indent=2).encode())
    return get_dataset(root, dataset_id)


def set_users_mapping(root: Path, dataset_id: str, user_column: str | None) -> DatasetInfo:
    """Store the user id column chosen for the users file of an uploaded dataset (``None`` or
    empty: back to detection)."""
    meta_path, meta = _upload_meta(root, dataset_id)
    if not meta.get("users"):
        raise RecolabError(f"dataset {dataset_id!r} has no user attributes file")
    meta["users_mapping"] = {"user": str(user_column)} if user_column else {}
    _write_atomic(meta_path, json.dumps(meta, indent=2).encode())
    return get_dataset(root, dataset_id)


def get_dataset(root: Path, dataset_id: str) -> DatasetInfo:
    """The dataset ``dataset_id`` (a sample name or an upload id).

    Raises
    ------
    RecolabError
        If there is no such dataset.
    """
    from recolab.data.samples import SAMPLES

    if dataset_id in SAMPLES:
        return DatasetInfo(id=dataset_id, name=dataset_id, kind="sample")
    _check_id(dataset_id)
    folder = Path(root) / "datasets" / dataset_id
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise RecolabError(f"no dataset {dataset_id!r} in the workspace {root}")
    meta = json.loads(meta_path.read_text())
    return DatasetInfo(
        id=dataset_id,
        name=str(meta.get("name", dataset_id)),
        kind="upload",
        interactions=folder / meta["interactions"],
        items=folder / meta["items"] if meta.get("items") else None,
        mapping=dict(meta.get("mapping") or {}),
        created=float(meta.get("created", 0.0)),
        users=folder / meta["users"] if meta.get("users") else None,
        users_mapping=dict(meta.get("users_mapping") or {}),
    )


def list_datasets(root: Path) -> list[DatasetInfo]:
    """The samples, then the uploads (newest first)."""
    from recolab.data.samples import available_samples

    out = [DatasetInfo(id=s, name=s, kind="sample") for s in available_samples()]
    uploads = []
    for meta in sorted((Path(root) / "datasets").glob("*/meta.json")):
        if meta.parent.name.startswith("."):  # staging, or a folder being deleted
            continue
        try:
            uploads.append(get_dataset(root, meta.parent.name))
        except (RecolabError, KeyError, ValueError) as exc:
            log.warning("skipping unreadable dataset %s: %s", meta.parent, exc)
    uploads.sort(key=lambda d: -d.created)
    return out + uploads


def detect_mapping(path: str | Path) -> tuple[list[str], dict[str, str]]:
    """The columns of a table and the roles detected for them.

    Returns
    -------
    (columns, mapping)
        Column names (``col1``, ``col2``… for a headerless file) and role → column as
        loading would assign them without a mapping.

    Raises
    ------
    DataError
        If the file cannot be read (empty, binary, malformed).
    """
    from recolab.data.columns import detect_columns
    from recolab.data.io import HEADERLESS_ROLES, read_table

    raw = read_table(path)
    columns = [str(c) for c in raw.frame.columns]
    if raw.header:
        return columns, detect_columns(columns)
    roles = HEADERLESS_ROLES.get(len(columns), ())
    return columns, {role: f"col{j + 1}" for j, role in enumerate(roles)}


def preview(path: str | Path, n: int = 20) -> pd.DataFrame:
    """The first ``n`` rows of a table as read (strings)."""
    from recolab.data.io import read_table

    return read_table(path).frame.head(n)


def load_dataset(root: Path, dataset_id: str) -> InteractionData:
    """Load and validate a dataset (its report is on ``.report``; user attributes, when the
    dataset has them, on ``.user_meta``).

    Raises
    ------
    DataError
        With the file, row and column when the data (interactions, items or users) are bad.
    """
    from recolab.data.io import load_interactions, load_users
    from recolab.data.samples import load_sample

    info = get_dataset(root, dataset_id)
    if info.kind == "sample":
        return load_sample(info.id)
    assert info.interactions is not None
    data = load_interactions(info.interactions, info.mapping or None, items=info.items)
    if info.users is not None:
        data.user_meta = load_users(info.users, info.users_mapping or None)
    data.name = info.name
    return data


def dataset_stats(data: InteractionData) -> dict[str, Any]:
    """Users, items, interactions, density, kind and the users per item (``item_counts``)."""
    counts = np.diff(data.user_items.tocsc().indptr).astype(float)
    return {
        "users": int(data.n_users),
        "items": int(data.n_items),
        "interactions": int(data.n_interactions),
        "density": float(data.density()),
        "kind": data.kind,
        "item_counts": counts,
    }
