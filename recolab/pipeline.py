"""Train → evaluate over λ → export: the flow the CLI, the worker and the dashboard share.

Nothing here is UI: each function takes data or paths and returns data, files or tables.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from recolab.config import TrainConfig
from recolab.data.interactions import InteractionData
from recolab.device import resolve_device
from recolab.evaluation import Protocol, evaluate
from recolab.models.base import Recommender
from recolab.training import ProgressCallback, StopCallback

if TYPE_CHECKING:
    from recolab.tuning.validation import ValidationSplit

#: ``on_stage(stage, done, total, **fields)``: progress of a stage of training
#: (:meth:`recolab.jobs.JobContext.stage`; stages listed in :mod:`recolab.jobs.progress`).
StageCallback = Callable[..., Any]

log = logging.getLogger(__name__)

#: λ values (as fractions of the trained range) at which the front is evaluated.
FRONT_FRACTIONS = tuple(np.round(np.linspace(0.0, 1.0, 11), 3))
#: Share of magnitude-pruned weights on the sparsity curve.
SPARSITY_TARGETS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)


@dataclass
class Features:
    """Item side inputs of a run: text embeddings (or None) and vectors for diversity."""

    text: np.ndarray | None
    diversity: np.ndarray | None
    text_model: str | None
    seconds: float = 0.0


def load_split(
    train: str | Path | None = None,
    test: str | Path | None = None,
    *,
    items: str | Path | None = None,
    sample: str | None = None,
    mapping: dict[str, str] | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    split: str = "auto",
) -> tuple[InteractionData, InteractionData]:
    """The (train, test) pair of a run.

    ``sample="ml-100k"`` uses the canonical ``u1`` split; another sample is split by a
    seeded per-user random holdout of ``test_fraction``. A ``train`` file without ``test``
    is split by ``split``: ``"random"`` (per-user random holdout), ``"temporal"`` (global
    cut: the last ``test_fraction`` of interactions in time) or ``"last-basket"`` (each
    user's last basket); ``"auto"`` is temporal for a timed behaviour log
    (:func:`recolab.tuning.validation.is_timed_log`), random otherwise. Time splits cut the
    log's rows before the (user, item) pairs are merged, so a repeat purchase after the cut
    is in test while the earlier ones stay in train.
    """
    from recolab.data.io import load_interactions
    from recolab.data.samples import load_ml100k_split, load_sample
    from recolab.data.splits import (
        SPLIT_CHOICES,
        given_files,
        merge_pairs,
        random_holdout,
        time_split,
    )

    if split not in ("auto", *SPLIT_CHOICES):
        raise ValueError(f"split must be auto or one of {', '.join(SPLIT_CHOICES)}, not {split!r}")
    if sample == "ml-100k":
        return load_ml100k_split("u1")
    if sample is not None:
        return random_holdout(load_sample(sample), test_fraction=test_fraction, seed=seed)
    if train is None:
        raise ValueError("load_split needs a train file or a sample name")
    if test is not None:
        return given_files(train, test, items=items, mapping=mapping)
    if split != "random":
        rows = load_interactions(train, mapping, items=items, merge=False)
        chosen = _time_rule(split, rows)
        if chosen is not None:
            halves = time_split(rows, chosen, test_fraction)
            log.info("split %s by time: %s", train, halves[1].name)
            return merge_pairs(halves[0]), merge_pairs(halves[1])
    data = load_interactions(train, mapping, items=items)
    return random_holdout(data, test_fraction=test_fraction, seed=seed)


def _time_rule(split: str, rows: InteractionData) -> str | None:
    """The time split ``split`` asks of a file's ``rows`` (``"temporal"`` or
    ``"last-basket"``), or ``None`` for a random holdout: ``"auto"`` is temporal for a timed
    behaviour log (:func:`recolab.tuning.validation.is_timed_log`)."""
    from recolab.tuning.validation import is_timed_log

    if split == "random" or (split == "auto" and not is_timed_log(rows)):
        return None
    return "temporal" if split == "auto" else split


def repeat_rows(
    train: InteractionData,
    path: str | Path,
    *,
    test: str | Path | None = None,
    items: str | Path | None = None,
    mapping: dict[str, str] | None = None,
    split: str | None = "auto",
    test_fraction: float = 0.2,
) -> InteractionData | None:
    """The unmerged rows ``train`` was merged from, on its vocabularies, for repeat
    purchases (:func:`recolab.tuning.fit_tuned`'s ``repeat_rows``): the rows of the training
    file ``path``, before the time cut when :func:`load_split` cut test off it by ``split``
    (``None``: no test was cut, the whole file is training). ``None`` when the file has no
    timestamps, or ``split`` held out random pairs (a repeat purchase cannot be told from
    the first one there). The file is read a second time."""
    from recolab.data.io import load_interactions
    from recolab.data.splits import time_split

    rows = load_interactions(path, mapping, items=items, merge=False)
    if "timestamp" not in rows.frame.columns:
        return None
    if test is None and split is not None:
        chosen = _time_rule(split, rows)
        if chosen is None:  # a random holdout of the merged pairs
            return None
        rows = time_split(rows, chosen, test_fraction)[0]
    frame = rows.frame.copy()
    frame["user_idx"] = train.users.index(frame["user"]).astype(np.int64)
    frame["item_idx"] = train.items.index(frame["item"]).astype(np.int64)
    if (frame[["user_idx", "item_idx"]] < 0).any().any():  # pragma: no cover - same file
        raise ValueError(f"{path}: rows name users or items the training data lacks")
    return train.with_frame(frame, name=f"{train.name} (unmerged rows)")


def split_from_spec(spec: dict[str, Any], seed: int) -> tuple[InteractionData, InteractionData]:
    """The (train, test) split a job spec describes (``sample``, or ``train`` with optional
    ``test``, ``items``, ``users`` (attributes; ``users_mapping`` names their id column) and
    ``mapping``): the worker trains on it and the dashboard evaluates on it, so both must
    build it here."""
    from recolab.data.io import load_users

    train, test = load_split(
        spec.get("train"),
        spec.get("test"),
        items=spec.get("items"),
        sample=spec.get("sample"),
        mapping=spec.get("mapping"),
        seed=seed,
        split=spec.get("split", "auto"),
    )
    if spec.get("users"):
        train.user_meta = test.user_meta = load_users(spec["users"], spec.get("users_mapping"))
    return train, test


def item_features(
    train: InteractionData,
    use_text: bool,
    device: str = "auto",
    on_stage: StageCallback | None = None,
) -> Features:
    """Text embeddings of the items (when asked for and the data have texts) and the vectors
    diversity is measured on (text embeddings, else genres, else none). ``on_stage`` hears
    the ``embed`` stage: texts embedded n/N (see :mod:`recolab.jobs.progress`)."""
    from recolab.features.tabular import genre_vectors
    from recolab.features.text import TextEncoder, item_text_embeddings

    start = time.perf_counter()
    text, name = None, None
    if use_text and train.item_texts is not None:
        encoder = TextEncoder(device=device)
        stage = on_stage or _no_stage
        stage("embed", 0, None, detail="loading the text model")
        text, has_text = item_text_embeddings(
            train, encoder, lambda done, total: stage("embed", done, total)
        )
        name = encoder.model_name
        if not has_text.any():
            text, name = None, None
    genres = genre_vectors(train.item_meta, train.items)
    diversity = text if text is not None else (genres if genres.shape[1] > 0 else None)
    return Features(text, diversity, name, time.perf_counter() - start)


def objective_lambdas(lam: float, weights: dict[str, float] | None) -> float | dict[str, float]:
    """The ``lam`` to score a conditioned model at: the trade-off λ itself (the trained mix
    of objectives), or, with per-objective ``weights``, each objective's λ_j = λ · w_j."""
    if weights is None:
        return float(lam)
    return {name: float(lam) * float(w) for name, w in weights.items()}


def lambda_front(
    model: Recommender,
    train: InteractionData,
    test: InteractionData,
    lambdas: Sequence[float],
    *,
    ks: Sequence[int] = (10, 20),
    item_vectors: np.ndarray | None = None,
    weights: dict[str, float] | None = None,
    protocol: Protocol | None = None,
) -> pd.DataFrame:
    """Metrics of a conditioned model at each λ (one row per λ, column ``lam``), with the
    trained mix of objectives or, given ``weights``, that mix (columns ``w_<objective>``),
    under ``protocol`` (default :class:`~recolab.evaluation.Protocol`)."""
    rows = []
    for lam in lambdas:
        at = objective_lambdas(lam, weights)
        result = evaluate(
            model, train, test, ks=ks, lam=at, item_vectors=item_vectors, protocol=protocol
        )
        extra = {f"w_{k}": float(v) for k, v in (weights or {}).items()}
        rows.append({"model": "recolab", "lam": float(lam), **extra, **result.metrics})
    return pd.DataFrame(rows)


def reference_rows(
    train: InteractionData,
    test: InteractionData,
    *,
    ks: Sequence[int] = (10, 20),
    item_vectors: np.ndarray | None = None,
    ease_l2: float = 400.0,
    protocol: Protocol | None = None,
) -> pd.DataFrame:
    """Popularity and (for catalogues small enough) EASE on the same split, as reference
    points beside the model (DESIGN: always show the popularity baseline), under
    ``protocol``."""
    from recolab.models.ease import EASERecommender
    from recolab.models.popularity import PopularityRecommender

    models: dict[str, Recommender] = {"popularity": PopularityRecommender()}
    if train.n_items <= 20_000:
        models["ease"] = EASERecommender(l2=ease_l2)
    rows = []
    for name, m in models.items():
        start = time.perf_counter()
        m.fit(train)
        seconds = time.perf_counter() - start
        result = evaluate(m, train, test, ks=ks, item_vectors=item_vectors, protocol=protocol)
        rows.append({"model": name, "lam": np.nan, **result.metrics, "train_seconds": seconds})
    return pd.DataFrame(rows)


def sparsity_curve(
    model: Any,
    train: InteractionData,
    test: InteractionData,
    *,
    targets: Sequence[float] = SPARSITY_TARGETS,
    lam: float = 0.0,
    ks: Sequence[int] = (10, 20),
) -> pd.DataFrame:
    """Accuracy of the model magnitude-pruned to each target share of zeros."""
    rows = []
    for target in targets:
        pruned = model.prune(target) if target > 0 else model
        result = evaluate(pruned, train, test, ks=ks, lam=lam)
        rows.append({"target": target, "sparsity": pruned.sparsity(), **result.metrics})
    return pd.DataFrame(rows)


def _no_stage(stage: str, done: float = 0, total: float | None = None, **fields: Any) -> None:
    """A stage callback that does nothing."""


def _announcer(note: Callable[[str], None] | None) -> Callable[[str], None]:
    """Log a message and pass it to ``note`` (the job's notes) when given."""

    def say(message: str) -> None:
        log.info("%s", message)
        if note is not None:
            note(message)

    return say


def train_and_export(
    train: InteractionData,
    test: InteractionData | None,
    config: TrainConfig,
    out: str | Path,
    *,
    valid: InteractionData | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
    note: Callable[[str], None] | None = None,
    prune_to: float = 0.0,
    on_stage: StageCallback | None = None,
    rows: InteractionData | None = None,
) -> dict[str, Any]:
    """Train the model ``config.model`` names, evaluate it over its λ range beside the
    references (on ``test``; skipped when ``None``), and write the bundle to ``out``
    (``.zip`` or folder). ``"auto"`` goes through :func:`train_tuned_and_export` (``rows``:
    the unmerged training rows, :func:`repeat_rows`, used with ``config.repeat``).
    ``on_stage(stage, done, total, **fields)`` hears the stages (:mod:`recolab.jobs.progress`).

    Returns a JSON-ready summary: bundle path, device, seconds, metrics at λ = 0, the front
    (model rows and reference rows) and the sparsity curve.
    """
    say = _announcer(note)
    if config.model == "auto":
        return train_tuned_and_export(
            train,
            test,
            config,
            out,
            valid=valid,
            on_progress=on_progress,
            should_stop=should_stop,
            say=say,
            on_stage=on_stage,
            rows=rows,
        )
    stage = on_stage or _no_stage
    features = item_features(train, config.use_text, config.device, stage)
    if features.text is not None:
        say(f"embedded item texts with {features.text_model} in {features.seconds:.1f} s")
    else:
        say("no item texts used: collaborative signal only")
    model = _fit_weighted(train, config, features, valid, on_progress, should_stop, stage)
    result = model.train_result_
    if prune_to > 0:
        model = model.prune(prune_to)
    say(f"trained in {result.seconds:.1f} s on {result.device} ({result.stopped_by})")
    stage("report")
    return _export_weighted(model, train, test, valid, config, features, out)


def _fit_weighted(
    train: InteractionData,
    config: TrainConfig,
    features: Features,
    valid: InteractionData | None,
    on_progress: ProgressCallback | None,
    should_stop: StopCallback | None,
    stage: StageCallback,
) -> Any:
    """The λ-conditioned network of ``config``, fitted (early-stopped on ``valid``)."""
    from recolab.models.weighted import WeightedObjectiveRecommender

    model = WeightedObjectiveRecommender(config)
    stage("epochs", 0, config.epochs, budget_s=config.budget_seconds)
    return model.fit(
        train,
        valid=valid,
        item_text=features.text,
        item_vectors=features.diversity,
        on_progress=on_progress,
        should_stop=should_stop,
    )


def _export_weighted(
    model: Any,
    train: InteractionData,
    test: InteractionData | None,
    valid: InteractionData | None,
    config: TrainConfig,
    features: Features,
    out: str | Path,
) -> dict[str, Any]:
    """The trained network's test report and bundle, and the job's JSON-ready summary."""
    from recolab.bundle import bundle_size, export_bundle

    result = model.train_result_
    front, refs, protocol, at_zero = _test_report(
        model, train, test, features, config.lam_high, repeat=config.repeat
    )
    curve = sparsity_curve(model, train, test) if test is not None else pd.DataFrame()
    front["sparsity"] = model.sparsity()
    front["train_seconds"] = result.seconds
    cutoffs = None
    if valid is not None:  # the network was fitted on all of train: a given valid is unseen
        cutoffs = cutoff_curves(model, valid, [0.0, config.lam_high], "given validation set")
    path = export_bundle(
        model,
        out,
        lam=0.0,
        metrics=at_zero,
        front=_records(pd.concat([front, refs], ignore_index=True)) if test is not None else [],
        protocol=protocol,
        text_model=features.text_model,
        train_seconds=result.seconds,
        device=result.device,
        cutoffs=cutoffs,
        repeat=config.repeat,
    )
    size = bundle_size(path)
    front["model_bytes"] = size
    return {
        "bundle": str(path),
        "device": result.device,
        "train_seconds": result.seconds,
        "epochs_run": result.epochs_run,
        "stopped_by": result.stopped_by,
        "peak_memory_bytes": result.peak_memory_bytes,
        "model_bytes": size,
        "sparsity": model.sparsity(),
        "metrics": at_zero,
        "front": _records(front),
        "references": _records(refs),
        "sparsity_curve": _records(curve),
        "protocol": protocol,
        "cutoffs": cutoffs,
        "history": result.history,
    }


def train_tuned_and_export(
    train: InteractionData,
    test: InteractionData | None,
    config: TrainConfig,
    out: str | Path,
    *,
    valid: InteractionData | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
    say: Callable[[str], None] = log.info,
    study_path: str | Path | None = None,
    on_stage: StageCallback | None = None,
    rows: InteractionData | None = None,
    forward: bool | None = None,
) -> dict[str, Any]:
    """recolab's default: choose the base and the trade-off mechanism on validation
    (:func:`recolab.tuning.fit_tuned`, carved out of ``train`` unless ``valid`` is given),
    then report on ``test`` once and export. The Optuna study is stored beside the bundle
    (``model.zip`` → ``model.study.sqlite``) unless ``study_path`` says otherwise. With
    ``config.repeat`` and ``rows`` (the unmerged training rows, :func:`repeat_rows`) the
    base also learns how much a user's own items weigh, on a validation split that keeps
    repeat purchases. ``forward``: whether ``test`` lies after ``train`` in time, so that
    validation looks forward too (:func:`recolab.tuning.validation.is_forward_split`);
    ``None`` reads it off the two sets' timestamps first, the split's shape and nothing
    else of the test set."""
    from recolab.data.shilling import defend
    from recolab.distributed.runtime import is_main, rank
    from recolab.tuning.validation import is_forward_split

    start = time.perf_counter()
    forward = is_forward_split(train, test) if forward is None else forward
    stage = on_stage or _no_stage
    histories = train  # what the served model and the test report see: every profile
    train, defence = defend(train, config.defend, seed=config.seed)
    if config.defend != "off":
        say(f"defence {config.defend}: {defence}")
    features = item_features(train, config.use_text, config.device, stage)
    study = Path(study_path) if study_path else Path(out).with_suffix(".study.sqlite")
    stage("tune", 0, config.tune_trials, budget_s=config.tune_seconds)
    rows = _repeat_rows_for(config, rows, say)
    tuned = _fit_default(
        train,
        features,
        config,
        (valid, forward, rows),
        study,
        _tuning_events(on_progress, stage),
        should_stop,
    )

    if not is_main():  # another rank of a distributed run: its share is done, rank 0 writes
        return {
            "rank": rank(),
            "bundle": None,
            "device": config.device,
            "train_seconds": 0.0,
            "metrics": {},
            "model_bytes": 0,
        }
    stage("report")
    say(
        f"tuned the base on validation ({tuned.validation}) over "
        f"{len(tuned.tuning.trials)} trials (the base averages {len(tuned.members)}); "
        f"trade-off mechanism: {tuned.mechanism.name} "
        f"(λ up to {tuned.mechanism.lam_high:.3g}, default {tuned.mechanism.lam_default:.3g})"
    )
    # fitted without flagged profiles (when defended), serving every user's history
    model = tuned.recommender() if config.defend == "off" else tuned.serving(histories)
    seconds = time.perf_counter() - start
    summary = _export_tuned(tuned, model, histories, test, config, features, out, seconds)
    return {**summary, "defence": defence, "train_seconds": seconds, "study": str(study)}


def _export_tuned(
    tuned: Any,
    model: Any,
    histories: InteractionData,
    test: InteractionData | None,
    config: TrainConfig,
    features: Features,
    out: str | Path,
    seconds: float,
) -> dict[str, Any]:
    """The served model's test report, validation curves and bundle (recording ``seconds``
    as its training time), and its part of the job's JSON-ready summary."""
    from recolab.bundle import bundle_size, export_bundle

    device = str(resolve_device(config.device))
    front, refs, protocol, at_default = _test_report(
        model, histories, test, features, model.lam_high, model.lam_default, repeat=config.repeat
    )
    front["sparsity"] = model.sparsity()
    front["train_seconds"] = seconds
    # the chosen base and mechanism on the part validation was carved from, fitted once
    checked, split = tuned.validation_model()
    # with repeat purchases, measured as served: the users' own items stay in the lists
    cutoffs = tuned_cutoff_curves(checked, split, model, config.repeat)
    fine_front = validation_fine_front(checked, split, model, tuned.vectors, repeat=config.repeat)
    path = export_bundle(
        model,
        out,
        lam=model.lam_default,
        metrics=at_default,
        front=_records(pd.concat([front, refs], ignore_index=True)) if test is not None else [],
        protocol={**protocol, "validation": tuned.validation},
        train_seconds=seconds,
        device=device,
        cutoffs=cutoffs,
        repeat=config.repeat,
    )
    size = bundle_size(path)
    front["model_bytes"] = size
    return {
        **_tuned_result(tuned, model, front, refs, protocol),
        "model_bytes": size,
        "bundle": str(path),
        "device": device,
        "metrics": at_default,
        "cutoffs": cutoffs,
        "fine_front": fine_front,
    }


def _repeat_rows_for(
    config: TrainConfig, rows: InteractionData | None, say: Callable[[str], None]
) -> InteractionData | None:
    """The rows :func:`recolab.tuning.fit_tuned` models repeat purchases from, or ``None``
    (saying why when ``config.repeat`` asked for them)."""
    if not config.repeat:
        return None
    if rows is None:
        say(
            "repeat purchases: the training rows were not split in time, so a repeat cannot "
            "be validated; the users' own items are served but not weighed"
        )
        return None
    if config.defend != "off":
        say("repeat purchases: own items are not weighed with a shilling defence on")
        return None
    return rows


def _fit_default(
    train: InteractionData,
    features: Features,
    config: TrainConfig,
    validation: tuple[InteractionData | None, bool, InteractionData | None],
    study: Path,
    events: tuple[Callable[[dict[str, Any]], None], Callable[[int, int, str], None]],
    should_stop: StopCallback | None,
) -> Any:
    """:func:`recolab.tuning.fit_tuned` with the job's options, item vectors and genres,
    reporting trials and fronts through ``events`` (see :func:`_tuning_events`);
    ``validation`` is the given validation set (or None), whether test lies after
    training in time, and the unmerged training rows for repeat purchases (or None)."""
    from recolab.features.tabular import genre_vectors
    from recolab.tuning import TuneBudget, fit_tuned

    genres = genre_vectors(train.item_meta, train.items)
    on_trial, on_front = events
    valid, forward, rows = validation
    return fit_tuned(
        train,
        vectors=features.diversity,
        categories=genres if genres.shape[1] > 0 else None,
        valid=valid,
        forward=forward,
        repeat_rows=rows,
        budget=TuneBudget(config.tune_trials, config.tune_seconds),
        seed=config.seed,
        storage=study,
        device=config.device,
        mechanisms=None if config.mechanism == "auto" else [config.mechanism],
        on_trial=on_trial,
        should_stop=should_stop,
        on_front=on_front,
    )


def _tuning_events(
    on_progress: ProgressCallback | None, stage: StageCallback
) -> tuple[Callable[[dict[str, Any]], None], Callable[[int, int, str], None]]:
    """The study's trial and front callbacks of :func:`fit_tuned`, as progress events
    (a trial counts as an epoch of the job) and stages."""

    def trial_event(event: dict[str, Any]) -> None:
        if on_progress is not None:
            on_progress({**event, "epoch": event["trial"], "epochs": event["trials"]})

    def front_event(done: int, total: int, name: str) -> None:
        stage("fronts", done, total, detail=name)
        if done >= total:
            stage("base", detail="choosing the sparsity, refitting on all training data")

    return trial_event, front_event


def _tuned_result(
    tuned: Any, model: Any, front: pd.DataFrame, refs: pd.DataFrame, protocol: dict[str, Any]
) -> dict[str, Any]:
    """The parts of a default model's job result that describe the model and its study."""
    return {
        "model_type": "linear-rerank",
        "epochs_run": len(tuned.tuning.trials),
        "stopped_by": "tuning budget",
        "peak_memory_bytes": None,
        "sparsity": model.sparsity(),
        "front": _records(front),
        "references": _records(refs),
        "sparsity_curve": [],
        "protocol": protocol,
        "selection": tuned.summary(),
        "history": [
            {"epoch": i + 1, "val_score": t["score"]} for i, t in enumerate(tuned.tuning.trials)
        ],
    }


def cutoff_curves(
    model: Recommender,
    valid: InteractionData,
    lambdas: Sequence[float],
    description: str,
    exclude_seen: bool = True,
) -> dict[str, Any] | None:
    """Precision, recall and F1 over the list length k = 1 … 50 on validation at each λ
    (:func:`recolab.tuning.cutoff.validation_cutoffs`), stored with the job and the bundle
    so that α picks k* with no recomputation; ``None`` (logged) when validation has no
    scorable user."""
    from recolab.tuning.cutoff import validation_cutoffs

    try:
        return validation_cutoffs(
            model, valid, lambdas, description=description, exclude_seen=exclude_seen
        )
    except ValueError as exc:
        log.warning("no cut-off curve on validation: %s", exc)
        return None


def tuned_cutoff_curves(
    checked: Recommender, split: ValidationSplit, served: Any, repeat: bool = False
) -> dict[str, Any] | None:
    """:func:`cutoff_curves` of a tuned model at λ = 0, the served λ, and the middle and
    top of its range, on the validation split :func:`recolab.tuning.fit_tuned` carved, by
    ``checked``: the chosen base and mechanism fitted on the part validation was carved from
    (:meth:`~recolab.tuning.TunedModel.validation_model`), since the served model has seen
    the validation items."""
    lambdas = [0.0, served.lam_default, served.lam_high / 2, served.lam_high]
    return cutoff_curves(checked, split.valid, lambdas, split.description, not repeat)


#: Points of the fine validation front the Trade-offs page reads at any λ.
FINE_FRONT_POINTS = 101


def fine_lambda_grid(lam_high: float, n_points: int = FINE_FRONT_POINTS) -> list[float]:
    """``n_points`` λ values from 0 to ``lam_high``, spaced quadratically so they are denser
    near 0, where a re-ranker's front bends most (coverage can climb by half in the first
    2 % of the range)."""
    t = np.linspace(0.0, 1.0, max(int(n_points), 2))
    return sorted({round(float(v), 6) for v in float(lam_high) * t**2})


def validation_fine_front(
    checked: Recommender,
    split: ValidationSplit,
    served: Any,
    vectors: np.ndarray | None = None,
    n_points: int = FINE_FRONT_POINTS,
    repeat: bool = False,
) -> list[dict[str, Any]] | None:
    """The served mechanism's front on validation at :func:`fine_lambda_grid` points (and
    the served λ), measured once at the end of training so that the Trade-offs page shows
    the metrics at any λ by interpolation instead of ranking every user again. Measured by
    ``checked``, the model :meth:`~recolab.tuning.TunedModel.validation_model` gives (the
    served model has seen the validation items); its candidates are cached across λ, so
    each point costs one re-ranking. ``None`` (logged) when it cannot be measured."""
    from recolab.tuning.fronts import measure_front

    lambdas = sorted(
        set(fine_lambda_grid(served.lam_high, n_points)) | {round(served.lam_default, 6)}
    )
    start = time.perf_counter()
    try:
        protocol = Protocol(exclude_seen=not repeat)
        rows = measure_front(checked, split.fit, split.valid, lambdas, vectors, protocol)
    except ValueError as exc:
        log.warning("no fine validation front: %s", exc)
        return None
    log.info(
        "fine validation front: %d λ in [0, %.3g] in %.1f s",
        len(lambdas),
        served.lam_high,
        time.perf_counter() - start,
    )
    return _records(rows)


def _test_report(
    model: Recommender,
    train: InteractionData,
    test: InteractionData | None,
    features: Features,
    lam_high: float,
    lam_default: float = 0.0,
    *,
    repeat: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """The front over λ ∈ [0, ``lam_high``] (with ``lam_default`` among its points), the
    reference rows, the protocol and the metrics at ``lam_default`` on ``test``, measured
    once, after every choice was made (only the λ grid without ``test``); ``repeat`` keeps
    the users' own training items among the candidates (repeat purchases)."""
    lambdas = sorted({round(f * lam_high, 6) for f in FRONT_FRACTIONS} | {round(lam_default, 6)})
    if test is None:
        front = pd.DataFrame({"model": ["recolab"] * len(lambdas), "lam": lambdas})
        return front, pd.DataFrame(), {}, {}
    rules = Protocol(exclude_seen=not repeat)
    front = lambda_front(
        model, train, test, lambdas, item_vectors=features.diversity, protocol=rules
    )
    refs = reference_rows(train, test, item_vectors=features.diversity, protocol=rules)
    protocol = rules.describe(train, test)
    at = front.loc[front["lam"] == round(lam_default, 6)].iloc[0]
    return front, refs, protocol, at.drop(["model"]).to_dict()


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame → JSON-ready records (NaN → None)."""
    clean = df.astype(object).where(pd.notna(df), None)
    return [
        {k: (float(v) if isinstance(v, np.floating) else v) for k, v in r.items()}
        for r in clean.to_dict("records")
    ]


def run_training_job(spec: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Worker task: train, evaluate over λ and export a bundle into the job's folder.

    ``spec`` keys: ``sample`` (a built-in sample name) or ``train`` (path) with optional
    ``test``, ``valid``, ``items`` paths and ``mapping``; ``config`` (a :class:`TrainConfig`
    dict); ``prune_to`` (share of weights to prune after training). ``ctx`` is a
    :class:`recolab.jobs.worker.JobContext`.
    """
    from recolab.data.interactions import build_interactions
    from recolab.data.io import load_interactions

    config = TrainConfig.from_dict(dict(spec.get("config") or {}))
    if config.device == "auto":
        config.device = ctx.device
    from recolab.distributed.launch import launch_job
    from recolab.distributed.runtime import launched

    if config.nproc > 1 and not launched():  # torchrun's ranks run this job again
        return launch_job(ctx, config.nproc)
    if config.device == "cpu" and not torch.cuda.is_available():
        ctx.note("no GPU found: training on CPU")
    ctx.note("loading data")
    ctx.stage("read")
    train, test = split_from_spec(spec, config.seed)
    valid = None
    if spec.get("valid"):
        v = load_interactions(spec["valid"], spec.get("mapping"))
        known = (train.users.index(v.frame["user"]) >= 0) & (
            train.items.index(v.frame["item"]) >= 0
        )
        if not known.all():
            ctx.note(
                f"validation: {int((~known).sum())} of {len(known)} rows name a user or item "
                "absent from training and cannot be scored; they are left out of validation"
            )
        valid = build_interactions(
            v.frame[known][["user", "item", "value"]],
            kind=train.kind,
            users=train.users,
            items=train.items,
            name="valid",
        )
    rows = None
    if config.repeat and config.model == "auto" and spec.get("train"):
        rows = repeat_rows(
            train,
            spec["train"],
            test=spec.get("test"),
            items=spec.get("items"),
            mapping=spec.get("mapping"),
            split=spec.get("split", "auto"),
        )
    ctx.check_cancelled()
    # export_bundle writes the zip atomically (temporary name, then rename)
    result = train_and_export(
        train,
        test,
        config,
        ctx.artifact_path("model.zip"),
        valid=valid,
        on_progress=ctx.progress,
        should_stop=ctx.should_stop,
        note=ctx.note,
        prune_to=float(spec.get("prune_to", 0.0)),
        on_stage=ctx.stage,
        rows=rows,
    )
    result["bundle"] = str(ctx.artifact_path("model.zip"))
    with ctx.atomic_artifact("result.json") as tmp:
        tmp.write_text(json.dumps(result, default=str))
    return {k: result[k] for k in ("bundle", "device", "train_seconds", "metrics", "model_bytes")}
