"""Trade-offs page: move λ and α, see metrics, the Pareto front and example lists at once.

Everything that follows λ and α lives in one ``st.fragment``, so moving a slider reruns
only that part. Its inputs that do not depend on λ (the job's fronts and result) are cached
per job, and the metrics come from the validation front measured at 101 λ at the end of
training (:mod:`recolab.tradeoffs`), read at the exact λ; a job without one (the
λ-conditioned network, an older job) is evaluated on its test split at each move.
"""

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import streamlit as st

from pages import common
from recolab import live_charts, plots, studio, tradeoffs

#: Width of one metric card (px): "0.312", "9.1 MB" or "93.7 s" fit; cards wrap to the
#: next line instead of shrinking, so none is cut at 1024 px.
CARD_WIDTH = 145
#: Height of the front beside the sliders, so that it stays above the fold at 1440×900.
PLOT_HEIGHT = 320
#: Cards that move with λ (the rest, sparsity, size and train time, go below the front).
MOVING_CARDS = 7


def _use_lam(value: float) -> None:
    """Button callback: move the λ slider (before it is drawn on the rerun)."""
    st.session_state["lam_slider"] = value


@st.cache_resource(show_spinner=False, max_entries=8)
def _view(root: str, job_id: str, mtime: float, _config: Any) -> tradeoffs.TradeoffView:
    """The λ-independent context of a job (cached per job and bundle version)."""
    curve, refs = studio.front_frames(_config)
    view = tradeoffs.tradeoff_view(studio.job_result(Path(root), job_id), curve, refs)
    return dataclasses.replace(view, key=f"{job_id}:{mtime}")


@st.cache_data(show_spinner=False, max_entries=8)
def _static_cards(root: str, job_id: str, mtime: float, sparsity: float | None) -> dict:
    """Sparsity, size and train time of a job (they do not move with λ)."""
    del mtime
    result = studio.job_result(Path(root), job_id)
    size = result.get("model_bytes") or studio.bundle_path(Path(root), job_id).stat().st_size
    wall = studio.job_wall_seconds(Path(root), job_id) or result.get("train_seconds")
    return {"sparsity": sparsity, "size_bytes": size, "train_seconds": wall}


@st.cache_resource(show_spinner=False, max_entries=8)
def _cutoff_curves(job_key: str, _config: Any) -> list:
    """The job's validation curves over the list length, read once per job and bundle."""
    del job_key  # the cache's key
    return studio.cutoff_curves(_config)


def _controls(
    loaded: Any, view: tradeoffs.TradeoffView
) -> tuple[float, int, dict[str, float], studio.CutoffChoice]:
    """λ, k, the objective weights and α, with the list length α picks."""
    lo, hi = loaded.lambda_range
    # seeded once (from the λ chosen before, or the served one) and kept in the model's
    # range: a default that moved with every run would give the slider a new identity and
    # reset it in the fragment
    start = st.session_state.get("lam_slider", st.session_state.get("chosen_lam"))
    if start is None:
        start = loaded.default_lam
    if "lam_slider" not in st.session_state or not lo <= start <= hi:
        st.session_state["lam_slider"] = float(min(max(start, lo), hi))
    lam = st.slider(
        "λ (weight of the secondary objectives against accuracy)",
        min_value=float(lo),
        max_value=float(hi),
        step=float((hi - lo) / 200) or 0.01,
        format="%.3f",
        key="lam_slider",
    )
    k = st.radio("Cut-off k", [10, 20], index=1, horizontal=True, key="k_radio")
    # one live slider per secondary objective: the model was trained for each weight on its own
    weights = {
        name: st.slider(
            f"{name} weight",
            0.0,
            top,
            trained,
            top / 40 or 0.01,
            key=f"weight_{name}",
            help=f"trained weight {trained:g}; λ_{name} = λ × this weight",
        )
        for name, trained, top in studio.objective_sliders(loaded)
    }
    alpha = (
        st.slider("α1 (precision)", 0.0, 1.0, 0.0, 0.05, key="alpha1"),
        st.slider("α2 (recall)", 0.0, 1.0, 0.0, 0.05, key="alpha2"),
        st.slider("α3 (F1)", 0.0, 1.0, 1.0, 0.05, key="alpha3"),
    )
    # α trades precision for recall along the list length k*, chosen on validation
    current_k = int(st.session_state.get("chosen_k", loaded.default_k))
    curves = _cutoff_curves(view.key, loaded.config)
    choice = studio.alpha_cutoff(loaded.config, lam, alpha, current_k, curves=curves)
    if choice.message:
        st.info(choice.message)
    else:
        at = choice.curve.iloc[choice.k - 1]
        st.markdown(
            f"α picks the list length **k\\* = {choice.k}** (validation: P {at['precision']:.3f}"
            f", R {at['recall']:.3f}, F1 {at['f1']:.3f})"
        )
    st.session_state["chosen_lam"] = float(lam)
    st.session_state["chosen_alpha"] = alpha
    st.session_state["chosen_k"] = choice.k
    return float(lam), int(k), weights, choice


