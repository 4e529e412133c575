"""How sparse the base may be: the fewest weights per item that keep validation accuracy.

Keeping the ``k`` largest weights of each column of ``W`` (:func:`~recolab.models.linear.
prune_top_k`) shrinks a bundle from ``4·n²`` bytes to about ``12·k·n`` (stored as row, column,
value). The smallest ``k`` of :data:`K_GRID` whose validation score is within
:data:`MAX_LOSS` of the dense base's is kept; none is when no ``k`` would shrink the bundle
(``12·k ≥ 4·n``) or the widest of them loses more (the others are then not tried).

Only a dense ``W`` over :data:`DENSE_LIMIT_BYTES` is pruned: the smallest ``k`` within the
tolerance gives up close to all of it, and on test more (ML-100K, 1,682 items, three random
splits: k = 256–512 kept validation within 0.5 % and cost 0.2–1.4 % ndcg@10 and up to 5 %
of the front's hypervolume on test), a price worth paying for a 400 MB bundle, not for a
12 MB one.

The sparse neighbourhood base (:mod:`recolab.models.sparse_linear`, for catalogues too wide
for a dense solve) is sparse by construction: its ``m`` neighbours per item are chosen on
validation instead (:func:`choose_neighbours`), each ``m`` a fit of its own.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from recolab.errors import DataError
from recolab.evaluation import evaluate
from recolab.models.linear import LinearAutoencoder
from recolab.models.sparse_linear import SparseLinearAutoencoder
from recolab.tuning.study import tune_score
from recolab.tuning.validation import ValidationSplit

logger = logging.getLogger(__name__)

#: Weights kept per item (column of ``W``) that are tried, smallest first.
K_GRID = (16, 32, 64, 128, 256, 512, 1024)
#: The largest share of the dense base's validation score the pruned base may give up.
MAX_LOSS = 0.005
#: Bytes per stored weight: dense float32, and sparse (int32 row, int32 column, float32).
DENSE_BYTES, SPARSE_BYTES = 4, 12
#: A dense ``W`` up to this size is kept dense (64 MiB: 4,096 items).
DENSE_LIMIT_BYTES = 64 * 2**20


@dataclass
class SparsityChoice:
    """The chosen ``top_k`` (0: dense) and every tried ``k``'s validation score."""

    top_k: int
    dense_score: float
    scores: dict[int, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "top_k": self.top_k,
            "dense_validation_score": self.dense_score,
            "validation_scores": {str(k): v for k, v in self.scores.items()},
            "max_loss": MAX_LOSS,
        }


def shrinking_ks(n_items: int, dense_limit: int = DENSE_LIMIT_BYTES) -> list[int]:
    """The ``k`` of :data:`K_GRID` whose sparse storage is smaller than the dense matrix;
    none when the dense matrix is at most ``dense_limit`` bytes."""
    if DENSE_BYTES * n_items * n_items <= dense_limit:
        return []
    return [k for k in K_GRID if SPARSE_BYTES * k < DENSE_BYTES * n_items]


def choose_top_k(
    base: LinearAutoencoder,
    split: ValidationSplit,
    dense_limit: int = DENSE_LIMIT_BYTES,
    score: float | None = None,
) -> SparsityChoice:
    """The smallest ``k`` keeping ``base`` (fitted on ``split.fit``) within :data:`MAX_LOSS`
    of its dense validation score (``score`` when the caller has it); dense at most
    ``dense_limit`` bytes (see the module docstring).

    The widest ``k`` is tried first, and the others, smallest first, only when it is within
    the tolerance: keeping more weights brings ``W`` closer to the dense one. At 10^4 items
    (synthetic power-law data, 10^6 interactions) the seven ``k`` scored 0.14 to 0.21
    against the dense 0.23, rising with ``k``, and scanning them took 53 s of the pipeline's
    356 (a pruned ``W`` is scored as a dense one)."""
    dense = validation_score(base, split) if score is None else score
    choice = SparsityChoice(top_k=0, dense_score=dense)
    ks = shrinking_ks(base.n_items, dense_limit)
    if ks and _within(choice, base, split, ks[-1]):
        choice.top_k = next(k for k in ks if _within(choice, base, split, k))
    logger.info(
        "sparsity: top_k=%s (dense validation score %.4f, tried %s)",
        choice.top_k or "dense",
        dense,
        {k: round(v, 4) for k, v in sorted(choice.scores.items())},
    )
    return choice


