"""Train page: options, launch a background job, follow it live, cancel, list past jobs."""

import streamlit as st

from pages import common
from recolab import plots, studio
from recolab.config import TrainConfig
from recolab.rerank import RERANKERS

st.title("Train")
root = common.root()
dataset_id = common.current("dataset")
defaults = TrainConfig()

if not dataset_id:
    st.info("Pick a dataset on the **Data** page first.")
    st.page_link("pages/data.py", label="Go to Data", icon=":material/database:")
else:
    st.markdown(f"Training on dataset **`{dataset_id}`**.")
    model = st.radio(
        "Model",
        ["auto", "weighted"],
        format_func=studio.MODEL_LABELS.get,
        horizontal=True,
        key="opt_model",
        help="auto: a linear base tuned on a validation split carved from your training data, "
        "plus the trade-off re-ranker whose validation front is best. weighted: one network "
        "trained for every λ.",
    )
    c1, c2, c3 = st.columns(3)
    config: dict[str, object] = {"model": model}
    if model == "auto":
        with c1:
            config["tune_trials"] = int(
                st.number_input("Tuning trials", 1, 500, defaults.tune_trials, 5, key="opt_trials")
            )
            config["tune_seconds"] = float(
                st.number_input(
                    "Tuning budget (s)", 5, 86_400, int(defaults.tune_seconds), 10, key="opt_tsec"
                )
            )
        with c2:
            config["mechanism"] = st.selectbox(
                "Trade-off mechanism",
                ["auto", *RERANKERS],
                key="opt_mechanism",
                help="auto: the one with the largest hypervolume of (ndcg@10, coverage@20) on "
                "validation; the others are shown beside it. 'revenue' needs item prices; "
                "'conditioned' is the trained residual, measured only when chosen.",
            )
    else:
        with c1:
            config["lam_high"] = float(
                st.number_input(
                    "λ range: 0 … λ max",
                    min_value=0.01,
                    max_value=10.0,
                    value=float(defaults.lam_high),
                    step=0.05,
                    key="opt_lam_high",
                    help="The model is trained once for every λ in this range (L = f + λ·g).",
                )
            )
            for name, top, step in (("novelty", 10.0, 0.1), ("diversity", 10.0, 0.1)):
                config[name] = float(
                    st.number_input(
                        f"{name.capitalize()} weight",
                        0.0,
                        top,
                        float(getattr(defaults, name)),
                        step,
                        key=f"opt_{name}",
                    )
                )
            config["exposure"] = float(
                st.number_input(
                    "Exposure weight",
                    0.0,
                    50.0,
                    float(defaults.exposure),
                    0.5,
                    key="opt_exposure",
                    help="Spreads recommendations over more of the catalogue (coverage, Gini).",
                )
            )
        with c2:
            config["dim"] = int(
                st.select_slider(
                    "Dimension", [8, 16, 32, 64, 128, 256], value=defaults.dim, key="opt_dim"
                )
            )
            config["epochs"] = int(
                st.number_input("Epochs", 1, 500, int(defaults.epochs), 1, key="opt_epochs")
            )
            budget = st.number_input(
                "Time budget (s, 0 = none)", 0, 86_400, 0, 10, key="opt_budget"
            )
            config["budget_seconds"] = float(budget) if budget else None
    with c3:
        gpu = common.cuda_available()
        config["device"] = st.radio(  # cuda only where there is one
            "Device",
            ["auto", "cpu", "cuda"] if gpu else ["auto", "cpu"],
            index=0,
            key="opt_device",
            horizontal=True,
            help="auto: the GPU when there is one.",
        )
        st.caption(f"torch.cuda.is_available(): **{gpu}**")
        config["use_text"] = bool(
            st.checkbox(
                "Use item texts (transformer embeddings)", value=defaults.use_text, key="opt_text"
            )
        )
    split = "auto"
    data = None
    with common.guard("Reading the dataset"):
        data = common.dataset(dataset_id)
    s1, s2 = st.columns(2)
    with s1:
        if studio.get_dataset(root, dataset_id).kind == "sample":
            st.caption(
                "**Test split**: the sample's own (ML-100K: the canonical u1 split; the retail "
                "sample: 20 % of each user's interactions held out at random)."
            )
        elif data is not None:
            choices = studio.split_choices(data)
            split = st.radio(
                "Test split",
                list(choices),
                captions=list(choices.values()),
                key="opt_split",
                help="How the file is cut into train and test (as `recolab train --split`). "
                "Validation is always carved out of train, never out of test.",
            )
    with s2:
        if data is not None and data.kind == "implicit":
            config["repeat"] = bool(
                st.checkbox(
                    "Repeat purchases (consumables)",
                    value=defaults.repeat,
                    key="opt_repeat",
                    help="Keep each user's own items among the candidates: a test item bought "
                    "again counts as a hit, and the exported model recommends items a user "
                    "already has (as `--repeat`).",
                )
            )
    if st.button("Start training", type="primary", key="start_training"):
        with common.guard("Starting the training job"):
            job_id = studio.submit_training(root, dataset_id, config, split=split)
            common.set_current("job", job_id)
            st.success(f"Job `{job_id}` queued.")