def _metrics(
    job_id: str, loaded: Any, view: tradeoffs.TradeoffView, lam: float, weights: dict
) -> tuple[dict[str, float], dict[str, float] | None]:
    """The metrics at λ and the baseline the deltas compare with: read off the validation
    front when there is one, else evaluated on the test split."""
    if not view.fine.empty and not weights:
        return tradeoffs.metrics_at_lam(view.fine, lam), tradeoffs.baseline_row(view.fine)
    ctx = common.eval_context_for_job(job_id)
    baseline = view.curve.iloc[0].to_dict() if not view.curve.empty else None
    return studio.metrics_at(loaded.model, ctx, lam, weights or None), baseline


def _cards(
    job_id: str, loaded: Any, metrics: dict, k: int, baseline: dict | None
) -> list[tuple[str, str, str | None]]:
    """Draw the cards that move with λ; return the others (drawn by :func:`_card_row`)."""
    sparsity = (
        loaded.config.get("sparsity") if "sparsity" in loaded.config else loaded.model.sparsity()
    )
    path = studio.bundle_path(common.root(), job_id)
    static = _static_cards(str(common.root()), job_id, path.stat().st_mtime, sparsity)
    cards = studio.metric_cards(metrics, k, baseline=baseline, **static)
    _card_row(cards[:MOVING_CARDS], "metric_cards")
    return cards[MOVING_CARDS:]


def _card_row(cards: list[tuple[str, str, str | None]], key: str) -> None:
    """Cards of a fixed width that wrap onto the next line when the column is narrow."""
    with st.container(horizontal=True, wrap=True, gap="small", key=key):
        for label, value, delta in cards:
            st.metric(
                label,
                value,
                delta,
                delta_color="off",
                border=True,
                width=CARD_WIDTH,
                help="change against the smallest λ" if delta else None,
            )


def _x_axis(view: tradeoffs.TradeoffView, k: int) -> str:
    """The objective on the front's x axis (those the front measured)."""
    front = view.front
    options = [f"coverage@{k}", f"novelty@{k}", f"diversity@{k}", f"exposure_equality@{k}"]
    options += [f"revenue@{k}"] if f"revenue@{k}" in front.columns else []
    options = [o for o in options if o in front.columns and front[o].notna().any()] or options
    return str(st.selectbox("Front: x axis", options, key="front_x"))


def _as_arrow(spec: dict) -> dict:
    """``spec`` with its table datasets as Arrow tables, which Streamlit sends as they are:
    converted once per chart instead of from pandas at every slider move."""
    datasets = {
        name: pa.Table.from_pandas(data) if isinstance(data, pd.DataFrame) else data
        for name, data in spec.get("datasets", {}).items()
    }
    return {**spec, "datasets": datasets}