def _within(
    choice: SparsityChoice, base: LinearAutoencoder, split: ValidationSplit, k: int
) -> bool:
    """Whether ``base`` pruned to ``k`` weights per item is within :data:`MAX_LOSS` of the
    dense validation score (each ``k`` scored once, into ``choice.scores``)."""
    if k not in choice.scores:
        choice.scores[k] = validation_score(base.pruned(k), split)
    return choice.scores[k] > (1.0 - MAX_LOSS) * choice.dense_score


#: Neighbours per item the sparse base may keep, tried up and down from the one it was
#: fitted with.
NEIGHBOUR_GRID = (16, 32, 64, 128, 256)


@dataclass
class NeighbourChoice:
    """The sparse base's neighbours per item chosen on validation (:func:`choose_neighbours`).

    Attributes
    ----------
    neighbours:
        The chosen ``m``.
    model:
        The base fitted with it on the fit part.
    scores:
        Each tried ``m``'s validation score.
    refused:
        Each ``m`` not fitted, with the reason: its memory plan did not fit, or its fit
        would have overrun the time budget.
    """

    neighbours: int
    model: SparseLinearAutoencoder
    scores: dict[int, float] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready (without the model)."""
        return {
            "neighbours": self.neighbours,
            "validation_scores": {str(m): v for m, v in sorted(self.scores.items())},
            "refused": {str(m): why for m, why in self.refused.items()},
            "max_loss": MAX_LOSS,
        }


def _smallest_near_best(scores: dict[int, float]) -> int:
    """The smallest ``m`` whose score is within :data:`MAX_LOSS` of the best."""
    best = max(scores.values())
    return min(m for m, v in scores.items() if v >= (1.0 - MAX_LOSS) * best)


def choose_neighbours(
    base: SparseLinearAutoencoder,
    split: ValidationSplit,
    grid: tuple[int, ...] | None = None,
    seconds: float | None = None,
    score: float | None = None,
) -> NeighbourChoice:
    """The smallest ``m`` of ``grid`` (default :data:`NEIGHBOUR_GRID`) whose validation
    score is within :data:`MAX_LOSS` of the best tried, for ``base`` (fitted on
    ``split.fit``, its purchases and own-item weight aside).

    From ``base.neighbours`` up, each larger ``m`` is fitted while the last one gained more
    than :data:`MAX_LOSS` on the best before it; then, while the smallest tried is within
    :data:`MAX_LOSS` of the best, each smaller one. A plan too large for memory ends the
    search in that direction, and so does a fit that would end more than ``seconds`` after
    the search began (``None``: no bound), estimated as the last fit's time × (m / its m)²,
    at least the last fit's time; each is noted in ``refused``. Only the model of the
    current choice is kept. ``score``: ``base``'s validation score when the caller has it
    (one evaluation over every validation user fewer).
    """
    grid = NEIGHBOUR_GRID if grid is None else grid
    start = base.neighbours
    known = validation_score(base, split) if score is None else score
    choice = NeighbourChoice(start, base, {start: known})
    began = time.perf_counter()
    last = (start, float(getattr(base, "fit_seconds_", 0.0)))  # the last fit: m, seconds

    def tried(m: int) -> bool:
        nonlocal last
        estimate = last[1] * max(1.0, m / last[0]) ** 2
        if seconds is not None and time.perf_counter() - began + estimate > seconds:
            choice.refused[m] = f"a fit of about {estimate:.0f} s, beyond the {seconds:g} s budget"
            return False
        try:
            model = SparseLinearAutoencoder(base.params, neighbours=m, device=base.device)
            model.fit(split.fit)
        except DataError as exc:
            choice.refused[m] = str(exc)
            return False
        last = (m, model.fit_seconds_)
        choice.scores[m] = validation_score(model, split)
        if _smallest_near_best(choice.scores) == m:
            choice.neighbours, choice.model = m, model
        return True

    for m in sorted(g for g in grid if g > start):
        best = max(choice.scores.values())
        if not tried(m) or choice.scores[m] <= (1.0 + MAX_LOSS) * best:
            break
    for m in sorted((g for g in grid if g < start), reverse=True):
        if min(choice.scores) != _smallest_near_best(choice.scores) or not tried(m):
            break
    logger.info(
        "sparse base: %d neighbours per item (validation scores %s%s)",
        choice.neighbours,
        {m: round(v, 4) for m, v in sorted(choice.scores.items())},
        f", refused {sorted(choice.refused)}" if choice.refused else "",
    )
    return choice


def validation_score(model: LinearAutoencoder, split: ValidationSplit) -> float:
    """``model``'s tuning score (:func:`~recolab.tuning.study.tune_score`) on ``split``."""
    return tune_score(
        evaluate(model, split.fit, split.valid, ks=(10, 20), accuracy_only=True).metrics
    )
