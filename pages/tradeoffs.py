"""Trade-offs page: move λ and α, see metrics, the Pareto front and example lists at once."""

import streamlit as st

from pages import common
from recolab import plots, studio


def _use_lam(value: float) -> None:
    """Button callback: move the λ slider (before it is drawn on the rerun)."""
    st.session_state["lam_slider"] = value


st.title("Trade-offs")
root = common.root()

job_id, loaded, ctx = common.finished_model()

lo, hi = loaded.lambda_range
result = studio.job_result(root, job_id)
curve, refs = studio.front_frames(loaded.config)

s1, s2 = st.columns([2, 1])
with s1:
    lam = st.slider(
        "λ (weight of the secondary objectives against accuracy)",
        min_value=float(lo),
        max_value=float(hi),
        value=float(min(max(st.session_state.get("chosen_lam", loaded.default_lam), lo), hi)),
        step=float((hi - lo) / 100) or 0.01,
        format="%.3f",
        key="lam_slider",
    )
    k = st.radio("Cut-off k", [10, 20], index=1, horizontal=True, key="k_radio")
    # one live slider per secondary objective: the model was trained for each weight on its own
    weights = {}
    sliders = studio.objective_sliders(loaded)
    for col, (name, trained, top) in zip(st.columns(max(len(sliders), 1)), sliders, strict=False):
        weights[name] = col.slider(
            f"{name} weight",
            0.0,
            top,
            trained,
            top / 40 or 0.01,
            key=f"weight_{name}",
            help=f"trained weight {trained:g}; λ_{name} = λ × this weight",
        )
with s2:
    a1 = st.slider("α1 (precision)", 0.0, 1.0, 0.0, 0.05, key="alpha1")
    a2 = st.slider("α2 (recall)", 0.0, 1.0, 0.0, 0.05, key="alpha2")
    a3 = st.slider("α3 (F1)", 0.0, 1.0, 1.0, 0.05, key="alpha3")
    alpha = (a1, a2, a3)
    # α trades precision for recall along the list length k*, chosen on validation
    choice = studio.alpha_cutoff(
        loaded.config, lam, alpha, int(st.session_state.get("chosen_k", loaded.default_k))
    )
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

metrics = {}
with common.guard("Evaluating at this λ"):
    metrics = studio.metrics_at(loaded.model, ctx, lam, weights or None)
baseline = curve.iloc[0].to_dict() if not curve.empty else None
cards = studio.metric_cards(
    metrics,
    k,
    sparsity=loaded.config.get("sparsity")
    if "sparsity" in loaded.config
    else loaded.model.sparsity(),
    size_bytes=result.get("model_bytes") or studio.bundle_path(root, job_id).stat().st_size,
    train_seconds=studio.job_wall_seconds(root, job_id) or loaded.config.get("train_seconds"),
    baseline=baseline,
)
for row in range(0, len(cards), 5):
    cols = st.columns(5)
    for col, (label, value, delta) in zip(cols, cards[row : row + 5], strict=False):
        col.metric(label, value, delta, delta_color="off")

left, right = st.columns(2)
with left:
    x_axis = st.selectbox(
        "Front: x axis",
        [f"coverage@{k}", f"novelty@{k}", f"diversity@{k}", f"exposure_equality@{k}"]
        + ([f"revenue@{k}"] if f"revenue@{k}" in curve.columns else []),
        key="front_x",
    )
    with common.guard("Drawing the Pareto front"):
        st.plotly_chart(
            plots.pareto_figure(
                curve,
                x=x_axis,
                y=f"recall@{k}",
                current_lam=lam,
                references=refs if not refs.empty else None,
            ),
            width="stretch",
            key="pareto",
        )
with right, common.guard("Drawing metrics against λ"):
    wanted = [f"precision@{k}", f"recall@{k}", f"coverage@{k}", f"novelty@{k}", "sparsity"]
    shown = [m for m in wanted if m in curve.columns]
    st.plotly_chart(
        plots.metrics_vs_lambda_figure(curve, shown, current_lam=lam),
        width="stretch",
        key="vs_lambda",
    )

left, right = st.columns(2)
with left:
    if choice.curve.empty:
        st.caption("No validation curve over the list length for this model.")
    else:
        with common.guard("Drawing the precision–recall curve over k"):
            st.plotly_chart(
                plots.cutoff_curve_figure(
                    choice.curve,
                    None if choice.message else choice.k,
                    title=f"Precision vs recall over k (validation, λ = {choice.lam:.3g})",
                ),
                width="stretch",
                key="cutoff_curve",
            )
with right:
    st.markdown("**Most of an objective for a bounded accuracy loss** (validation front)")
    vfront = studio.validation_front(loaded.config)
    objectives = studio.constraint_objectives(vfront)
    if not objectives:
        st.caption("This model stores no validation front over λ to choose from.")
    else:
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

left, right = st.columns(2)
with left:
    st.markdown(f"**Example list at λ = {lam:.3f}, k\\* = {choice.k}**")
    users = studio.user_ids(loaded, limit=2000)
    user = st.selectbox("User", users, key="tradeoff_user")
    with common.guard("Recommending"):
        recs = studio.recommendations(
            loaded,
            studio.objective_lambdas(lam, weights or None),
            k=choice.k,
            user_id=user,
            n_reasons=1,
        )
        st.table(recs.set_index("rank"))
with right:
    mechanisms = studio.mechanism_table(loaded.config)
    if not mechanisms.empty:
        st.markdown("**Trade-off mechanisms, measured on validation**")
        st.dataframe(mechanisms, hide_index=True, width="stretch", key="mechanisms")
        st.caption(
            "The default has the largest hypervolume of (ndcg@10, coverage@20) on the "
            "validation split; λ ranges end where validation ndcg@10 has fallen 20 %."
        )
    table = studio.sparsity_table(result)
    if table.empty and mechanisms.empty:
        st.caption("No sparsity curve stored for this job.")
    elif not table.empty:
        with common.guard("Drawing the sparsity curve"):
            st.plotly_chart(
                plots.sparsity_curve_figure(table, y=f"recall@{k}", title="Accuracy vs pruning"),
                width="stretch",
                key="sparsity",
            )
