"""Where recolab keeps its state on disk: the workspace folder.

Layout::

    <root>/
      jobs.sqlite        job store (WAL mode; see :mod:`recolab.jobs.store`)
      worker.lock        held (``flock``) by the one live worker; holds its pid
      worker.log         stdout/stderr of a worker started by :func:`~recolab.jobs.ensure_worker`
      datasets/          uploaded / prepared data sets
      jobs/<job_id>/     one folder per job: ``log.txt`` and the artifacts the task writes
      models/            exported model bundles

The root is ``$RECOLAB_HOME`` when set, else ``./workspace``. Every fault of the folder
itself (a file in its place, no permission, read-only, disk full) is a
:class:`~recolab.errors.WorkspaceError` that names the path, never a raw ``OSError``.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import uuid
from pathlib import Path

from recolab.errors import WorkspaceError
from recolab.fileio import atomic_path

__all__ = [
    "atomic_path",
    "describe_os_error",
    "ensure_layout",
    "job_dir",
    "remove_tree",
    "workspace_root",
]

log = logging.getLogger(__name__)

ENV_VAR = "RECOLAB_HOME"
#: Prefix of a folder renamed aside by :func:`remove_tree` before it is removed.
DELETED_PREFIX = ".deleted-"
DB_NAME = "jobs.sqlite"
LOCK_NAME = "worker.lock"
WORKER_LOG_NAME = "worker.log"
SUBDIRS = ("datasets", "jobs", "models")

_HINTS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (disk full or a file-size limit)",
    errno.ENOTDIR: "a path component is a file, not a folder",
    errno.EEXIST: "a file is in the way",
}


def describe_os_error(exc: OSError) -> str:
    """A short reason for ``exc`` in words (``permission denied``, ``no space left``...)."""
    return _HINTS.get(exc.errno or 0) or exc.strerror or str(exc)


def workspace_root(home: str | os.PathLike[str] | None = None, *, create: bool = True) -> Path:
    """The workspace folder, created with its layout if missing (``create=True``).

    Parameters
    ----------
    home:
        Explicit folder; when ``None``, ``$RECOLAB_HOME`` or else ``./workspace``.
    create:
        Create the folder and its sub-folders. Readers pass ``False``: they work on a
        read-only or missing workspace (a missing one simply has no jobs).

    Returns
    -------
    Path
        Absolute path of the workspace root.

    Raises
    ------
    WorkspaceError
        The path is a file, or the folder cannot be created.
    """
    source = "--home" if home is not None else f"${ENV_VAR}" if os.environ.get(ENV_VAR) else None
    if home is None:
        home = os.environ.get(ENV_VAR) or "workspace"
    root = Path(home).expanduser().absolute()
    try:
        root = root.resolve()
        if root.exists() and not root.is_dir():
            named = f" (set by {source})" if source else ""
            raise WorkspaceError(f"workspace {root}{named} is a file, not a folder")
    except OSError as exc:
        raise WorkspaceError(f"workspace {root}: {describe_os_error(exc)}") from exc
    if create:
        ensure_layout(root)
    return root


def ensure_layout(root: Path) -> None:
    """Create ``root`` and its sub-folders (``datasets``, ``jobs``, ``models``) if missing.

    Raises
    ------
    WorkspaceError
        A folder cannot be created (permission, read-only, a file in the way, disk full).
    """
    for path in (root, *(root / name for name in SUBDIRS)):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except FileExistsError as exc:
            raise WorkspaceError(
                f"cannot create workspace folder {path}: a file is in the way"
            ) from exc
        except OSError as exc:
            raise WorkspaceError(
                f"cannot create workspace folder {path}: {describe_os_error(exc)}"
            ) from exc


def job_dir(root: Path, job_id: str, *, create: bool = True) -> Path:
    """The folder of one job (log and artifacts); created if missing unless ``create=False``."""
    path = Path(root) / "jobs" / job_id
    if not create:
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"cannot create job folder {path}: {describe_os_error(exc)}") from exc
    return path


def remove_tree(path: Path) -> None:
    """Remove the folder ``path`` (nothing when it does not exist) so that no reader ever sees
    it half-removed: it is first renamed aside (one atomic ``rename`` to
    ``.deleted-<name>-<random>`` in the same parent), then removed; leftovers of an earlier
    removal cut short (a crash) in that parent are removed too.

    Raises
    ------
    WorkspaceError
        The folder cannot be renamed aside (permission, read-only disk); it is left as it was.
    """
    path = Path(path)
    parent = path.parent
    aside = parent / f"{DELETED_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}"
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        aside = None
    except OSError as exc:
        raise WorkspaceError(f"cannot remove {path}: {describe_os_error(exc)}") from exc
    leftovers = sorted(parent.glob(f"{DELETED_PREFIX}*")) if parent.is_dir() else []
    for old in {*leftovers, *([aside] if aside else [])}:
        shutil.rmtree(old, ignore_errors=True)
        if old.exists():
            log.warning("could not remove all of %s; it is ignored and retried later", old)
