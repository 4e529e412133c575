"""recolab's default model, chosen on validation end to end.

1. Carve validation out of the training data (:func:`~recolab.tuning.validation_split`).
2. Tune the closed-form base on it (:func:`~recolab.tuning.tune_linear`).
3. Average the trials within 0.5 % of the best validation score (at most 5,
   :func:`near_best_trials`) into one base
   (:class:`~recolab.models.averaged_linear.AveragedLinearAutoencoder`): which of several
   equally accurate trials comes out best is partly chance, and their mean is steadier on
   data not seen. The mean is kept only while it stays within 0.5 % of the best trial on
   validation; otherwise the best trial alone is the base.
4. For repeat purchases, choose the weight of the users' own items on validation
   (:func:`~recolab.tuning.repeat.choose_repeat_weight`); the fronts below are then
   measured with the users' own items in the lists, as they are served.
5. Calibrate every trade-off mechanism's λ range and front on validation over that base,
   and keep the one with the largest hypervolume
   (:func:`~recolab.tuning.fronts.choose_mechanism`); then measure that mechanism's front
   over the study's best plain EASE too (with its own own-item weight) and keep the base
   whose front is larger (:func:`candidate_bases`): the most accurate base is not always
   the one with the largest front.
6. Keep the fewest weights per item that hold validation accuracy within 0.5 %
   (:func:`~recolab.tuning.sparsity.choose_top_k`), so the bundle is stored sparse; for
   the sparse neighbourhood base of a wide catalogue, the fewest neighbours per item
   within 0.5 % of the best tried (:func:`~recolab.tuning.sparsity.choose_neighbours`),
   within the study's time budget.
7. Refit the base with the chosen options on the whole training data.

The test set is never an argument: whatever reports on test does so once, afterwards.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from recolab.data.interactions import InteractionData
from recolab.distributed.gram import distributed_gram
from recolab.evaluation import Protocol
from recolab.models.averaged_linear import AveragedLinearAutoencoder, make_base
from recolab.models.linear import LinearAutoencoder
from recolab.models.sparse_linear import SparseLinearAutoencoder
from recolab.models.tradeoff import TradeoffRecommender
from recolab.rerank import make_reranker
from recolab.tuning.fronts import MechanismFront, choose_mechanism, mechanism_front
from recolab.tuning.repeat import RepeatChoice, choose_repeat_weight
from recolab.tuning.sparsity import (
    NeighbourChoice,
    SparsityChoice,
    choose_neighbours,
    choose_top_k,
    validation_score,
)
from recolab.tuning.study import (
    TuneBudget,
    TuneResult,
    is_ease,
    params_from,
    tune_linear,
)
from recolab.tuning.validation import ValidationSplit, validation_split

logger = logging.getLogger(__name__)

#: Trials whose validation score is within this share of the best count as equally
#: accurate, and are averaged into the base (see :func:`near_best_trials`).
ACCURACY_TOLERANCE = 0.005
#: At most this many near-best trials are averaged.
MAX_MEMBERS = 5


@dataclass
class TunedModel:
    """The base, its tuning study and the trade-off mechanisms, all chosen on validation.

    Attributes
    ----------
    train:
        The training data the base is fitted on.
    base:
        The tuned linear autoencoder (the mean of the near-best trials, or one trial),
        refitted on the whole training data.
    members:
        The study's values of the trials ``base`` averages, the most accurate first (one
        trial for a single base; see :func:`candidate_bases`).
    base_score:
        The base's tuning score on validation (fitted on the part validation was carved
        from).
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
    repeat:
        The own-item weight chosen for repeat purchases (``None``: not asked for).
    neighbours:
        The sparse base's neighbours per item, chosen on validation (``None``: dense base).
    """

    train: InteractionData
    base: LinearAutoencoder
    members: list[dict[str, float]]
    base_score: float
    tuning: TuneResult
    validation: str
    mechanism: MechanismFront
    fronts: list[MechanismFront]
    seconds: float
    sparsity: SparsityChoice | None = None
    vectors: np.ndarray | None = None
    categories: np.ndarray | None = None
    split: ValidationSplit | None = None
    fit_base: LinearAutoencoder | None = None
    repeat: RepeatChoice | None = None
    neighbours: NeighbourChoice | None = None

    def validation_model(self) -> tuple[TradeoffRecommender, ValidationSplit]:
        """The chosen base and mechanism fitted on the part validation was carved from (as
        pruned as the served base), and the split: what validation-side measurements such as
        the cut-off curves need, without another solve. With a given validation set the
        served model is that model."""
        if self.split is None or self.fit_base is None:
            raise ValueError("this TunedModel keeps no validation split (built by hand?)")
        if self.split.method == "given":
            return self.recommender(), self.split
        return replace(self, train=self.split.fit, base=self.fit_base).recommender(), self.split

    def serving(self, histories: InteractionData) -> TradeoffRecommender:
        """The chosen model's fitted weights and mechanism serving ``histories`` (the same
        vocabularies): e.g. every user's full history when the base was fitted without the
        profiles a defence flagged, so a genuine user flagged by mistake keeps their lists."""
        if histories.n_users != self.train.n_users or histories.n_items != self.train.n_items:
            raise ValueError(
                f"histories of {histories.n_users} users × {histories.n_items} items do not "
                f"match the model's {self.train.n_users} × {self.train.n_items}"
            )
        base = self.base.on_histories(histories)
        return replace(self, train=histories, base=base).recommender()

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
            lam_default=front.lam_default,
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
                "type": (
                    "sparse-linear-autoencoder"
                    if isinstance(self.base, SparseLinearAutoencoder)
                    else "linear-autoencoder"
                ),
                "params": self.base.params.to_dict(),
                "solver": "dual" if self.base.dual_ is not None else "primal",
                "trial": self.members[0],
                "members": self.members,
                "validation_score": self.base_score,
                "best_validation_score": self.tuning.score,
                "study_items": self.tuning.study_items or None,
                "validation_metrics": self.tuning.metrics,
                "trials": self.tuning.trials,
                "sparsity": self.sparsity.summary() if self.sparsity else None,
                "neighbours": self.neighbours.summary() if self.neighbours else None,
                "repeat": self.repeat.summary() if self.repeat else None,
            },
            "mechanism": self.mechanism.name,
            "mechanisms": [f.summary() for f in self.fronts],
            "seconds": self.seconds,
        }


def near_best_trials(tuning: TuneResult) -> list[dict[str, float]]:
    """Values of the trials within :data:`ACCURACY_TOLERANCE` of the best validation score
    (the best first, at most :data:`MAX_MEMBERS`); the best alone when the study ran on the
    head of a wide catalogue (``tuning.study_items``), where each member would cost a
    whole-catalogue solve and the head's scores cannot vouch for the mean."""
    if tuning.study_items:
        return [tuning.values]
    ranked = sorted(tuning.trials, key=lambda t: -t["score"])
    keep = [t for t in ranked if t["score"] >= (1.0 - ACCURACY_TOLERANCE) * tuning.score]
    return [{k: float(t[k]) for k in tuning.values} for t in keep[:MAX_MEMBERS]] or [tuning.values]


