"""Small real data sets: shipped in ``sample_data/`` where their licence allows it.

The folder is ``sample_data/`` at the top of the repository (next to the ``recolab``
package); the environment variable ``RECOLAB_SAMPLE_DATA`` points elsewhere.

MovieLens 100K's licence forbids redistribution, so it is not shipped: it is read from
``sample_data/ml-100k`` when a user put a copy there, else from the project's licensed copy
in ``../shared/datasets/ml-100k`` beside the checkout (development and CI).
"""

from __future__ import annotations

import os
from pathlib import Path

from recolab.data.interactions import InteractionData
from recolab.data.io import load_interactions, load_users
from recolab.data.splits import given_files
from recolab.errors import DataError

#: Names accepted by :func:`load_sample`.
SAMPLES = ("ml-100k", "retail-sample")

#: Canonical ML-100K splits: ``u1`` … ``u5`` (5-fold), ``ua`` and ``ub`` (10 ratings per user).
ML100K_SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


def sample_dir() -> Path:
    """The folder holding the samples (``RECOLAB_SAMPLE_DATA`` or ``<repo>/sample_data``)."""
    env = os.environ.get("RECOLAB_SAMPLE_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "sample_data"


def _shared_copy(name: str) -> Path | None:
    """``../shared/datasets/<name>`` beside the checkout, for samples not shipped."""
    if name != "ml-100k" or os.environ.get("RECOLAB_SAMPLE_DATA"):
        return None
    return Path(__file__).resolve().parents[3] / "shared" / "datasets" / name


def sample_path(name: str) -> Path:
    """The folder of sample ``name``; raises :class:`DataError` if unknown or absent."""
    if name not in SAMPLES:
        raise DataError(f"unknown sample {name!r}; samples are {', '.join(SAMPLES)}")
    folder = sample_dir() / name
    if folder.is_dir():
        return folder
    shared = _shared_copy(name)
    if shared is not None and shared.is_dir():
        return shared
    if name == "ml-100k":
        raise DataError(
            "MovieLens 100K is not shipped with recolab (its licence forbids "
            f"redistribution): download it from GroupLens and unpack it as {folder}, or set "
            "RECOLAB_SAMPLE_DATA to the folder holding it"
        )
    raise DataError(
        f"sample folder {folder} not found (set RECOLAB_SAMPLE_DATA to the folder "
        "holding the samples)"
    )


def available_samples() -> tuple[str, ...]:
    """The samples that can be loaded on this machine, in :data:`SAMPLES` order."""
    out = []
    for name in SAMPLES:
        try:
            sample_path(name)
        except DataError:
            continue
        out.append(name)
    return tuple(out)


def load_sample(name: str) -> InteractionData:
    """Load a shipped sample as :class:`InteractionData`.

    Parameters
    ----------
    name:
        ``"ml-100k"``: 100,000 explicit ratings, ``item_meta`` with title and genres
        (``text`` = title + genres), ``user_meta`` from ``u.user`` (age, gender, occupation,
        zip). ``"retail-sample"``: the raw UCI Online Retail log turned into implicit
        user–item interactions keeping quantity and price; ``item_meta`` from ``items.csv``
        (``text`` = product description).

    Returns
    -------
    InteractionData
        With ``report`` filled by the loader.

    Examples
    --------
    >>> data = load_sample("ml-100k")  # doctest: +SKIP
    >>> data.n_interactions  # doctest: +SKIP
    100000
    """
    folder = sample_path(name)
    if name == "ml-100k":
        data = load_interactions(folder / "u.data", items=folder / "u.item")
        data.user_meta = load_users(folder / "u.user")
    else:
        data = load_interactions(folder / "online_retail_sample.csv", items=folder / "items.csv")
    data.name = name
    return data


def load_ml100k_split(split: str = "u1") -> tuple[InteractionData, InteractionData]:
    """The canonical ML-100K train/test split (``u1.base`` / ``u1.test`` for ``"u1"``).

    Both halves share vocabularies (indices agree) and carry ``item_meta`` and
    ``user_meta``. Only a split whose files are present can be loaded (the shared copy: ``u1``).
    """
    if split not in ML100K_SPLITS:
        raise DataError(f"unknown ML-100K split {split!r}; splits are {', '.join(ML100K_SPLITS)}")
    folder = sample_path("ml-100k")
    train_file, test_file = folder / f"{split}.base", folder / f"{split}.test"
    if not train_file.exists() or not test_file.exists():
        raise DataError(f"split {split} is not shipped (no {train_file.name})", file=str(folder))
    train, test = given_files(train_file, test_file, items=folder / "u.item")
    user_meta = load_users(folder / "u.user")
    train.user_meta = user_meta
    test.user_meta = user_meta
    train.name, test.name = f"ml-100k/{split}.base", f"ml-100k/{split}.test"
    return train, test
