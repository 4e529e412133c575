"""Compare runs: fronts of several jobs and their peers overlaid, hypervolumes, jobs table."""

import streamlit as st

from pages import common
from recolab import compare, plots, studio

st.title("Compare runs")
root = common.root()

with common.guard("Listing jobs"):
    table = compare.jobs_table(root, key_metric=studio.KEY_METRIC)
    st.subheader("Jobs")
    if table.empty:
        st.info("No jobs yet: train one on the **Train** page.")
        common.stop()
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button(
        "Download the jobs table (CSV)",
        compare.to_csv_bytes(table),
        file_name="jobs.csv",
        mime="text/csv",
        key="dl_jobs",
    )

    labels = studio.job_labels(root)
    with st.expander("Rename or delete a job"):
        manage = common.pick_id(
            "Job", list(labels), common.current("job"), labels, key="manage_job_pick"
        )
        if manage:
            common.job_actions(manage, key="compare_job")

    finished = studio.finished_jobs(root)
    if not finished:
        st.info("No finished job yet: fronts appear once a job has succeeded.")
        common.stop()
    current = common.current("job")
    default = [j for j in (current, *finished) if j in finished][:2]
    picked = st.multiselect(
        "Runs to compare",
        finished,
        default=list(dict.fromkeys(default)),
        format_func=lambda j: labels.get(j, j),
        key="compare_jobs",
    )
    source = st.radio(
        "Fronts measured on",
        compare.SOURCES,
        horizontal=True,
        key="compare_source",
        help="test: each run's front over λ with popularity and EASE on the same split. "
        "validation: the chosen re-ranker's front and the other re-rankers' over the same "
        "base, on the validation split the job carved (the default model only).",
    )
    frame = compare.overlay(root, picked, source) if picked else None

if frame is not None and not frame.empty:
    metrics = compare.shared_metrics(frame)
    c1, c2 = st.columns(2)
    x = c1.selectbox(
        "x axis", metrics, index=metrics.index("ndcg@10") if "ndcg@10" in metrics else 0,
        key="compare_x",
    )  # fmt: skip
    y_default = next((m for m in ("coverage@20", "novelty@20") if m in metrics), metrics[-1])
    y = c2.selectbox("y axis", metrics, index=metrics.index(y_default), key="compare_y")
    with common.guard("Drawing the fronts"):
        st.plotly_chart(
            plots.compare_fronts_figure(frame, x, y, title=f"Fronts on {source}"),
            width="stretch",
            key="compare_fig",
        )
        hv = compare.hypervolumes(frame, x, y)
        st.subheader("Hypervolume per run")
        st.caption(f"Area dominated in ({x}, {y}), both maximised, from the origin.")
        st.dataframe(hv, hide_index=True, width="stretch")
        d1, d2 = st.columns(2)
        d1.download_button(
            "Download the hypervolumes (CSV)",
            compare.to_csv_bytes(hv),
            file_name=f"hypervolumes-{source}.csv",
            mime="text/csv",
            key="dl_hv",
        )
        d2.download_button(
            "Download the fronts (CSV)",
            compare.to_csv_bytes(frame),
            file_name=f"fronts-{source}.csv",
            mime="text/csv",
            key="dl_fronts",
        )
elif frame is not None:
    st.info(f"The chosen runs stored no {source} front (the weighted model has no validation one).")