def candidate_bases(tuning: TuneResult) -> list[list[dict[str, float]]]:
    """The bases whose trade-off fronts are weighed, each as the trials it averages: the
    near-best trials (:func:`near_best_trials`), then the most accurate plain-EASE trial
    alone, unless it is already the whole first base.

    A more accurate base does not always allow the larger front: on three of six ML-100K
    splits the tuned EASE with a popularity penalty had a larger validation (and test)
    hypervolume than the most accurate EDLAE/DAN base with the same penalty
    (``benchmarks/generalisation_runs``). On validation the tuned EASE is itself a
    candidate and the mean is kept only within 0.5 % of the best trial (which is at least
    as accurate as that EASE), so the chosen base is never more than 0.5 % below tuned EASE
    there at λ = 0.
    """
    bases = [near_best_trials(tuning)]
    ease = [t for t in tuning.trials if is_ease(t)]
    if ease:
        best_ease = max(ease, key=lambda t: t["score"])
        values = [{k: float(best_ease[k]) for k in tuning.values}]
        if values != bases[0]:
            bases.append(values)
    return bases


def fit_base(
    members: list[dict[str, float]],
    data: InteractionData,
    top_k: int = 0,
    device: str = "auto",
    neighbours: int | None = None,
) -> LinearAutoencoder:
    """The base averaging the trials ``members`` (values of the study), fitted on ``data``
    (l2 scaled to it, :func:`~recolab.tuning.study.params_from`); ``neighbours``: per item,
    when it is the sparse base."""
    x = data.matrix(binary=True)
    params = [params_from(v, x) for v in members]
    return make_base(params, data.n_items, top_k, device, data.n_users, neighbours).fit(data)


