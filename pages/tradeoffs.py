"""Trade-offs page: move λ and α, see metrics, the Pareto front and example lists at once."""

import streamlit as st

from pages import common
from recolab import plots, studio

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
    a2 = st.slider("α2 (recall)", 0.0, 1.0, 1.0, 0.05, key="alpha2")
    a3 = st.slider("α3 (F1)", 0.0, 1.0, 0.0, 0.05, key="alpha3")
alpha = (a1, a2, a3)
st.session_state["chosen_lam"] = float(lam)
st.session_state["chosen_alpha"] = alpha

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
    train_seconds=loaded.config.get("train_seconds"),
    baseline=baseline,
)
for row in range(0, len(cards), 5):
    cols = st.columns(5)
    for col, (label, value, delta) in zip(cols, cards[row : row + 5], strict=False):
        col.metric(label, value, delta, delta_color="off")

alpha_lam = None
with common.guard("Choosing the point by α"):
    alpha_lam = studio.alpha_lambda(curve, alpha, k)
if alpha_lam is not None:
    st.caption(
        f"α = ({a1:.2f}, {a2:.2f}, {a3:.2f}) picks **λ = {alpha_lam:.3f}** on the evaluated grid."
    )

left, right = st.columns(2)
with left:
    x_axis = st.selectbox(
        "Front: x axis",
        [f"coverage@{k}", f"novelty@{k}", f"diversity@{k}", f"exposure_equality@{k}"],
        key="front_x",
    )
    with common.guard("Drawing the Pareto front"):
        st.plotly_chart(
            plots.pareto_figure(
                curve,
                x=x_axis,
                y=f"recall@{k}",
                current_lam=lam,
                selected_lam=alpha_lam,
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
    st.markdown(f"**Example list at λ = {lam:.3f}**")
    users = studio.user_ids(loaded, limit=2000)
    user = st.selectbox("User", users, key="tradeoff_user")
    with common.guard("Recommending"):
        recs = studio.recommendations(
            loaded,
            studio.objective_lambdas(lam, weights or None),
            k=10,
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
