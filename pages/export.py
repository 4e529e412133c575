"""Export page: the chosen model as a bundle (default λ = the chosen one) with a model card."""

import os

import streamlit as st

from pages import common
from recolab import studio
from recolab.bundle import describe, signature_status

st.title("Export")
root = common.root()

job_id, loaded, ctx = common.finished_model()

lo, hi = loaded.lambda_range
chosen = float(min(max(st.session_state.get("chosen_lam", loaded.default_lam), lo), hi))
alpha = tuple(st.session_state.get("chosen_alpha", (0.0, 0.0, 1.0)))
lam = st.slider(
    "λ stored as the bundle's default",
    float(lo),
    float(hi),
    chosen,
    float((hi - lo) / 100) or 0.01,
    "%.3f",
    key="export_lam",
)
st.session_state["chosen_lam"] = float(lam)
# the list length α picks on validation at this λ: the bundle's default k
choice = studio.alpha_cutoff(
    loaded.config, lam, alpha, int(st.session_state.get("chosen_k", loaded.default_k))
)
k_star = None if choice.message else choice.k
st.caption(
    f"α (precision, recall, F1) = {alpha} → list length "
    + (f"k* = {k_star}" if k_star is not None else f"not chosen ({choice.message})")
    + "; set λ and α on the Trade-offs page."
)


@st.cache_data(show_spinner="Writing the bundle…", max_entries=4)
def bundle_for(
    job_id: str, lam: float, alpha: tuple, k: int | None, card: str, key_set: bool
) -> tuple:
    """Bundle bytes for (job, λ, α, k*), written into the workspace's models folder (signed
    when RECOLAB_BUNDLE_KEY is set), and its signature status."""
    out = root / "models" / f"{job_id}-lam{lam:.3f}-k{k}.zip"
    path = studio.export_at(common.model_for_job(job_id), lam, out, alpha=alpha, card=card, k=k)
    return studio.read_bytes(path), signature_status(path)


with common.guard("Preparing the export"):
    metrics = studio.metrics_at(loaded.model, ctx, lam)
    curve, _refs = studio.front_frames(loaded.config)
    position = studio.pareto_position(curve, lam, metrics)
    size = studio.bundle_path(root, job_id).stat().st_size
    card = studio.model_card(
        loaded,
        lam,
        metrics,
        alpha=alpha,
        position=position,
        job_id=job_id,
        dataset=studio.job_dataset(studio.job_spec(root, job_id)),
        size_bytes=size,
        k_star=k_star,
    )
    key_set = bool(os.environ.get("RECOLAB_BUNDLE_KEY"))
    data, signature = bundle_for(job_id, round(float(lam), 6), alpha, k_star, card, key_set)
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download bundle (.zip)",
        data=data,
        file_name=f"recolab-{job_id}-lam{lam:.3f}.zip",
        mime="application/zip",
        type="primary",
        key="download_bundle",
    )
    c2.download_button(
        "Download model card (.md)",
        data=card.encode(),
        file_name=f"recolab-{job_id}-MODEL_CARD.md",
        mime="text/markdown",
        key="download_card",
    )
    st.caption(
        f"{studio.format_bytes(len(data))}; load it with `recolab.load(path)` or "
        "`python -m recolab recommend`. The zip contains MODEL_CARD.md."
    )
    st.caption(
        f"Exported bundle: **{describe(signature)}**. "
        f"Trained bundle as loaded: {describe(loaded.signature)}."
    )
    st.divider()
    st.markdown(card)