def _first_base(
    tuning: TuneResult, members: list[dict[str, float]], split: ValidationSplit, device: str
) -> tuple[list[dict[str, float]], LinearAutoencoder, float]:
    """The mean of the near-best trials fitted on ``split.fit`` and its validation score,
    or, when the mean falls more than :data:`ACCURACY_TOLERANCE` below the best trial on
    validation, the best trial alone."""
    base = fit_base(members, split.fit, device=device)
    score = validation_score(base, split)
    if not isinstance(base, AveragedLinearAutoencoder):
        return members[:1], base, score
    if score >= (1.0 - ACCURACY_TOLERANCE) * tuning.score:
        return members, base, score
    logger.info(
        "the mean of %d trials scored %.4f on validation, below the best trial's %.4f: "
        "the best trial alone is the base",
        len(members),
        score,
        tuning.score,
    )
    single = fit_base(members[:1], split.fit, device=device)
    return members[:1], single, validation_score(single, split)


@dataclass
class _Chosen:
    """The chosen base: its trials, fitted on the fit part (with its own-item weight for
    repeat purchases), its validation score, its front of the chosen mechanism, every
    mechanism's front and the own-item weight (``None`` without repeat purchases)."""

    members: list[dict[str, float]]
    base: LinearAutoencoder
    score: float
    mechanism: MechanismFront
    fronts: list[MechanismFront]
    repeat: RepeatChoice | None


def _weighed(
    base: LinearAutoencoder, split: ValidationSplit, repeat: bool
) -> tuple[LinearAutoencoder, RepeatChoice | None]:
    """``base`` with the fit part's purchase counts and the own-item weight chosen on
    validation for repeat purchases (:func:`~recolab.tuning.repeat.choose_repeat_weight`),
    or as it is."""
    if not repeat:
        return base, None
    base = base.with_purchases(split.fit_purchases)
    choice = choose_repeat_weight(base, split)
    return base.with_repeat_weight(choice.weight), choice


