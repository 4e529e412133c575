"""Tuning the closed-form base on validation with Optuna (seeded TPE, budgeted, resumable).

The study sees only a :class:`~recolab.tuning.validation.ValidationSplit` carved out of the
training data: the test set is never an argument here, so nothing can be chosen on it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import scipy.sparse as sp

from recolab.distributed.runtime import agree, check_same, is_main, world_size
from recolab.errors import Cancelled
from recolab.evaluation import evaluate
from recolab.models.linear import LinearParams
from recolab.models.sparse_linear import make_linear_base
from recolab.tuning.head import HEAD_ITEMS, head_split
from recolab.tuning.validation import ValidationSplit

logger = logging.getLogger(__name__)

#: What the base is tuned for: the geometric mean of recall@20 and ndcg@10 on validation,
#: so a relative gain on either counts the same.
TUNE_METRICS = ("recall@20", "ndcg@10")
#: The first trial: plain EASE with l2 ≈ 8 × the mean item count (400 on ML-100K).
EASE_TRIAL = {"l2_scale": 8.0, "dropout": 0.0, "user_norm": 0.0, "item_norm": 0.0}
#: Trials run before the sampler's own: EASE, then EDLAE with moderate dropout emphasis
#: (Steck 2020), then EDLAE with DAN's user and item normalisation (Park et al. 2025), so
#: that a small budget (a large catalogue gets few trials in 60 s) starts from the known
#: good regions instead of random points; then EASE at a 4× smaller and larger l2, so the
#: study always holds a tuned plain EASE (:func:`~recolab.tuning.select.candidate_bases`
#: weighs its trade-off front against the most accurate bases').
START_TRIALS = (
    EASE_TRIAL,
    {"l2_scale": 1.0, "dropout": 0.5, "user_norm": 0.0, "item_norm": 0.0},
    {"l2_scale": 1.0, "dropout": 0.5, "user_norm": 0.5, "item_norm": 0.1},
    {**EASE_TRIAL, "l2_scale": 2.0},
    {**EASE_TRIAL, "l2_scale": 32.0},
)
#: Random trials of the TPE sampler after :data:`START_TRIALS`, before it models the space.
RANDOM_TRIALS = 5


@dataclass(frozen=True)
class TuneBudget:
    """How much a study may spend: at most ``n_trials`` trials and about ``seconds``
    (a trial that has started finishes)."""

    n_trials: int = 30
    seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.n_trials < 1:
            raise ValueError(f"n_trials must be at least 1, got {self.n_trials}")
        if not self.seconds > 0:
            raise ValueError(f"seconds must be > 0, got {self.seconds}")


@dataclass
class TuneResult:
    """What a study found.

    Attributes
    ----------
    params:
        The best options, with ``l2`` for the data the model is finally fitted on.
    l2_scale:
        The best l2 as a multiple of the mean diagonal of the Gram matrix (data-size free).
    score, metrics:
        The best trial's tuning score and its validation metrics.
    values:
        The best trial's raw values (``l2_scale``, ``dropout``, ``user_norm``,
        ``item_norm``): :func:`params_from` turns them into options for any data.
    trials:
        One dict per finished trial (number, options, score, seconds).
    seconds:
        Wall time of the study in this call.
    study_items:
        The catalogue's head the trials were fitted and scored on
        (:mod:`~recolab.tuning.head`), or 0 when they used the whole catalogue. Their scores
        are then the head's, not comparable with a whole-catalogue validation score.
    """

    params: LinearParams
    l2_scale: float
    score: float
    metrics: dict[str, float]
    values: dict[str, float] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    study_items: int = 0


def tune_score(metrics: dict[str, float]) -> float:
    """The tuning objective: geometric mean of :data:`TUNE_METRICS`."""
    values = [max(float(metrics[name]), 0.0) for name in TUNE_METRICS]
    return float(math.prod(values) ** (1.0 / len(values)))


def mean_gram_diagonal(x: sp.csr_matrix, user_norm: float) -> float:
    """Mean over items of ``diag(Xᵀ D_U^{-β} X)``: Σ_u n_u^{1−β} / n_items."""
    counts = np.asarray(x.getnnz(axis=1), dtype=np.float64)
    counts = counts[counts > 0]
    return float(np.sum(counts ** (1.0 - user_norm)) / max(x.shape[1], 1))


def params_from(values: dict[str, Any], x: sp.csr_matrix) -> LinearParams:
    """:class:`LinearParams` from a trial's values, with l2 scaled to ``x``'s Gram matrix."""
    user_norm = float(values["user_norm"])
    l2 = float(values["l2_scale"]) * max(mean_gram_diagonal(x, user_norm), 1e-12)
    return LinearParams(
        l2=l2,
        dropout=float(values["dropout"]),
        user_norm=user_norm,
        item_norm=float(values["item_norm"]),
    )


def is_ease(values: dict[str, Any]) -> bool:
    """Whether a trial's values describe plain EASE (no dropout emphasis, no normalisation)."""
    return all(float(values[k]) == 0.0 for k in ("dropout", "user_norm", "item_norm"))


