"""Submit-time checks of a training job's spec: keys, types, ranges, input files.

A job that would fail at once when it runs (a missing file, a config key that
:class:`recolab.training.TrainConfig` does not know, a string where a number belongs) is
refused before it is queued, with a message that names the key.
"""

from __future__ import annotations

import math
import os
import re
import stat
import types
import typing
from pathlib import Path
from typing import Any

from recolab.errors import JobSpecError

__all__ = [
    "PATH_KEYS",
    "SPEC_KEYS",
    "check_input_file",
    "train_config_table",
    "validate_training_spec",
]

#: Keys whose value is an input file.
PATH_KEYS = ("train", "test", "valid", "items", "users")
#: Every key a training spec may have.
SPEC_KEYS = frozenset(
    {
        *PATH_KEYS,
        "sample",
        "dataset",
        "config",
        "device",
        "prune_to",
        "mapping",
        "users_mapping",
        "split",
    }
)
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
# Options that must be > 0 (every other number must be ≥ 0, except the seed).
_POSITIVE = frozenset(
    {"lr", "film_lr", "rating_lr", "budget_seconds", "tune_seconds", "item_item_l2"}
)


def check_input_file(value: object, key: str) -> str:
    """``value`` as the absolute path of an existing, readable regular file."""
    if not isinstance(value, str) or not value.strip():
        raise JobSpecError(f"{key} must be a file path, got {value!r}")
    path = Path(value).expanduser().absolute()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise JobSpecError(f"{key} file not found: {value}") from None
    except OSError as exc:
        raise JobSpecError(f"{key} file {value}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise JobSpecError(f"{key} {value} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise JobSpecError(f"{key} {value} is not a regular file (a pipe, socket or device)")
    try:  # open, not os.access: one call, so a file removed meanwhile reads "not found"
        with path.open("rb"):
            pass
    except FileNotFoundError:
        raise JobSpecError(f"{key} file not found: {value}") from None
    except PermissionError:
        raise JobSpecError(f"{key} file {value} is not readable (permission denied)") from None
    except OSError as exc:
        raise JobSpecError(f"{key} file {value}: {exc.strerror or exc}") from None
    return str(path.resolve())


def train_config_table(data: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """The training options of a TOML document: its ``[train]`` table (as the README
    documents) or its top-level keys. Both at once is an error (one of them would be
    silently ignored)."""
    table = data.get("train")
    if not isinstance(table, dict):
        return dict(data)
    others = sorted(set(data) - {"train"})
    if others:
        raise JobSpecError(
            f"{source} has options both under [train] and at the top level "
            f"({', '.join(others)}); put them all under [train]"
        )
    return dict(table)


def _check_type(key: str, value: object, hint: object) -> None:
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None:
        if type(None) in allowed:
            return
        raise JobSpecError(f"config.{key} must not be empty")
    for kind in allowed:
        if kind is bool and isinstance(value, bool):
            return
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise JobSpecError(f"config.{key} must be finite, got {value!r}")
            return
        if kind is str and isinstance(value, str):
            return
    names = " or ".join(getattr(k, "__name__", str(k)) for k in allowed)
    raise JobSpecError(f"config.{key} must be {names}, got {value!r} ({type(value).__name__})")


def _check_range(key: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or key == "seed":
        return
    if key in _POSITIVE and not value > 0:
        raise JobSpecError(f"config.{key} must be > 0, got {value!r}")
    if value < 0:
        raise JobSpecError(f"config.{key} must be ≥ 0, got {value!r}")


def validate_train_config(config: object) -> dict[str, Any]:
    """Check a training config (``[train]`` table or flat): known keys, their types and
    ranges, then :class:`~recolab.training.TrainConfig`'s own checks. Returns the flat
    dict."""
    try:  # the light home of TrainConfig (no torch), where present
        from recolab.config import TrainConfig
    except ImportError:
        from recolab.training import TrainConfig

    if not isinstance(config, dict):
        raise JobSpecError(f"config must be a table of training options, got {config!r}")
    config = train_config_table(config)
    hints = typing.get_type_hints(TrainConfig)
    unknown = sorted(set(config) - set(hints))
    if unknown:
        raise JobSpecError(
            f"unknown training option(s) in config: {', '.join(unknown)} "
            "(see recolab.training.TrainConfig)"
        )
    for key, value in config.items():
        _check_type(key, value, hints[key])
        _check_range(key, value)
    try:
        TrainConfig.from_dict(dict(config))
    except (ValueError, TypeError) as exc:
        raise JobSpecError(f"config: {exc}") from None
    return config


def _check_mapping(key: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
    ):
        raise JobSpecError(f"{key} must map roles to column names, got {value!r}")
    return dict(value)


def validate_training_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Check a spec of the training task; returns it with absolute file paths.

    Raises
    ------
    JobSpecError
        Naming the first key that is wrong.
    """
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise JobSpecError(
            f"unknown key(s) {', '.join(unknown)}; expected some of {', '.join(sorted(SPEC_KEYS))}"
        )
    out = dict(spec)
    if (spec.get("train") is None) == (spec.get("sample") is None):
        raise JobSpecError("name exactly one of train (a file) or sample (a built-in data set)")
    if spec.get("sample") is not None:
        from recolab.data.samples import SAMPLES

        if spec["sample"] not in SAMPLES:
            raise JobSpecError(
                f"sample must be one of {', '.join(SAMPLES)}, got {spec['sample']!r}"
            )
    for key in PATH_KEYS:
        if spec.get(key) is not None:
            out[key] = check_input_file(spec[key], key)
    for key in ("mapping", "users_mapping"):
        if spec.get(key) is not None:
            out[key] = _check_mapping(key, spec[key])
    if spec.get("users_mapping") and not spec.get("users"):
        raise JobSpecError("users_mapping needs users (a user attributes file)")
    _check_split(spec)
    if "dataset" in spec and not isinstance(spec["dataset"], str):
        raise JobSpecError(f"dataset must be a string, got {spec['dataset']!r}")
    device = spec.get("device", "auto")
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise JobSpecError(f"device must be auto, cpu or cuda, got {device!r}")
    prune = spec.get("prune_to", 0.0)
    if isinstance(prune, bool) or not isinstance(prune, int | float) or not 0 <= prune < 1:
        raise JobSpecError(f"prune_to must be a number in [0, 1), got {prune!r}")
    out["config"] = validate_train_config(spec.get("config") or {})
    _check_nproc(out["config"].get("nproc", 1))
    return out


def _check_split(spec: dict[str, Any]) -> None:
    """``split`` is ``auto`` (temporal for a timed log) or one of
    :data:`recolab.data.splits.SPLIT_CHOICES`, as ``recolab train --split``; it splits a
    ``train`` file that has no ``test`` (a sample keeps its own split), and a chosen split
    carves validation out of its train part, so it takes no ``valid`` file."""
    split = spec.get("split")
    if split is None:
        return
    from recolab.data.splits import SPLIT_CHOICES

    if split not in ("auto", *SPLIT_CHOICES):
        choices = ", ".join(("auto", *SPLIT_CHOICES))
        raise JobSpecError(f"split must be one of {choices}, got {split!r}")
    if spec.get("sample") is not None and split != "auto":
        raise JobSpecError(f"split {split!r} is for a train file; a sample keeps its own split")
    if spec.get("test") is not None:
        raise JobSpecError("split splits the train file into train and test: give it without test")
    if spec.get("valid") is not None and split != "auto":
        raise JobSpecError("split with valid: validation is carved out of the split's train part")


def _check_nproc(nproc: int) -> None:
    """A job may ask for as many processes as this machine has cores (with CUDA, the
    launch also checks that there is one GPU per process)."""
    cores = os.cpu_count() or 1
    if nproc > cores:
        raise JobSpecError(f"config.nproc {nproc} is more than the {cores} cores of this machine")