def _live_chart(name: str, key: tuple, build: Callable[[], dict], lam: float) -> dict:
    """This session's chart ``name`` at ``lam``, built again only when ``key`` (all it shows
    but λ) changes; a slider move then only replaces its current-λ dataset."""
    kept = st.session_state.setdefault("tradeoff_charts", {})
    if name not in kept or kept[name][0] != key:
        spec = build()
        kept[name] = (key, spec, _as_arrow(spec))
    _, spec, shipped = kept[name]
    now = live_charts.with_current_lam(spec, lam)["datasets"]["now"]
    return {**shipped, "datasets": {**shipped["datasets"], "now": now}}


def _front(view: tradeoffs.TradeoffView, lam: float, k: int, x_axis: str) -> None:
    with common.guard("Drawing the Pareto front"):
        spec = _live_chart(
            "pareto",
            (view.key, x_axis, k),
            lambda: live_charts.front_chart(
                view.front,
                x=x_axis,
                y=f"recall@{k}",
                current_lam=lam,
                references=None if view.source == "validation" or view.refs.empty else view.refs,
                title=f"Front on {view.source} ({len(view.front)} λ)",
                height=PLOT_HEIGHT,
            ),
            lam,
        )
        st.vega_lite_chart(spec, width="stretch", key="pareto")


@st.cache_resource(show_spinner=False, max_entries=64)
def _cutoff_chart(
    job_key: str, lam: float | None, k_star: int | None, _curve: Any, _config: Any
) -> dict:
    """The precision–recall curve over k: it changes only when α moves k* or λ moves to
    another stored curve, so it is built once per (job, curve, k*), not at every move."""
    del lam  # the cache's key: the curve is that of the job's stored λ nearest the slider's
    # one box for all the job's curves and λ left to a caption: another curve changes data only
    bounds = live_charts.cutoff_bounds(c for _, c in _cutoff_curves(job_key, _config))
    spec = live_charts.cutoff_chart(
        _curve, k_star, bounds=bounds, title="Precision vs recall over k"
    )
    return _as_arrow(spec)


def _lower(
    loaded: Any, view: tradeoffs.TradeoffView, lam: float, k: int, choice: studio.CutoffChoice
) -> None:
    """Metrics against λ and the precision–recall curve over k, side by side."""
    front = view.front
    left, right = st.columns(2)
    with left, common.guard("Drawing metrics against λ"):
        wanted = [f"precision@{k}", f"recall@{k}", f"coverage@{k}", f"novelty@{k}", "sparsity"]
        shown = [m for m in wanted if m in front.columns and front[m].notna().any()]
        spec = _live_chart(
            "vs_lambda",
            (view.key, tuple(shown)),
            lambda: live_charts.metrics_vs_lambda_chart(
                front, shown, current_lam=lam, title=f"Metrics against λ ({view.source})"
            ),
            lam,
        )
        st.vega_lite_chart(spec, width="stretch", key="vs_lambda")
    with right:
        if choice.curve.empty:
            st.caption("No validation curve over the list length for this model.")
        else:
            with common.guard("Drawing the precision–recall curve over k"):
                k_star = None if choice.message else choice.k
                st.vega_lite_chart(
                    _cutoff_chart(view.key, choice.lam, k_star, choice.curve, loaded.config),
                    width="stretch",
                    key="cutoff_curve",
                )
                st.caption(
                    f"Validation, at λ = {choice.lam:.3g}: of the λ this curve was stored "
                    "at, the nearest to the slider's."
                )


def _example_list(loaded: Any, lam: float, weights: dict, k_star: int) -> None:
    st.markdown(f"**Example list at λ = {lam:.3f}, k\\* = {k_star}**")
    user = st.selectbox("User", studio.user_ids(loaded, limit=2000), key="tradeoff_user")
    with common.guard("Recommending"):
        recs = studio.recommendations(
            loaded,
            studio.objective_lambdas(lam, weights or None),
            k=k_star,
            user_id=user,
            n_reasons=1,
        )
        st.html(studio.list_html(recs))
        st.caption(studio.because_caption(loaded))