def _choose_base_and_mechanism(
    tuning: TuneResult,
    split: ValidationSplit,
    vectors: np.ndarray | None,
    categories: np.ndarray | None,
    mechanisms: list[str] | None,
    device: str,
    repeat: bool,
    on_front: Callable[[int, int, str], None] | None = None,
) -> _Chosen:
    """Every mechanism's validation front over the first candidate base
    (:func:`candidate_bases`); then, among the candidates, the base whose front of the
    chosen mechanism has the largest validation hypervolume, unless the first base is more
    than :data:`ACCURACY_TOLERANCE` below the study's plain EASE at λ = 0 on validation, as
    lists are served (possible with repeat purchases, where the own-item weight reorders
    the bases, and after a study on a wide catalogue's head): then EASE, so the served base
    never falls that far below tuned EASE. ``on_front(m, M, name)`` hears each front
    measured.

    For repeat purchases each base gets its own-item weight first, and the fronts are
    measured as the lists are served, the users' own items kept: a λ range calibrated on
    new items only overshoots once own items lead the lists (on the Online Retail log's
    temporal split it ended at a 61 % test ndcg@10 loss instead of 20 %)."""
    first, *others = candidate_bases(tuning)
    members, base, score = _first_base(tuning, first, split, device)
    base, weight = _weighed(base, split, repeat)
    protocol = Protocol(exclude_seen=False) if repeat else None
    report = on_front or (lambda m, n, name: None)
    mechanism, fronts = choose_mechanism(
        base,
        split.fit,
        split.valid,
        vectors=vectors,
        categories=categories,
        names=mechanisms,
        on_front=lambda m, n, name: report(m, n + len(others), name),
        protocol=protocol,
    )
    best = _Chosen(members, base, score, mechanism, fronts, weight)
    served = _served_score(score, weight)
    for j, values in enumerate(others):
        other, other_weight = _weighed(fit_base(values, split.fit, device=device), split, repeat)
        front = mechanism_front(
            other,
            mechanism.name,
            split.fit,
            split.valid,
            vectors=vectors,
            categories=categories,
            protocol=protocol,
        )
        report(len(fronts) + j + 1, len(fronts) + len(others), f"{mechanism.name}, base {j + 2}")
        other_score = validation_score(other, split)
        other_served = _served_score(other_score, other_weight)
        less_accurate = served < (1.0 - ACCURACY_TOLERANCE) * other_served
        if less_accurate or front.hypervolume > best.mechanism.hypervolume:
            if less_accurate:
                logger.info(
                    "the first base scores %.4f on validation as served, more than %.1f %% "
                    "below plain EASE's %.4f: EASE is the base",
                    served,
                    100 * ACCURACY_TOLERANCE,
                    other_served,
                )
            swapped = [front if f.name == front.name else f for f in fronts]
            best = _Chosen(values, other, other_score, front, swapped, other_weight)
            served = other_served
    return best


def _sparsified(
    chosen: _Chosen, split: ValidationSplit, weight: float, seconds: float
) -> tuple[SparsityChoice | None, NeighbourChoice | None, LinearAutoencoder]:
    """How sparse the chosen base is kept, chosen on validation, and that base on the fit
    part (own-item weight ``weight``): the sparse base's neighbours per item (a search of
    about ``seconds``, the study's budget), or a dense base's weights per item (never for a
    base solved in dual form, stored as its solve matrix). Both are chosen without the
    own-item weight, added back afterwards."""
    base = chosen.base
    # without repeat purchases the base is its plain self, scored already
    known = chosen.score if chosen.repeat is None else None
    if isinstance(base, SparseLinearAutoencoder):
        plain = base.with_purchases(None).with_repeat_weight(0.0)
        neighbours = choose_neighbours(plain, split, seconds=seconds, score=known)
        if neighbours.neighbours == base.neighbours:
            return None, neighbours, base
        model = neighbours.model
        if chosen.repeat is not None:
            model = model.with_purchases(split.fit_purchases)
        return None, neighbours, model.with_repeat_weight(weight)
    if base.dual_ is not None:
        return None, None, base
    unweighted = base.with_repeat_weight(0.0)
    sparsity = choose_top_k(unweighted, split, score=known)
    return sparsity, None, unweighted.pruned(sparsity.top_k).with_repeat_weight(weight)


def _served_score(score: float, repeat: RepeatChoice | None) -> float:
    """A base's validation score at λ = 0 as its lists are served: with repeat purchases the
    score its own-item weight reached (own items ranked), else ``score``."""
    return score if repeat is None else repeat.scores[repeat.multiple]


