"""recolab's default model, chosen on validation end to end.

1. Carve validation out of the training data (:func:`~recolab.tuning.validation_split`).
2. Tune the closed-form base on it (:func:`~recolab.tuning.tune_linear`).
3. Calibrate every trade-off mechanism's λ range and front on it, and keep the one with the
   largest hypervolume as the default (:func:`~recolab.tuning.fronts.choose_mechanism`).
4. Refit the base with the chosen options on the whole training data.

The test set is never an argument: whatever reports on test does so once, afterwards.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recolab.data.interactions import InteractionData
from recolab.models.linear import LinearAutoencoder
from recolab.models.tradeoff import TradeoffRecommender
from recolab.rerank import make_reranker
from recolab.tuning.fronts import MechanismFront, choose_mechanism
from recolab.tuning.study import TuneBudget, TuneResult, params_from, tune_linear
from recolab.tuning.validation import validation_split

logger = logging.getLogger(__name__)


@dataclass
class TunedModel:
    """The base, its tuning study and the trade-off mechanisms, all chosen on validation.

    Attributes
    ----------
    train:
        The training data the base is fitted on.
    base:
        The tuned linear autoencoder, refitted on the whole training data.
    tuning:
        The study's result.
    validation:
        How validation was carved (one line).
    mechanism:
        The default trade-off mechanism (largest validation hypervolume).
    fronts:
        Every mechanism's validation front, the default included.
    seconds:
        Wall time of the whole selection, tuning included.
    """

    train: InteractionData
    base: LinearAutoencoder
    tuning: TuneResult
    validation: str
    mechanism: MechanismFront
    fronts: list[MechanismFront]
    seconds: float
    vectors: np.ndarray | None = None
    categories: np.ndarray | None = None

    def recommender(self, name: str | None = None) -> TradeoffRecommender:
        """The base re-ranked by mechanism ``name`` (default: the chosen one) over its
        calibrated λ range, fitted, with this selection attached as ``selection_``."""
        front = self.front(name)
        side = self.categories if front.name == "calibration" else self.vectors
        model = TradeoffRecommender(
            self.base,
            make_reranker(front.name),
            front.lam_high,
            n_candidates=front.n_candidates,
            item_vectors=side,
        ).fit(self.train)
        model.selection_ = self.summary()
        return model

    def front(self, name: str | None = None) -> MechanismFront:
        """The validation front of mechanism ``name`` (default: the chosen one)."""
        name = name or self.mechanism.name
        return next(f for f in self.fronts if f.name == name)

    def summary(self) -> dict[str, Any]:
        """JSON-ready: validation, tuned options, the study's trials, every front."""
        return {
            "validation": self.validation,
            "base": {
                "type": "linear-autoencoder",
                "params": self.tuning.params.to_dict(),
                "l2_scale": self.tuning.l2_scale,
                "validation_score": self.tuning.score,
                "validation_metrics": self.tuning.metrics,
                "trials": self.tuning.trials,
            },
            "mechanism": self.mechanism.name,
            "mechanisms": [f.summary() for f in self.fronts],
            "seconds": self.seconds,
        }


def fit_tuned(
    train: InteractionData,
    *,
    vectors: np.ndarray | None = None,
    categories: np.ndarray | None = None,
    valid: InteractionData | None = None,
    budget: TuneBudget | None = None,
    seed: int = 0,
    storage: str | Path | None = None,
    device: str = "auto",
    mechanisms: list[str] | None = None,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TunedModel:
    """Choose and fit recolab's default model on ``train`` (see the module docstring).

    Parameters
    ----------
    train:
        The training data. Validation is carved out of it unless ``valid`` is given.
    vectors, categories:
        Item vectors for MMR diversity (text embeddings) and non-negative category vectors
        for calibration (genres); each mechanism is skipped without its input.
    budget, seed, storage, device:
        Passed to :func:`~recolab.tuning.tune_linear`.
    mechanisms:
        Re-rankers to consider (default: all the data allow).
    on_trial, should_stop:
        Progress and cancellation of the study (see :func:`~recolab.tuning.tune_linear`).
    """
    start = time.perf_counter()
    split = validation_split(train, seed=seed, valid=valid)
    full_x = train.matrix(binary=True)
    tuning = tune_linear(
        split,
        budget=budget,
        seed=seed,
        storage=storage,
        device=device,
        refit_on=full_x,
        on_trial=on_trial,
        should_stop=should_stop,
    )
    fit_params = params_from(tuning.values, split.fit.matrix(binary=True))
    base_on_fit = LinearAutoencoder(fit_params, device=device).fit(split.fit)
    best, fronts = choose_mechanism(
        base_on_fit,
        split.fit,
        split.valid,
        vectors=vectors,
        categories=categories,
        names=mechanisms,
    )
    base = base_on_fit if split.method == "given" else None
    if base is None:
        base = LinearAutoencoder(tuning.params, device=device).fit(train)
    model = TunedModel(
        train=train,
        base=base,
        tuning=tuning,
        validation=split.description,
        mechanism=best,
        fronts=fronts,
        seconds=time.perf_counter() - start,
        vectors=vectors,
        categories=categories,
    )
    logger.info(
        "default model chosen in %.1f s: base %s, mechanism %s",
        model.seconds,
        tuning.params,
        best.name,
    )
    return model