@st.fragment
def tradeoff_panel(job_id: str, loaded: Any, view: tradeoffs.TradeoffView) -> None:
    """Sliders, cards, front, curves and the example list: reruns alone when λ/α move."""
    controls, shown = st.columns([1, 2.5], gap="medium")
    with controls:
        lam, k, weights, choice = _controls(loaded, view)
        x_axis = _x_axis(view, k)
    with shown:
        metrics, baseline = {}, None
        with common.guard("Evaluating at this λ"):
            metrics, baseline = _metrics(job_id, loaded, view, lam, weights)
        rest = _cards(job_id, loaded, metrics, k, baseline)
        _front(view, lam, k, x_axis)
        _card_row(rest, "static_cards")
        if view.source == "validation":
            st.caption(
                f"Cards and plots: the validation split, measured at {len(view.fine)} λ at the "
                "end of training and read at the exact λ; the test front with peers is below."
            )
    _lower(loaded, view, lam, k, choice)
    _example_list(loaded, lam, weights, choice.k)


def _constraint_picker(loaded: Any) -> None:
    st.markdown("**Most of an objective for a bounded accuracy loss** (validation front)")
    vfront = studio.validation_front(loaded.config)
    objectives = studio.constraint_objectives(vfront)
    if not objectives:
        st.caption("This model stores no validation front over λ to choose from.")
        return
    lo, hi = loaded.lambda_range
    target = st.selectbox("Maximise", objectives, key="constraint_objective")
    max_loss = st.slider(
        "…at an ndcg@10 loss of at most (%)", 0.0, 20.0, 5.0, 0.5, key="constraint_loss"
    )
    with common.guard("Choosing λ under the constraint"):
        pick = studio.constrained_lambda(vfront, target, max_loss)
        st.markdown(
            f"**λ = {pick['lam']:.3f}**: {target} {pick[target]:.4f}, ndcg@10 "
            f"{pick['ndcg@10']:.4f} ({pick['loss_pct']:.1f} % below the front's best)"
        )
        st.button(
            "Use this λ",
            key="use_constraint_lam",
            on_click=_use_lam,
            args=(float(min(max(pick["lam"], lo), hi)),),
        )


def _details(loaded: Any, view: tradeoffs.TradeoffView, k: int) -> None:
    """What does not move with λ: the constraint picker, the mechanisms, the test front."""
    left, right = st.columns(2)
    with left:
        _constraint_picker(loaded)
    with right:
        mechanisms = studio.mechanism_table(loaded.config)
        if not mechanisms.empty:
            st.markdown("**Trade-off mechanisms, measured on validation**")
            st.dataframe(mechanisms, hide_index=True, width="stretch", key="mechanisms")
            st.caption(
                "The default has the largest hypervolume of (ndcg@10, coverage@20) on the "
                "validation split; λ ranges end where validation ndcg@10 has fallen 20 %."
            )
        table = studio.sparsity_table(view.result)
        if not table.empty:
            with common.guard("Drawing the sparsity curve"):
                st.plotly_chart(
                    plots.sparsity_curve_figure(
                        table, y=f"recall@{k}", title="Accuracy vs pruning"
                    ),
                    width="stretch",
                    key="sparsity",
                )
    if view.source == "validation" and not view.curve.empty:
        title = f"Test front with peers ({len(view.curve)} λ, measured once)"
        with st.expander(title), common.guard("Drawing the test front"):
            st.plotly_chart(
                plots.pareto_figure(
                    view.curve,
                    x=f"coverage@{k}",
                    y=f"recall@{k}",
                    references=view.refs if not view.refs.empty else None,
                    title="Front on test",
                ),
                width="stretch",
                key="test_front",
            )


st.title("Trade-offs")
job, model, _ = common.finished_model(with_split=False)
bundle = studio.bundle_path(common.root(), job)
context = _view(str(common.root()), job, bundle.stat().st_mtime, model.config)
tradeoff_panel(job, model, context)
_details(model, context, int(st.session_state.get("k_radio", 20)))
