"""Where recolab keeps its state on disk: the workspace folder.

Layout::

    <root>/
      jobs.sqlite        job store (WAL mode; see :mod:`recolab.jobs.store`)
      worker.lock        held (``flock``) by the one live worker; holds its pid
      worker.log         stdout/stderr of a worker started by :func:`~recolab.jobs.ensure_worker`
      datasets/          uploaded / prepared data sets
      jobs/<job_id>/     one folder per job: ``log.txt`` and the artifacts the task writes
      models/            exported model bundles

The root is ``$RECOLAB_HOME`` when set, else ``./workspace``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

ENV_VAR = "RECOLAB_HOME"
DB_NAME = "jobs.sqlite"
LOCK_NAME = "worker.lock"
WORKER_LOG_NAME = "worker.log"
SUBDIRS = ("datasets", "jobs", "models")


def workspace_root(home: str | os.PathLike[str] | None = None) -> Path:
    """The workspace folder, created with its layout if missing.

    Parameters
    ----------
    home:
        Explicit folder; when ``None``, ``$RECOLAB_HOME`` or else ``./workspace``.

    Returns
    -------
    Path
        Absolute path of the workspace root.
    """
    if home is None:
        home = os.environ.get(ENV_VAR) or "workspace"
    root = Path(home).expanduser().resolve()
    ensure_layout(root)
    return root


def ensure_layout(root: Path) -> None:
    """Create ``root`` and its sub-folders (``datasets``, ``jobs``, ``models``) if missing."""
    root.mkdir(parents=True, exist_ok=True)
    for name in SUBDIRS:
        (root / name).mkdir(exist_ok=True)


def job_dir(root: Path, job_id: str) -> Path:
    """The folder of one job (log and artifacts); created if missing."""
    path = Path(root) / "jobs" / job_id
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success rename it onto ``target``.

    The file appears under its final name complete or not at all: a crash or an exception
    inside the block leaves no ``target`` (and the temporary file is removed when Python
    gets the chance).

    Examples
    --------
    >>> with atomic_path(folder / "model.zip") as tmp:   # doctest: +SKIP
    ...     write_zip(tmp)
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if tmp.is_file():
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
