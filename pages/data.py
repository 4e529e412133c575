"""Data page: pick a sample or upload an interaction log, map columns, see the load report."""

import streamlit as st

from pages import common
from recolab import plots, studio
from recolab.data.samples import available_samples

st.title("Data")
root = common.root()

source = st.radio(
    "Source", ["Sample", "Upload", "Saved datasets"], horizontal=True, key="data_source"
)

if source == "Sample":
    cur = common.current("dataset")
    samples = available_samples()
    sample = st.selectbox(
        "Sample", samples, index=samples.index(cur) if cur in samples else 0, key="data_sample"
    )
    if st.button("Use this sample", key="use_sample", type="primary"):
        common.set_current("dataset", sample)
elif source == "Upload":
    st.caption(
        "CSV / TSV / Parquet (gzip allowed). Columns are detected from the header "
        "(userId, item_id, rating, timestamp, …); you can override the mapping below."
    )
    inter = st.file_uploader("Interactions file", key="upload_inter")
    items = st.file_uploader(
        "Item texts (optional: id, title, description, genres)", key="upload_items"
    )
    users = st.file_uploader(
        "User attributes (optional: id, then columns such as age, gender, occupation)",
        key="upload_users",
    )
    up_mapping: dict[str, str] = {}
    readable = False
    if inter is not None:
        with common.guard(f"Reading {inter.name}"):
            up_columns, up_detected = studio.upload_columns(root, inter.name, inter.getvalue())
            readable = True
            with st.expander("Column mapping", expanded=True):
                st.caption("Pre-filled by detection; the file is checked with it on saving.")
                up_options = ["", *up_columns]
                for role, col in zip(studio.MAPPING_ROLES, st.columns(4) * 3, strict=False):
                    with col:
                        up_mapping[role] = st.selectbox(
                            role,
                            up_options,
                            index=up_options.index(up_detected.get(role, "")),
                            key=f"upmap_{inter.name}_{role}",
                        )
    up_users: dict[str, str] | None = None
    if readable and users is not None:
        with common.guard(f"Reading {users.name}"):
            readable = False
            u_cols, _ = studio.upload_columns(root, users.name, users.getvalue())
            u_pick = st.selectbox(
                "User attributes: user id column (empty: detect)",
                ["", *u_cols],
                key=f"upusers_{users.name}",
            )
            up_users = {"user": u_pick} if u_pick else None
            readable = True
    if st.button("Save upload", key="save_upload", type="primary", disabled=not readable):
        with common.guard(f"Saving {inter.name}"):
            info = studio.save_upload(
                root,
                inter.name,
                inter.getvalue(),
                items_name=items.name if items else None,
                items_data=items.getvalue() if items else None,
                users_name=users.name if users else None,
                users_data=users.getvalue() if users else None,
                mapping=up_mapping,
                users_mapping=up_users,
            )
            common.set_current("dataset", info.id)
            st.success(f"Saved as dataset `{info.id}` in the workspace.")
else:
    datasets = studio.list_datasets(root)
    labels = {d.id: f"{d.name} ({d.kind}, {d.id})" for d in datasets}
    chosen = common.pick_id(
        "Dataset", list(labels), common.current("dataset"), labels, key="data_saved"
    )
    if st.button("Use this dataset", key="use_saved", type="primary"):
        common.set_current("dataset", chosen)
    with st.expander("Rename or delete this dataset"):
        common.dataset_actions(chosen)

dataset_id = common.current("dataset")
if not dataset_id:
    st.info("Pick a sample or upload a file to start.")
    common.stop()

st.divider()
info = None
with common.guard(f"Opening dataset {dataset_id}"):
    info = studio.get_dataset(root, dataset_id)
if info is None:
    common.stop()