def _suggest(trial: optuna.Trial) -> dict[str, float]:
    return {
        "l2_scale": trial.suggest_float("l2_scale", 0.05, 200.0, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.9),
        "user_norm": trial.suggest_float("user_norm", 0.0, 1.0),
        "item_norm": trial.suggest_float("item_norm", 0.0, 0.5),
    }


def _open_study(
    storage: Path | None, name: str, seed: int, n_trials: int, *, enqueue: bool = True
) -> optuna.Study:
    if storage is not None:
        storage.parent.mkdir(parents=True, exist_ok=True)
    startup = len(START_TRIALS) + min(RANDOM_TRIALS, max(0, n_trials - len(START_TRIALS)) // 3)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)
    url = None if storage is None else f"sqlite:///{Path(storage).resolve()}"
    study = optuna.create_study(
        study_name=name,
        storage=url,
        sampler=sampler,
        direction="maximize",
        load_if_exists=True,
    )
    if enqueue and not study.trials:
        for values in START_TRIALS[:n_trials]:
            study.enqueue_trial(values)
    return study


def _open_shared_study(storage: Path | None, name: str, seed: int, n_trials: int) -> optuna.Study:
    """:func:`_open_study`; in a distributed run only rank 0 opens (and writes) ``storage``,
    and the other ranks mirror its trials, stored ones included, in memory: with the same
    seeded sampler and the same history, every rank then proposes the same trials."""
    if world_size() == 1:
        return _open_study(storage, name, seed, n_trials)
    main = is_main()
    study = _open_study(storage if main else None, name, seed, n_trials, enqueue=main)
    trials = agree(study.trials if main else None)
    if not main:
        study.add_trials(trials)
    return study


def _shared_deadline(
    seconds: float, start: float
) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    """A study callback stopping every rank once rank 0's clock passes ``seconds`` (each
    rank's own timeout could stop the ranks after different trials)."""

    def stop(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if agree(time.perf_counter() - start > seconds):
            study.stop()

    return stop


def tune_linear(
    split: ValidationSplit,
    *,
    budget: TuneBudget | None = None,
    seed: int = 0,
    storage: str | Path | None = None,
    device: str = "auto",
    refit_on: sp.csr_matrix | None = None,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TuneResult:
    """Tune :class:`~recolab.models.linear.LinearAutoencoder` on ``split`` (the sparse
    neighbourhood base for a catalogue too large for it, see
    :func:`~recolab.models.sparse_linear.make_linear_base`).

    Parameters
    ----------
    split:
        Fit and validation halves of the training data.
    budget:
        Trials and seconds; default :class:`TuneBudget`.
    seed:
        Seeds the TPE sampler: the same data, seed and budget give the same trials.
    storage:
        SQLite file for the study (e.g. in the job's folder). A study of the same seed and
        the same fit/validation data (by fingerprint) found there is resumed, counting its
        finished trials against the budget; other data start a study of their own.
    refit_on:
        The binary matrix the final model will be fitted on (default: the fit half); the
        returned ``params.l2`` is scaled to it.
    on_trial:
        Called after each trial with ``{"trial", "trials", "score", "best", ...metrics}``.
    should_stop:
        Checked before each trial; ``True`` raises :class:`~recolab.errors.Cancelled`.

    Returns
    -------
    TuneResult
    """
    budget = budget or TuneBudget()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    head = head_split(split)
    name = f"linear-seed{seed}-{_split_key(split)}" + ("" if head is None else f"-head{HEAD_ITEMS}")
    study = _open_shared_study(
        None if storage is None else Path(storage), name, seed, budget.n_trials
    )
    fit_x = split.fit.matrix(binary=True)

    objective = _objective(head or split, fit_x, device, should_stop)
    start = time.perf_counter()
    _optimize(study, objective, budget, on_trial)
    seconds = time.perf_counter() - start
    best = study.best_trial
    result = TuneResult(
        params=params_from(best.params, fit_x if refit_on is None else refit_on),
        l2_scale=float(best.params["l2_scale"]),
        score=float(best.value),
        metrics=dict(best.user_attrs.get("metrics", {})),
        values={k: float(v) for k, v in best.params.items()},
        trials=_trial_rows(study),
        seconds=seconds,
        study_items=0 if head is None else head.fit.n_items,
    )
    logger.info(
        "tuned the base in %.1f s over %d trials: %s (validation score %.4f)",
        seconds,
        len(result.trials),
        result.params,
        result.score,
    )
    return result


def _objective(
    split: ValidationSplit,
    fit_x: sp.csr_matrix,
    device: str,
    should_stop: Callable[[], bool] | None,
) -> Callable[[optuna.Trial], float]:
    """The study's objective: fit the trial's base on the fit half, score it on validation
    (:func:`tune_score`, accuracy only); every rank of a distributed run scores as rank 0.
    ``split`` may be the head of the catalogue (:mod:`~recolab.tuning.head`); ``l2`` is set
    in the units of ``fit_x``, the whole fit matrix, either way."""

    def objective(trial: optuna.Trial) -> float:
        if agree(should_stop is not None and should_stop()):  # rank 0 decides for all
            raise Cancelled(f"tuning cancelled before trial {trial.number + 1}")
        values = _suggest(trial)  # enqueued start trials get their fixed values here
        check_same(values, f"trial {trial.number + 1}'s options")
        start = time.perf_counter()
        params = params_from(values, fit_x)
        model = make_linear_base(params, split.fit.n_items, device, split.fit.n_users)
        model.fit(split.fit)
        metrics = evaluate(model, split.fit, split.valid, ks=(10, 20), accuracy_only=True).metrics
        # rank 0's score for every rank: the samplers' histories stay the same
        shown, score = agree(({k: float(metrics[k]) for k in TUNE_METRICS}, tune_score(metrics)))
        trial.set_user_attr("metrics", shown)
        trial.set_user_attr("seconds", time.perf_counter() - start)
        return score

    return objective


def _optimize(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    budget: TuneBudget,
    on_trial: Callable[[dict[str, Any]], None] | None,
) -> None:
    """Run the trials the budget has left (a resumed study counts its finished ones), within
    its seconds: Optuna's timeout alone, or rank 0's clock in a distributed run."""
    start = time.perf_counter()
    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    if done < budget.n_trials:
        shared = world_size() > 1
        callbacks = [_reporter(on_trial, budget.n_trials)] if on_trial else []
        study.optimize(
            objective,
            n_trials=budget.n_trials - done,
            timeout=None if shared else budget.seconds,
            callbacks=[*callbacks, _shared_deadline(budget.seconds, start)]
            if shared
            else callbacks,
        )


def _split_key(split: ValidationSplit) -> str:
    """A short fingerprint of both halves, so a stored study is resumed only for the same
    data."""
    from recolab.data.interactions import data_fingerprint

    both = data_fingerprint(split.fit) + data_fingerprint(split.valid)
    return hashlib.sha256(both.encode()).hexdigest()[:16]


def _reporter(
    on_trial: Callable[[dict[str, Any]], None], n_trials: int
) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            on_trial(
                {
                    "trial": trial.number + 1,
                    "trials": n_trials,
                    "score": float(trial.value),
                    "best": float(study.best_value),
                    **trial.user_attrs.get("metrics", {}),
                }
            )

    return report


def _trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    rows = []
    for t in study.trials:
        if t.state != optuna.trial.TrialState.COMPLETE:
            continue
        rows.append(
            {
                "number": t.number,
                **{k: float(v) for k, v in t.params.items()},
                "score": float(t.value),
                **t.user_attrs.get("metrics", {}),
                "seconds": float(t.user_attrs.get("seconds", 0.0)),
            }
        )
    return rows
