"""The allow-list of job tasks.

A job names a task registered here; the worker runs only registered tasks and never imports
a module path taken from a job (``--task builtins:print`` is refused at submit, and a stored
job naming an unregistered task fails with that reason). Code registers tasks with
:func:`register`; an operator can add task modules with ``$RECOLAB_TASK_MODULES`` (comma
separated module names imported on first use, each of which calls :func:`register`), the
way tests add theirs to worker subprocesses.

Examples
--------
>>> from recolab.jobs import tasks                                     # doctest: +SKIP
>>> def count(spec, ctx): ...                                          # module level
>>> tasks.register("count", count)
>>> tasks.get("count").target
'mymodule:count'
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from recolab.errors import JobSpecError, RecolabError, UnknownTaskError

log = logging.getLogger(__name__)

__all__ = [
    "PLUGINS_ENV",
    "TRAINING_TASK",
    "JobSpecError",
    "Task",
    "UnknownTaskError",
    "get",
    "load",
    "names",
    "register",
    "validate_spec",
]

#: Environment variable naming extra modules that register tasks (comma separated).
PLUGINS_ENV = "RECOLAB_TASK_MODULES"
#: The task the ``train`` command and the app submit.
TRAINING_TASK = "train"

TaskFn = Callable[[dict[str, Any], Any], "dict[str, Any] | None"]
SpecValidator = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Task:
    """One registered task.

    Attributes
    ----------
    name:
        What a job names (``jobs.task``).
    target:
        ``"module:function"`` of the module-level function the job process imports and
        calls with ``(spec, ctx)``; set by the code that registered it, never by a job.
    validate:
        Checks a spec at submit and returns it normalised (e.g. absolute paths), or raises
        :class:`JobSpecError`; ``None``: any JSON object.
    """

    name: str
    target: str
    validate: SpecValidator | None = None


_TASKS: dict[str, Task] = {}
_ALIASES: dict[str, str] = {}
_plugins_loaded: set[str] = set()


def _target_of(fn: TaskFn | str) -> str:
    if isinstance(fn, str):
        module, sep, attr = fn.partition(":")
        if not (module and sep and attr):
            raise ValueError(f"task target must look like 'module:function', got {fn!r}")
        return fn
    qualname = getattr(fn, "__qualname__", "")
    if not callable(fn) or not qualname or "<" in qualname or "." in qualname:
        raise ValueError(f"a task must be a module-level function, got {fn!r}")
    return f"{fn.__module__}:{qualname}"


def register(
    name: str,
    fn: TaskFn | str,
    *,
    validate: SpecValidator | None = None,
    aliases: Iterable[str] = (),
) -> Task:
    """Allow jobs to run ``fn`` under ``name`` (idempotent for the same function).

    Parameters
    ----------
    name:
        The task name jobs use.
    fn:
        A module-level function ``(spec, ctx) -> dict | None``, or its ``"module:function"``
        (so that registering does not import a heavy module).
    validate:
        Spec check run at submit (see :class:`Task`).
    aliases:
        Other names that mean this task (e.g. a name older stores hold).
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"task name must be a non-empty string, got {name!r}")
    task = Task(name, _target_of(fn), validate)
    old = _TASKS.get(name)
    if old is not None and old.target != task.target:
        raise ValueError(f"task {name!r} is already registered for {old.target}")
    _TASKS[name] = task
    for alias in aliases:
        _ALIASES[alias] = name
    return task


def _load_plugins() -> None:
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        if module in _plugins_loaded:
            continue
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise RecolabError(
                f"${PLUGINS_ENV} names {module!r}, which cannot be imported: {exc}"
            ) from exc
        _plugins_loaded.add(module)


def names() -> list[str]:
    """The registered task names, sorted."""
    _load_plugins()
    return sorted(_TASKS)


def get(name: object) -> Task:
    """The task registered as ``name`` (or one of its aliases).

    Raises
    ------
    UnknownTaskError
        Nothing is registered under that name.
    """
    _load_plugins()
    task = _TASKS.get(_ALIASES.get(name, name)) if isinstance(name, str) else None
    if task is None:
        raise UnknownTaskError(
            f"unknown task {name!r}: jobs run registered tasks only ({', '.join(names())}), "
            "never a module path"
        )
    return task


def validate_spec(name: object, spec: object) -> dict[str, Any]:
    """Check ``spec`` for the task ``name``; returns it as it should be stored."""
    task = get(name)
    if not isinstance(spec, dict):
        raise JobSpecError(f"must be a JSON object, got {type(spec).__name__}")
    return task.validate(dict(spec)) if task.validate is not None else dict(spec)


def load(task: Task) -> TaskFn:
    """Import the function of a registered ``task`` (in the job process)."""
    module_name, _, attr = task.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RecolabError(f"task {task.name!r}: cannot import {module_name}: {exc}") from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise RecolabError(f"task {task.name!r}: {module_name} has no function {attr!r}")
    return fn


def _validate_training(spec: dict[str, Any]) -> dict[str, Any]:
    from recolab.jobs.specs import validate_training_spec

    return validate_training_spec(spec)


register(
    TRAINING_TASK,
    "recolab.pipeline:run_training_job",
    validate=_validate_training,
    aliases=("recolab.training:run_training_job",),  # the name stores and the app used
)
