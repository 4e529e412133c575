"""The head of a wide catalogue: where the study's trials are fitted when a full solve is slow.

A trial of the closed-form base solves an items × items system: its cost grows with the
cube of the catalogue (unless there are fewer users than items: the dual form then solves a
users × users one, and the whole catalogue is tuned). On a 9,000-item catalogue one trial
took about 25 s on two cores, so the 60-second study ran 3 trials where ML-100K runs 30,
and "tuned" meant the first three fixed start trials. Above :data:`HEAD_ITEMS` items the
trials are therefore fitted and validated on the :data:`HEAD_ITEMS` items with the most
interactions in the fit half (``(4,096 / 9,000)³ ≈ 0.09`` of the cost), and only the
chosen base is solved on the whole catalogue.

The options carry over because ``l2`` is set in the whole catalogue's units
(:func:`~recolab.tuning.study.params_from` on the whole fit matrix): EASE regularises
each item against its own count, so the same absolute ``l2`` means the same on the head
and on the whole; dropout emphasis and the two normalisation exponents are unit-free.
Checked on real catalogues cut to a head (30 trials each, 2 seeds; the whole catalogue's
validation score of the head study's best trial over the whole study's): the retail log
(3,659 items) 1.005 / 0.988 with a 1,024-item head and 1.005 / 1.000 with 2,048; ML-100K
(1,682) 0.997 / 0.990 with 512 and 0.998 / 1.003 with 1,024.
"""

from __future__ import annotations

import logging

import numpy as np

from recolab.data.interactions import InteractionData
from recolab.data.vocab import Vocabulary
from recolab.models.linear import solves_in_dual
from recolab.tuning.validation import ValidationSplit

logger = logging.getLogger(__name__)

#: Catalogues wider than this are tuned on their head (the width where a trial's dense
#: solve takes a few seconds on two cores, and where top-k pruning starts).
HEAD_ITEMS = 4096


def head_items(fit: InteractionData, n: int = HEAD_ITEMS) -> np.ndarray | None:
    """Indices (ascending) of the ``n`` items with the most interactions in ``fit`` (ties:
    the lower index), or ``None`` when the catalogue has at most ``n`` items.

    >>> import pandas as pd
    >>> from recolab.data import build_interactions
    >>> frame = pd.DataFrame({"user": ["a", "a", "b", "c"], "item": ["x", "y", "y", "z"],
    ...     "value": 1.0})
    >>> head_items(build_interactions(frame, kind="implicit"), 2).tolist()
    [0, 1]
    """
    if fit.n_items <= n:
        return None
    counts = fit.matrix(binary=True).getnnz(axis=0)
    order = np.lexsort((np.arange(counts.size), -counts))
    return np.sort(order[:n])


def _restricted(data: InteractionData, keep: np.ndarray) -> InteractionData:
    """``data``'s interactions with the items ``keep`` (ascending indices) only, on those
    items' vocabulary (users kept). Rows are selected and renumbered by index: at 10^7
    interactions, building the data again from their ids
    (:func:`~recolab.data.interactions.build_interactions`) took 12 s and 1 GB."""
    position = np.full(data.n_items, -1, dtype=np.int64)
    position[keep] = np.arange(keep.size)
    item_idx = position[data.frame["item_idx"].to_numpy()]
    rows = item_idx >= 0
    frame = data.frame[rows]
    frame = frame.assign(item_idx=item_idx[rows])
    items = Vocabulary(data.items.ids[keep])
    return InteractionData(
        data.users, items, frame.reset_index(drop=True), data.kind, name=data.name
    )


def head_split(split: ValidationSplit, n: int = HEAD_ITEMS) -> ValidationSplit | None:
    """``split`` restricted to the head of its catalogue (:func:`head_items`), both halves
    on the head's vocabulary; ``None`` when the catalogue is no wider than ``n``, or when
    it has fewer users than items: the dual form then solves the whole catalogue at the
    cost of a users × users system (:mod:`recolab.models.dual`)."""
    if solves_in_dual(split.fit.n_users, split.fit.n_items):
        return None
    keep = head_items(split.fit, n)
    if keep is None:
        return None
    fit, valid = _restricted(split.fit, keep), _restricted(split.valid, keep)
    logger.info(
        "tuning on the head of the catalogue: the %d items with the most interactions of %d "
        "(%.0f %% of the fit interactions, %.0f %% of the validation ones)",
        n,
        split.fit.n_items,
        100 * fit.n_interactions / max(split.fit.n_interactions, 1),
        100 * valid.n_interactions / max(split.valid.n_interactions, 1),
    )
    description = f"{split.description}; trials on the {n:,} most interacted items"
    return ValidationSplit(fit, valid, split.method, description)
