"""How sparse the base may be: the fewest weights per item that keep validation accuracy.

Keeping the ``k`` largest weights of each column of ``W`` (:func:`~recolab.models.linear.
prune_top_k`) shrinks a bundle from ``4·n²`` bytes to about ``12·k·n`` (stored as row, column,
value). The smallest ``k`` of :data:`K_GRID` whose validation score is within
:data:`MAX_LOSS` of the dense base's is kept; none is when no ``k`` would shrink the bundle
(``12·k ≥ 4·n``) or all lose more.

Only a dense ``W`` over :data:`DENSE_LIMIT_BYTES` is pruned: the smallest ``k`` within the
tolerance gives up close to all of it, and on test more (ML-100K, 1,682 items, three random
splits: k = 256–512 kept validation within 0.5 % and cost 0.2–1.4 % ndcg@10 and up to 5 %
of the front's hypervolume on test), a price worth paying for a 400 MB bundle, not for a
12 MB one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from recolab.evaluation import evaluate
from recolab.models.linear import LinearAutoencoder
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
    base: LinearAutoencoder, split: ValidationSplit, dense_limit: int = DENSE_LIMIT_BYTES
) -> SparsityChoice:
    """The smallest ``k`` keeping ``base`` (fitted on ``split.fit``) within :data:`MAX_LOSS`
    of its dense validation score; dense at most ``dense_limit`` bytes (see the module
    docstring)."""
    dense = validation_score(base, split)
    choice = SparsityChoice(top_k=0, dense_score=dense)
    for k in shrinking_ks(base.n_items, dense_limit):
        choice.scores[k] = validation_score(base.pruned(k), split)
        if choice.scores[k] > (1.0 - MAX_LOSS) * dense:
            choice.top_k = k
            break
    logger.info(
        "sparsity: top_k=%s (dense validation score %.4f, tried %s)",
        choice.top_k or "dense",
        dense,
        {k: round(v, 4) for k, v in choice.scores.items()},
    )
    return choice


def validation_score(model: LinearAutoencoder, split: ValidationSplit) -> float:
    """``model``'s tuning score (:func:`~recolab.tuning.study.tune_score`) on ``split``."""
    return tune_score(
        evaluate(model, split.fit, split.valid, ks=(10, 20), accuracy_only=True).metrics
    )