def fit_tuned(
    train: InteractionData,
    *,
    vectors: np.ndarray | None = None,
    categories: np.ndarray | None = None,
    valid: InteractionData | None = None,
    forward: bool = False,
    repeat_rows: InteractionData | None = None,
    budget: TuneBudget | None = None,
    seed: int = 0,
    storage: str | Path | None = None,
    device: str = "auto",
    mechanisms: list[str] | None = None,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_front: Callable[[int, int, str], None] | None = None,
) -> TunedModel:
    """Choose and fit recolab's default model on ``train`` (see the module docstring).

    Parameters
    ----------
    train:
        The training data. Validation is carved out of it unless ``valid`` is given.
    forward:
        The test set lies after ``train`` in time
        (:func:`~recolab.tuning.validation.is_forward_split`): validation is then a global
        time cut of ``train`` rather than each user's latest interactions.
    repeat_rows:
        For repeat purchases: the unmerged rows ``train`` was merged from. Validation is
        then cut before merging (a repeat purchase after the cut is validated), and the
        base's own-item weight is chosen on it with the users' own items ranked
        (:func:`~recolab.tuning.repeat.choose_repeat_weight`); an own item scores that
        weight times the user's purchases of it (the rows' counts).
    vectors, categories:
        Item vectors for MMR diversity (text embeddings) and non-negative category vectors
        for calibration (genres); each mechanism is skipped without its input.
    budget, seed, storage, device:
        Passed to :func:`~recolab.tuning.tune_linear`.
    mechanisms:
        Re-rankers to consider (default: all the data allow).
    on_trial, should_stop, on_front:
        Progress and cancellation of the study (see :func:`~recolab.tuning.tune_linear`);
        ``on_front(m, M, name)`` hears each validation front of a mechanism or base.

    In a distributed run every rank calls this alike; the Gram matrices are then summed over
    the ranks' shards of users (:func:`~recolab.distributed.distributed_gram`).
    """
    with distributed_gram():
        return _fit_tuned(
            train,
            vectors,
            categories,
            validation_split(train, seed=seed, valid=valid, forward=forward, rows=repeat_rows),
            repeat_rows,
            budget,
            seed,
            storage,
            device,
            mechanisms,
            on_trial,
            should_stop,
            on_front,
        )


def _fit_tuned(
    train: InteractionData,
    vectors: np.ndarray | None,
    categories: np.ndarray | None,
    split: ValidationSplit,
    repeat_rows: InteractionData | None,
    budget: TuneBudget | None,
    seed: int,
    storage: str | Path | None,
    device: str,
    mechanisms: list[str] | None,
    on_trial: Callable[[dict[str, Any]], None] | None,
    should_stop: Callable[[], bool] | None,
    on_front: Callable[[int, int, str], None] | None,
) -> TunedModel:
    """The body of :func:`fit_tuned`."""
    start = time.perf_counter()
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
    repeat = repeat_rows is not None
    chosen = _choose_base_and_mechanism(
        tuning, split, vectors, categories, mechanisms, device, repeat, on_front
    )
    repeats = chosen.repeat
    weight = repeats.weight if repeats is not None else 0.0
    seconds = (budget or TuneBudget()).seconds
    sparsity, neighbours, pruned_on_fit = _sparsified(chosen, split, weight, seconds)
    if split.method == "given":  # already fitted on the training data: prune, never re-solve
        base = pruned_on_fit
    else:
        m = neighbours.neighbours if neighbours is not None else None
        base = fit_base(chosen.members, train, pruned_on_fit.params.top_k, device, m)
        base = base.with_repeat_weight(weight)
    if repeat_rows is not None:
        base = base.with_purchases(repeat_rows.matrix(binary=True))
    model = TunedModel(
        train=train,
        base=base,
        members=chosen.members,
        base_score=chosen.score,
        tuning=tuning,
        validation=split.description,
        mechanism=chosen.mechanism,
        fronts=chosen.fronts,
        seconds=time.perf_counter() - start,
        sparsity=sparsity,
        vectors=vectors,
        categories=categories,
        split=split,
        fit_base=pruned_on_fit,
        repeat=repeats,
        neighbours=neighbours,
    )
    logger.info(
        "default model chosen in %.1f s: base %s (mean of %d trials), mechanism %s",
        model.seconds,
        base.params,
        len(chosen.members),
        chosen.mechanism.name,
    )
    return model
