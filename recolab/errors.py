"""Errors recolab raises on purpose, each naming what went wrong and where."""

from __future__ import annotations


class RecolabError(Exception):
    """Base class of every error recolab raises on purpose."""


class DataError(RecolabError, ValueError):
    """Bad input data. The message names the file, and the row and column when known.

    Parameters
    ----------
    message:
        What is wrong, in words an analyst understands.
    file, row, column:
        Where. ``row`` is 1-based and counts data rows as they appear in the file
        (the header, when present, is row 0).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        where = []
        if file is not None:
            where.append(f"file {file!s}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class TrainingError(RecolabError, RuntimeError):
    """Training could not go on (for example a loss became NaN)."""


class BundleError(RecolabError, ValueError):
    """A model bundle is missing, truncated, tampered with, foreign or of a wrong schema."""


class Cancelled(RecolabError):  # noqa: N818 - a state, not a fault
    """Work stopped because the caller asked it to (e.g. a job was cancelled)."""


class WorkspaceError(RecolabError):
    """The workspace folder or its job store cannot be used: missing, not a folder,
    read-only, full, locked by another process, or corrupt. The message names the path."""


class UnknownTaskError(RecolabError, LookupError):
    """A job names a task that is not registered (:mod:`recolab.jobs.tasks`)."""


class JobSpecError(RecolabError, ValueError):
    """A job spec its task refuses (unknown key, wrong type, missing file...)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"job spec: {message}")
