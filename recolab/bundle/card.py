"""The model card: what a bundle says about itself, in markdown.

Every bundle carries one as ``MODEL_CARD.md``: :func:`recolab.bundle.export_bundle` writes
it from the bundle's own ``config.json``, and the dashboard's export writes its own with the
analyst's α, job and data set. It names the model, the validation split every choice was
made on, the options chosen, the metrics at the chosen λ, where that point sits on the
stored front, the references and the evaluation protocol.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

#: The member of a bundle that holds its model card.
CARD_MEMBER = "MODEL_CARD.md"

#: The metrics a card shows (the model card, the Trade-offs page's cards): (label, column
#: template), ``{k}`` the cut-off.
CARD_METRICS = (
    ("Precision", "precision@{k}"),
    ("Recall", "recall@{k}"),
    ("F1", "f1@{k}"),
    ("NDCG", "ndcg@{k}"),
    ("Coverage", "coverage@{k}"),
    ("Novelty", "novelty@{k}"),
    ("Diversity", "diversity@{k}"),
)


def format_value(value: float | None) -> str:
    """A metric with 4 decimals; ``"–"`` for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.4f}"


def format_bytes(n: int | float | None) -> str:
    """``1536`` → ``"1.5 KB"``; whole units from 100 on (``"275 KB"``), so that a size is
    at most four digits wide on a metric card."""
    if n is None:
        return "–"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            whole = unit == "B" or size >= 100
            return f"{size:.0f} {unit}" if whole else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover


