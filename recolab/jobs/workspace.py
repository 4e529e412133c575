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

import os
from pathlib import Path

from recolab.fileio import atomic_path

__all__ = ["atomic_path", "ensure_layout", "job_dir", "workspace_root"]

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