st.subheader(f"Dataset: {info.name}")
if info.kind == "upload" and info.interactions is not None:
    with common.guard("Reading the file"):
        columns, detected = studio.detect_mapping(info.interactions)
        with st.expander("Column mapping", expanded=True):
            st.caption("Pre-filled by detection; change a role and press *Apply mapping*.")
            mapping = {}
            cols = st.columns(4)
            options = ["", *columns]
            for j, role in enumerate(studio.MAPPING_ROLES):
                chosen_col = info.mapping.get(role) or detected.get(role) or ""
                with cols[j % 4]:
                    mapping[role] = st.selectbox(
                        role,
                        options,
                        index=options.index(chosen_col) if chosen_col in options else 0,
                        key=f"map_{info.id}_{role}",
                    )
            if st.button("Apply mapping", key="apply_mapping"):
                with common.guard("Applying the mapping (the previous one is kept)"):
                    info = studio.set_mapping(root, info.id, mapping)
                    st.success("Mapping saved.")
        st.markdown("**Preview**")
        st.dataframe(studio.preview(info.interactions), hide_index=True, height=240)
    if info.users is not None:
        with common.guard("Reading the user attributes file"):
            u_columns, u_detected = studio.detect_user_id_column(info.users)
            with st.expander("User attributes: id column", expanded=u_detected is None):
                u_current = info.users_mapping.get("user") or u_detected or ""
                u_options = ["", *u_columns]
                u_chosen = st.selectbox(
                    "User id column",
                    u_options,
                    index=u_options.index(u_current) if u_current in u_options else 0,
                    help="The column of the users file that holds the ids of the log's users; "
                    "every other column is an attribute.",
                    key=f"users_id_{info.id}",
                )
                if st.button("Apply id column", key="apply_users_id"):
                    # the detected column needs no mapping (and keeps u.user's column names)
                    keep = None if u_chosen == u_detected else u_chosen
                    info = studio.set_users_mapping(root, info.id, keep)
                    st.success("User id column saved.")
                st.dataframe(studio.preview(info.users, 5), hide_index=True)

data = None
with common.guard("Loading the data"):
    data = common.dataset(info.id)
if data is None:
    st.warning("Fix the file or the column mapping above; nothing else was changed.")
    common.stop()

stats = studio.dataset_stats(data)
c = st.columns(5)
c[0].metric("Users", f"{stats['users']:,}")
c[1].metric("Items", f"{stats['items']:,}")
c[2].metric("Interactions", f"{stats['interactions']:,}")
c[3].metric("Density", f"{stats['density']:.4%}")
c[4].metric("Kind", stats["kind"])

report = data.report
left, right = st.columns([1, 1])
with left:
    st.markdown("**Load report**")
    if report is not None:
        r = st.columns(3)
        r[0].metric("Rows read", f"{report.rows_read:,}")
        r[1].metric("Rows kept", f"{report.rows_kept:,}")
        r[2].metric("Dropped / merged", f"{report.rows_dropped:,} / {report.duplicates_merged:,}")
        st.code("\n".join(report.summary_lines()), language=None)
    else:
        st.caption("No report for this dataset.")
with right, common.guard("Drawing the long-tail curve"):
    st.plotly_chart(
        plots.long_tail_figure(stats["item_counts"], title="Item popularity (long tail)"),
        width="stretch",
        key="long_tail",
    )

users_summary = studio.user_attribute_summary(data)
if users_summary is not None:
    st.markdown("**User attributes**")
    u = st.columns(3)
    u[0].metric(
        "Users with attributes",
        f"{users_summary['users_with_attributes']:,} / {users_summary['users']:,}",
    )
    u[1].metric("Attribute columns", f"{len(users_summary['columns']):,}")
    u[2].metric("Unknown ids in users file", f"{users_summary['unknown_ids']:,}")
    if users_summary["unknown_ids"]:
        st.caption(
            f"{users_summary['unknown_ids']:,} of {users_summary['rows']:,} rows of the users "
            "file name users who are not in the interaction log; they are not used."
        )
    st.dataframe(
        users_summary["table"],
        hide_index=True,
        column_config={"missing": st.column_config.NumberColumn("missing", format="percent")},
    )
st.page_link("pages/train.py", label="Next: train a model", icon=":material/model_training:")