def front_frames(config: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The λ curve (rows of model ``recolab``) and the references of a bundle's front."""
    front = pd.DataFrame(list(config.get("front") or []))
    if front.empty or "model" not in front.columns:
        return pd.DataFrame(), pd.DataFrame()
    curve = front[front["model"] == "recolab"].reset_index(drop=True)
    refs = front[front["model"] != "recolab"].reset_index(drop=True)
    curve["lam"] = pd.to_numeric(curve["lam"], errors="coerce")
    return curve, refs


def pareto_position(
    curve: pd.DataFrame,
    lam: float,
    metrics: Mapping[str, float],
    x: str = "coverage@20",
    y: str = "recall@20",
) -> dict[str, Any]:
    """Where the chosen λ sits among the evaluated λ points (both objectives maximised).

    Returns
    -------
    dict
        ``on_front`` (the chosen point is not dominated by any evaluated λ), ``dominated_by``
        (how many λ points beat it on both), ``n_points``, the objectives and their values.
    """
    from recolab.pareto import front_table

    out: dict[str, Any] = {"x": x, "y": y, "lam": float(lam)}
    out["x_value"], out["y_value"] = metrics.get(x), metrics.get(y)
    if curve.empty or x not in curve.columns or y not in curve.columns:
        out.update(on_front=None, dominated_by=None, n_points=0)
        return out
    table = pd.concat(
        [curve[[x, y]], pd.DataFrame([{x: metrics.get(x), y: metrics.get(y)}])],
        ignore_index=True,
    )
    ranked = front_table(table, {x: True, y: True})
    mine = table.iloc[-1]
    others = table.iloc[:-1]
    beats = (
        (others[x] >= mine[x])
        & (others[y] >= mine[y])
        & ((others[x] > mine[x]) | (others[y] > mine[y]))
    )
    out.update(
        on_front=bool(ranked["on_front"].iloc[-1]),
        dominated_by=int(beats.sum()),
        n_points=len(others),
    )
    return out


def model_card(
    config: Mapping[str, Any],
    lam: float,
    metrics: Mapping[str, float],
    *,
    alpha: Sequence[float] = (0.0, 0.0, 1.0),
    position: Mapping[str, Any] | None = None,
    job_id: str | None = None,
    dataset: str | None = None,
    size_bytes: int | None = None,
    k: int = 20,
    k_star: int | None = None,
) -> str:
    """A model card in markdown: data, training config, objectives, metrics at the chosen λ,
    position on the Pareto front, references and the evaluation protocol. ``k_star`` is the
    list length α chose on validation (the bundle's default ``k``); ``size_bytes`` the
    bundle's size when known (a card written into its own bundle has none)."""
    cfg = config
    tc = cfg.get("train_config") or _selection_options(cfg)
    lines = [
        "# recolab model card",
        "",
        f"- **Model**: {_model_line(cfg)}",
        f"- **Chosen λ**: {lam:.4g}  ·  **α** (P, R, F1): {tuple(round(a, 3) for a in alpha)}",
        "- **List length k\\***: "
        + (
            f"{k_star} (α's choice on validation; `recommend` serves it unless asked for k)"
            if k_star is not None
            else "not chosen (α chooses it in the dashboard's export); `recommend` serves 10"
        ),
        "- **Repeat purchases**: "
        + (
            "yes (consumables): each user's own items stay among the candidates; "
            "`recommend` keeps them unless asked (`--exclude-seen`)"
            if cfg.get("repeat")
            else "no: each user's own items are left out of their lists"
        ),
    ]
    if job_id:
        lines.append(f"- **Job**: `{job_id}`")
    if dataset:
        lines.append(f"- **Data**: {dataset}")
    dims = cfg.get("dimensions", {})
    shape = f"{dims.get('n_users')} × {dims.get('n_items')}"
    if cfg.get("model_type") == "linear-rerank":
        shape += f", item × item weights; {cfg.get('n_candidates')} candidates re-ranked"
    else:
        shape += (
            f", dim {dims.get('dim')}, text dim {dims.get('text_dim')}, "
            f"item-item memory {dims.get('item_item')}"
        )
    lines += [
        f"- **Users × items**: {shape}",
        f"- **Text model**: {cfg.get('text_model') or 'none (collaborative signal only)'}",
        f"- **Written**: {cfg.get('created')}" + _training_line(cfg),
        f"- **Sparsity**: {float(cfg.get('sparsity') or 0):.1%}"
        + (f"  ·  **Size**: {format_bytes(size_bytes)}" if size_bytes is not None else ""),
    ]
    lines += _update_lines(cfg.get("updates") or [])
    lines += _metrics_lines(metrics, lam, k)
    if position:
        lines += _position_lines(position)
    lines += _reference_lines(cfg, k)
    lines += ["", "## Training configuration", "", "| option | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in tc.items()]
    protocol = cfg.get("protocol") or {}
    if protocol:
        lines += ["", "## Evaluation protocol", ""]
        lines += [f"- {key}: {value}" for key, value in protocol.items()]
    lines.append("")
    return "\n".join(lines)


def _training_line(cfg: Mapping[str, Any]) -> str:
    """Where and how long the model trained, when the bundle says (an update rewrites the
    bundle, not the training)."""
    where = f" on {cfg['device']}" if cfg.get("device") else ""
    took = f" in {float(cfg['train_seconds']):.1f} s" if cfg.get("train_seconds") else ""
    return f"  ·  **Trained**{where}{took}" if where or took else ""


def _update_lines(updates: Sequence[Mapping[str, Any]]) -> list[str]:
    """What the incremental updates since training added (:mod:`recolab.update`): the
    metrics and front below were measured before them."""
    if not updates:
        return []
    pairs = sum(int(u.get("pairs_added") or 0) for u in updates)
    users = sum(int(u.get("new_users") or 0) for u in updates)
    items = sum(int(u.get("new_items") or 0) for u in updates)
    return [
        f"- **Updated**: {len(updates)} incremental update(s) since training, the latest at "
        f"{updates[-1].get('at')}: {pairs:,} user-item pairs added, {users:,} new users, "
        f"{items:,} new items. The metrics and front below were measured before them."
    ]


def _metrics_lines(metrics: Mapping[str, float], lam: float, k: int) -> list[str]:
    """The card's table of metrics at the chosen λ (a line saying so when none are stored)."""
    lines = ["", f"## Metrics at λ = {lam:.4g} (k = {k})", ""]
    if not metrics:
        return [*lines, "None stored: the model was exported without a test set."]
    lines += ["| metric | value |", "|---|---|"]
    for label, template in CARD_METRICS:
        col = template.format(k=k)
        lines.append(f"| {label}@{k} | {format_value(metrics.get(col))} |")
    for col in (f"hit_rate@{k}", f"exposure_equality@{k}"):
        if col in metrics:
            lines.append(f"| {col} | {format_value(metrics.get(col))} |")
    return lines


def _position_lines(position: Mapping[str, Any]) -> list[str]:
    """Where the chosen point sits on the stored front."""
    lines = ["", "## Pareto position", ""]
    if position.get("on_front") is None:
        return [*lines, "No front stored in the bundle."]
    verdict = (
        "on the front"
        if position["on_front"]
        else f"dominated by {position['dominated_by']} of {position['n_points']} λ points"
    )
    return [
        *lines,
        f"On {position['y']} vs {position['x']} (both maximised) over the evaluated λ "
        f"grid, the chosen point is **{verdict}**.",
    ]


def _reference_lines(cfg: Mapping[str, Any], k: int) -> list[str]:
    """The reference models measured on the same split (none when the bundle has none)."""
    _curve, refs = front_frames(cfg)
    if refs.empty:
        return []
    lines = ["", "## References (same split)", "", f"| model | recall@{k} | coverage@{k} |"]
    lines.append("|---|---|---|")
    for _, r in refs.iterrows():
        recall, coverage = r.get(f"recall@{k}"), r.get(f"coverage@{k}")
        lines.append(f"| {r['model']} | {format_value(recall)} | {format_value(coverage)} |")
    return lines


def _model_line(cfg: Mapping[str, Any]) -> str:
    """What kind of model a bundle holds, in one line."""
    if cfg.get("model_type") == "linear-rerank":
        mechanism = (cfg.get("mechanism") or {}).get("name")
        return (
            f"linear autoencoder tuned on validation + serve-time re-ranker **{mechanism}** "
            f"(λ range {cfg.get('lambda_range')}, calibrated on validation)"
        )
    return (
        "weighted-objective recommender (one network conditioned on λ, "
        f"range {cfg.get('lambda_range')})"
    )


def _selection_options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The options a tuned bundle was chosen with: validation, base and mechanism."""
    selection = cfg.get("selection") or {}
    out: dict[str, Any] = {"validation": selection.get("validation")}
    out.update((cfg.get("base") or {}).get("params") or {})
    members = (cfg.get("base") or {}).get("members")
    out["trials averaged"] = len(members) if members else 1
    if (cfg.get("base") or {}).get("solver") == "dual":  # fewer users than items
        out["solved"] = "in dual form: a users × users system, the same weights"
    head = (selection.get("base") or {}).get("study_items")
    if head:  # a wide catalogue: the study's trials ran on its head
        out["trials fitted on"] = f"the {head:,} items with the most interactions"
    near = (selection.get("base") or {}).get("neighbours")
    if near:  # the sparse base of a wide catalogue: neighbours per item, chosen on validation
        tried = ", ".join(f"{m}: {v:.4f}" for m, v in near["validation_scores"].items())
        out["neighbours per item"] = f"{near['neighbours']} (validation scores {tried})"
    repeat = (selection.get("base") or {}).get("repeat")
    if repeat:  # repeat purchases: the users' own items' weight, chosen on validation
        out["own-item weight"] = (
            f"{repeat['weight']:.4g} per purchase ({repeat['multiple']:g} × the spread of a "
            "user's scores, chosen on validation)"
        )
    out["mechanism"] = (cfg.get("mechanism") or {}).get("name")
    out["candidates"] = cfg.get("n_candidates")
    for front in selection.get("mechanisms") or []:
        hv = front.get("hypervolumes", {}).get("ndcg@10|coverage@20")
        out[f"validation hypervolume ({front['name']})"] = None if hv is None else round(hv, 4)
    return out


def card_of(config: Mapping[str, Any]) -> str:
    """The model card a bundle carries when its exporter gave none: the chosen λ, α and k
    from ``objectives``, the metrics stored with them and their place on the stored front."""
    objectives = config.get("objectives") or {}
    lam = float(objectives.get("lam") or 0.0)
    metrics = config.get("metrics") or {}
    curve, _ = front_frames(config)
    return model_card(
        config,
        lam,
        metrics,
        alpha=tuple(objectives.get("alpha") or (0.0, 0.0, 1.0)),
        position=pareto_position(curve, lam, metrics) if not curve.empty else None,
        k_star=objectives.get("k"),
    )