job_id = common.current("job")


def _draw_stages(status: studio.JobStatus) -> None:
    """One progress bar per stage of the job, each with its own count and ETA."""
    for label, fraction, text in studio.stage_lines(status):
        if fraction is None:
            st.caption(f"**{label}** · {text}")
        else:
            st.progress(fraction, text=f"**{label}** · {text}")


def _draw_curves(status: studio.JobStatus) -> None:
    """The validation score per tuning trial, or the weighted model's f, g and validation
    metrics per epoch."""
    table = status.progress
    if "trial" in table.columns:
        st.plotly_chart(
            plots.tuning_curve_figure(table, title="Tuning: validation score per trial"),
            width="stretch",
            key=f"tuning_{status.id}",
        )
    elif not table.empty and {"loss", "f", "g"} & set(table.columns):
        if not any(c.startswith("val_") for c in table.columns):
            st.caption("No validation split was given: only the training objectives are drawn.")
        st.plotly_chart(
            plots.objective_curves_figure(table, title="Training: L = f + λ·g per epoch"),
            width="stretch",
            key=f"curves_{status.id}",
        )


def _draw_job(job_id: str) -> bool:
    """Draw one job's progress; returns whether it is finished."""
    status = studio.poll_job(root, job_id)
    labels = studio.job_labels(root)
    st.subheader(labels.get(job_id, f"Job `{job_id}` · {status.state}"))
    stage = status.stage
    if status.eta_s is not None:
        eta = f"{status.eta_s:.0f} s"
    else:
        eta = "estimating" if stage is not None and stage.total is not None else "–"
    elapsed = f"{status.elapsed_s:.0f} s" if status.elapsed_s is not None else "–"
    m = st.columns(4)
    m[0].metric("State", status.state)
    if stage is not None:
        count = f"{int(stage.done)}/{int(stage.total)}" if stage.total else "…"
        m[1].metric("Stage", count, help=stage.label)
    else:
        tuning = "trial" in status.progress.columns  # the default model's study reports trials
        m[1].metric("Trial" if tuning else "Epoch", f"{status.epoch or 0}/{status.epochs or '?'}")
    m[2].metric("Elapsed (wall)", elapsed)
    m[3].metric("ETA (this stage)", eta)
    _draw_stages(status)
    spec = studio.job_spec(root, job_id)
    repeat = " · repeat purchases" if (spec.get("config") or {}).get("repeat") else ""
    st.caption(f"**Split**: {studio.job_split(spec, studio.job_result(root, job_id))}{repeat}")
    if status.state == "failed":
        st.error(f"The job failed: {status.error}")
    elif status.state == "cancelled":
        st.warning(f"The job was cancelled: {status.error or ''}")
    elif status.state == "succeeded":
        st.success("Finished: explore it on the Trade-offs page.")
        st.page_link("pages/tradeoffs.py", label="Open Trade-offs", icon=":material/balance:")
    if not status.done and st.button("Cancel job", key=f"cancel_{job_id}"):
        studio.cancel_job(root, job_id)
        st.rerun()
    _draw_curves(status)
    if status.notes:
        with st.expander("Notes", expanded=not status.done):
            st.markdown("\n".join(f"- {n}" for n in status.notes))
    return status.done


if job_id:
    st.divider()
    done_at_start = False
    with common.guard("Reading the job"):
        done_at_start = studio.poll_job(root, job_id).done

    @st.fragment(run_every=None if done_at_start else 1.5)
    def live() -> None:
        """Polls the job store while the job runs; reruns the page once it finishes."""
        with common.guard("Polling the job"):
            done = _draw_job(job_id)
            if done and not done_at_start:
                st.rerun(scope="app")

    live()

st.divider()
st.subheader("Jobs")
with common.guard("Listing jobs"):
    table = studio.jobs_table(root)
    if table.empty:
        st.caption("No jobs yet.")
    else:
        st.dataframe(table, hide_index=True, width="stretch")
        ids = table["id"].tolist()
        labels = studio.job_labels(root)
        pick = common.pick_id("Reattach to a job", ids, job_id, labels, key="reattach_job")
        if st.button("Show this job", key="reattach"):
            common.set_current("job", pick)
            st.rerun()
