"""Evaluating a trained model at a new λ and choosing λ and k (the Trade-offs page): the
evaluation context of a job, metrics at λ, the bundle's fronts and curves, α's list length
k*, the constraint picker, the mechanism and sparsity tables, and the objective sliders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recolab.data.interactions import InteractionData
from recolab.evaluation import Protocol


@dataclass
class EvalContext:
    """What evaluating a model at a new λ needs: the split of its job, the item vectors
    diversity is measured on and the protocol (both as at training time: a model trained
    for repeat purchases is measured with each user's own items among the candidates)."""

    train: InteractionData
    test: InteractionData
    item_vectors: np.ndarray | None
    protocol: Protocol = field(default_factory=Protocol)


def eval_context(spec: Mapping[str, Any]) -> EvalContext:
    """Rebuild the (train, test) split of a job from its spec, as the worker did."""
    from recolab.pipeline import item_features, split_from_spec
    from recolab.training import TrainConfig

    cfg = TrainConfig.from_dict(dict(spec.get("config") or {}))
    train, test = split_from_spec(dict(spec), cfg.seed)
    features = item_features(train, cfg.use_text, "cpu")
    return EvalContext(train, test, features.diversity, Protocol(exclude_seen=not cfg.repeat))


def metrics_at(
    model: Any, ctx: EvalContext, lam: float, weights: dict[str, float] | None = None
) -> dict[str, float]:
    """Every metric of the model at ``lam`` (and per-objective ``weights``, see
    :func:`recolab.pipeline.objective_lambdas`) on the job's test split (one forward pass)."""
    from recolab.pipeline import lambda_front

    row = lambda_front(
        model,
        ctx.train,
        ctx.test,
        [float(lam)],
        item_vectors=ctx.item_vectors,
        weights=weights,
        protocol=ctx.protocol,
    )
    out = row.iloc[0].drop(["model"]).to_dict()
    return {k: float(v) for k, v in out.items()}


@dataclass
class CutoffChoice:
    """The list length α chose (:func:`alpha_cutoff`).

    Attributes
    ----------
    k:
        k* when α chose one, else the list length kept.
    lam:
        λ of the validation curve it was chosen on (``None`` without a curve).
    curve:
        That curve (columns k, precision, recall, f1); empty without one.
    message:
        Why α chose nothing (α all zero, or no curve stored); ``None`` when it chose.
    """

    k: int
    lam: float | None
    curve: pd.DataFrame
    message: str | None = None


def cutoff_curves(config: Mapping[str, Any]) -> list[tuple[float, pd.DataFrame]]:
    """The validation curves over the list length a bundle stores, one (λ, curve) per λ
    (:func:`recolab.tuning.cutoff.curves_from`): read once, they serve every
    :func:`alpha_cutoff` of the model."""
    from recolab.tuning.cutoff import curves_from

    return curves_from(config.get("cutoffs"))


def alpha_cutoff(
    config: Mapping[str, Any],
    lam: float,
    alpha: Sequence[float],
    current_k: int,
    *,
    curves: Sequence[tuple[float, pd.DataFrame]] | None = None,
) -> CutoffChoice:
    """k* = the list length in 1 … 50 with the largest α1·P@k + α2·R@k + α3·F1@k on the
    validation curve stored nearest ``lam`` (:mod:`recolab.tuning.cutoff`). With α all zero,
    or no curve in the bundle, ``current_k`` is kept and ``message`` says why. ``curves``:
    the bundle's :func:`cutoff_curves`, when the caller has read them already."""
    from recolab.tuning.cutoff import best_cutoff, nearest_curve

    near = nearest_curve(cutoff_curves(config) if curves is None else curves, lam)
    if near is None:
        return CutoffChoice(
            current_k,
            None,
            pd.DataFrame(),
            "This model stores no validation curve over the list length (trained before "
            f"k* existed, or without a validation split): lists keep k = {current_k}.",
        )
    curve_lam, curve = near
    if not any(float(a) > 0 for a in alpha):
        return CutoffChoice(
            current_k,
            curve_lam,
            curve,
            f"α is all zero: there is nothing to weigh, so no list length is chosen; lists "
            f"keep k = {current_k}. Raise α1, α2 or α3.",
        )
    return CutoffChoice(best_cutoff(curve, alpha), curve_lam, curve)


#: Secondary objectives the constraint picker offers, when the validation front has them.
CONSTRAINT_OBJECTIVES = ("coverage@20", "novelty@20", "diversity@20", "revenue@20")


def validation_front(config: Mapping[str, Any]) -> pd.DataFrame:
    """The default mechanism's front measured on validation (one row per λ; empty for a
    model without one, e.g. the λ-conditioned network)."""
    selection = config.get("selection") or {}
    for mechanism in selection.get("mechanisms") or []:
        if mechanism.get("name") == selection.get("mechanism"):
            return pd.DataFrame(list(mechanism.get("front") or []))
    return pd.DataFrame()


def constraint_objectives(front: pd.DataFrame) -> list[str]:
    """The objectives of :data:`CONSTRAINT_OBJECTIVES` the validation front measured."""
    return [
        c
        for c in CONSTRAINT_OBJECTIVES
        if c in front.columns and pd.to_numeric(front[c], errors="coerce").notna().any()
    ]


def constrained_lambda(
    front: pd.DataFrame, objective: str, max_loss_pct: float
) -> dict[str, float]:
    """The λ of the validation front with the most ``objective`` at an ndcg@10 loss of at
    most ``max_loss_pct`` % of the front's best (:func:`recolab.pareto.best_within_loss`),
    with its ndcg@10, the loss and the objective's value."""
    from recolab.pareto import best_within_loss

    label = best_within_loss(front, objective, max_loss=float(max_loss_pct) / 100.0)
    row = front.loc[label]
    best = float(pd.to_numeric(front["ndcg@10"], errors="coerce").max())
    return {
        "lam": float(row["lam"]),
        "ndcg@10": float(row["ndcg@10"]),
        "loss_pct": 100.0 * (best - float(row["ndcg@10"])) / best if best else 0.0,
        objective: float(row[objective]),
    }


def mechanism_table(config: Mapping[str, Any]) -> pd.DataFrame:
    """Every trade-off mechanism measured on validation for a tuned bundle (empty for other
    models): its λ range, its most accurate λ (the one served by default), candidates and
    hypervolumes, the default mechanism first."""
    selection = config.get("selection") or {}
    chosen = selection.get("mechanism")
    rows = [
        {
            "mechanism": m["name"] + (" (default)" if m["name"] == chosen else ""),
            "serves": m["objective"],
            "λ range": f"0 – {m['lambda_range'][1]:.3g}",
            "most accurate λ": m.get("lambda_default", 0.0),
            "candidates": m.get("n_candidates"),
            "HV ndcg@10 × coverage@20": m["hypervolumes"].get("ndcg@10|coverage@20"),
            "HV ndcg@10 × novelty@20": m["hypervolumes"].get("ndcg@10|novelty@20"),
        }
        for m in selection.get("mechanisms") or []
    ]
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values("mechanism", key=lambda c: ~c.str.endswith("(default)"), kind="stable")


def sparsity_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """The sparsity curve of a job's ``result.json`` (empty when absent)."""
    return pd.DataFrame(list(result.get("sparsity_curve") or []))


def objective_sliders(loaded: Any) -> list[tuple[str, float, float]]:
    """(objective, trained weight, largest weight the model was trained for) per objective
    the model is conditioned on: the range of each live weight slider."""
    from recolab.training import MULTIPLIER_HIGH

    names = loaded.config.get("conditioned_objectives") or []
    weights = loaded.config.get("objective_weights") or []
    return [(n, float(w), float(w) * MULTIPLIER_HIGH) for n, w in zip(names, weights, strict=True)]


def objective_lambdas(lam: float, weights: Mapping[str, float] | None) -> Any:
    """See :func:`recolab.pipeline.objective_lambdas` (re-exported for the pages)."""
    from recolab.pipeline import objective_lambdas as _objective_lambdas

    return _objective_lambdas(lam, dict(weights) if weights else None)
