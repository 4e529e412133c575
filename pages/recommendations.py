"""Recommendations page: top-k lists of a user, or of a typed history, at two λ side by side."""

import streamlit as st

from pages import common
from recolab import studio

st.title("Recommendations")
root = common.root()

_, loaded, _ = common.finished_model(with_split=False)

lo, hi = loaded.lambda_range
step = float((hi - lo) / 100) or 0.01
chosen = float(min(max(st.session_state.get("chosen_lam", hi), lo), hi))
c1, c2, c3 = st.columns([1, 1, 1])
lam_a = c1.slider("λ, left list", float(lo), float(hi), float(lo), step, "%.3f", key="rec_lam_a")
lam_b = c2.slider("λ, right list", float(lo), float(hi), chosen, step, "%.3f", key="rec_lam_b")
k = c3.number_input("List length k", 1, 100, 10, 1, key="rec_k")

mode = st.radio("Who", ["Known user", "New user (type a history)"], horizontal=True, key="rec_mode")
kwargs: dict = {}
if mode == "Known user":
    user = st.selectbox("User", studio.user_ids(loaded, limit=5000), key="rec_user")
    kwargs = {"user_id": user}
    with common.guard("Reading the history"):
        hist = studio.user_history(loaded, user)
        st.caption(
            f"History ({len(hist)} items): "
            + ", ".join(studio.item_label(loaded, i) for i in hist[:12])
            + (" …" if len(hist) > 12 else "")
        )
else:
    text = st.text_area(
        "Items the new user liked (ids or titles, separated by commas or new lines)",
        value="Star Wars, Fargo",
        key="rec_history",
    )
    matches = studio.match_history(loaded, text)
    taken = {m.item: m.label for m in matches if m.item is not None}
    ids = list(taken)
    for m in matches:
        if m.how == "ambiguous":
            st.warning(f"“{m.entry}” fits several titles, type one of: " + "; ".join(m.options))
    missing = [m.entry for m in matches if m.how == "none"]
    if missing:
        st.warning("Not found, ignored: " + ", ".join(missing))
    if not ids:
        st.info("Type at least one item id or title.")
        common.stop()
    st.caption("Using: " + ", ".join(str(label) for label in taken.values()))
    kwargs = {"history_ids": ids}

left, right = st.columns(2)
for col, lam, key in ((left, lam_a, "recs_a"), (right, lam_b, "recs_b")):
    with col:
        st.markdown(f"**λ = {lam:.3f}**")
        with common.guard("Recommending"):
            recs = studio.recommendations(loaded, lam, k=int(k), **kwargs)
            st.dataframe(recs, hide_index=True, width="stretch", key=key)
st.caption(studio.because_caption(loaded))

st.markdown(f"**What λ changed: λ = {lam_a:.3f} → λ = {lam_b:.3f}**")
with common.guard("Comparing the two lists"):
    changes = loaded.changes(k=int(k), lam=lam_b, lam_from=lam_a, **kwargs)
    st.dataframe(changes, hide_index=True, width="stretch", key="recs_changes")
    st.caption(
        "kept: in both lists (ranks before → after); added / dropped: the objective the "
        "trade-off served, and the figure behind it."
    )
