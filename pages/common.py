"""Shared UI helpers of the dashboard pages: current ids, cached loaders, sidebar, errors.

Pages import this module; it holds no business logic (that lives in :mod:`recolab.studio`).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import streamlit as st

from recolab import studio
from recolab.data.samples import available_samples
from recolab.errors import RecolabError
from recolab.jobs import FINAL_STATES, UnknownJobError

log = logging.getLogger("recolab.app")

#: Ids kept in the URL (``?dataset=…&job=…``) so a page reattaches after a refresh.
URL_KEYS = ("dataset", "job")


def root() -> Path:
    """The workspace root (``$RECOLAB_HOME`` or ``./workspace``)."""
    return studio.workspace()


def sync_ids() -> None:
    """Keep the current ids in both the URL and the session.

    The URL wins (a refresh or a shared link); session state carries the ids across page
    switches, which clear the query string.
    """
    for key in URL_KEYS:
        value = st.query_params.get(key)
        if value:
            st.session_state[f"current_{key}"] = value
        elif st.session_state.get(f"current_{key}"):
            st.query_params[key] = st.session_state[f"current_{key}"]
        chosen = st.session_state.get(f"current_{key}")
        if chosen and not _exists(key, chosen):  # deleted, or a stale link
            set_current(key, None)
    job = current("job")
    if job and not st.session_state.get("current_dataset"):  # current() gives the default
        with contextlib.suppress(Exception):  # a job from a link: take its dataset along
            set_current("dataset", studio.job_dataset(studio.job_spec(root(), job)))


def _exists(key: str, value: str) -> bool:
    """Whether the dataset or job ``value`` is still in the workspace (a job store that
    cannot be read counts as yes: the page says why later)."""
    try:
        if key == "dataset":
            studio.get_dataset(root(), value)
        else:
            studio.job_spec(root(), value)
    except UnknownJobError:
        return False
    except RecolabError:  # no such dataset or a malformed id; an unreadable job store
        return key != "dataset"
    except Exception as exc:
        log.info("cannot tell whether %s %s exists: %s", key, value, exc)
    return True


#: What a first visit shows before anything is chosen: the dashboard opens on sample data
#: (MovieLens 100K where a licensed copy is present, else the shipped retail sample).
DEFAULTS = {"dataset": (available_samples() or ("retail-sample",))[0]}


def current(key: str) -> str | None:
    """The current dataset or job id (the sample dataset, or ``None``, when none is chosen)."""
    return st.query_params.get(key) or st.session_state.get(f"current_{key}") or DEFAULTS.get(key)


def set_current(key: str, value: str | None) -> None:
    """Make ``value`` the current dataset or job id (URL and session)."""
    if value:
        st.session_state[f"current_{key}"] = value
        st.query_params[key] = value
    else:
        st.session_state.pop(f"current_{key}", None)
        if key in st.query_params:
            del st.query_params[key]


@contextlib.contextmanager
def guard(what: str) -> Iterator[None]:
    """Show an error from ``what`` as a readable ``st.error`` instead of a traceback."""
    try:
        yield
    except (RecolabError, ValueError, OSError, KeyError) as exc:
        log.warning("%s failed: %s", what, exc)
        st.error(f"{what} failed: {exc}")
    except Exception as exc:
        log.exception("%s failed", what)
        st.error(f"{what} failed unexpectedly ({type(exc).__name__}): {exc}")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(show_spinner="Loading model…", max_entries=8)
def _load_model(path: str, mtime: float) -> Any:
    import recolab

    del mtime  # part of the cache key only
    return recolab.load(path)


def model_for_job(job_id: str) -> Any:
    """The job's bundle loaded (cached per file version)."""
    path = studio.bundle_path(root(), job_id)
    return _load_model(str(path), _mtime(path))


@st.cache_resource(show_spinner="Loading the evaluation split…", max_entries=4)
def _eval_context(spec_json: str) -> studio.EvalContext:
    return studio.eval_context(json.loads(spec_json))


def eval_context_for_job(job_id: str) -> studio.EvalContext:
    """The (train, test) split of a job and its diversity vectors (cached per spec)."""
    spec = studio.job_spec(root(), job_id)
    return _eval_context(json.dumps(spec, sort_keys=True))


@st.cache_resource(show_spinner="Loading data…", max_entries=8)
def _load_dataset(root_dir: str, dataset_id: str, mapping_json: str, mtime: float) -> Any:
    del mapping_json, mtime  # cache key only
    return studio.load_dataset(Path(root_dir), dataset_id)


def dataset(dataset_id: str) -> Any:
    """A dataset loaded and validated (cached per mapping and file version)."""
    info = studio.get_dataset(root(), dataset_id)
    mtime = _mtime(info.interactions) if info.interactions else 0.0
    return _load_dataset(str(root()), dataset_id, json.dumps(info.mapping, sort_keys=True), mtime)


@st.cache_data(show_spinner=False, ttl=600)
def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU."""
    import torch

    return bool(torch.cuda.is_available())


def pick_id(
    label: str, ids: list[str], selected: str | None, labels: dict[str, str], key: str
) -> str | None:
    """A selectbox of ids shown by their labels, with ``selected`` preselected when listed
    (else the first)."""
    return st.selectbox(
        label,
        ids,
        index=ids.index(selected) if selected in ids else 0,
        format_func=lambda i: labels.get(i, i),
        key=picker_key(key),
    )


def finished_job_picker(label: str = "Trained model (job)") -> str | None:
    """Selectbox of finished jobs with the current one preselected; sets it current."""
    jobs = studio.finished_jobs(root())
    if not jobs:
        st.info("No trained model yet: train one on the **Train** page.")
        return None
    cur = current("job")
    index = jobs.index(cur) if cur in jobs else 0
    if cur and cur not in jobs:
        st.caption(f"Job `{cur}` has no model yet; showing the newest finished one.")
    labels = studio.job_labels(root())
    # the popover takes the width of its label (never cut); the picker takes the rest
    row = st.container(horizontal=True, vertical_alignment="bottom", wrap=False)
    job_id = row.selectbox(
        label,
        jobs,
        index=index,
        format_func=lambda j: labels.get(j, j),
        key=picker_key(f"pick_job_{label}"),
        width="stretch",
    )
    if job_id != cur:
        set_current("job", job_id)
    with row.popover("Rename / delete", width="content"):
        job_actions(job_id, key="picker_job")
    return job_id


def sidebar(show_lam: bool = True) -> None:
    """Workspace, current dataset / job / model, the chosen λ, device.

    ``show_lam=False`` leaves the chosen λ out: on the Trade-offs page the λ slider shows it,
    and the sidebar, outside the slider's fragment, would lag behind it."""
    with st.sidebar:
        st.markdown("### recolab")
        st.caption(f"Workspace: `{root()}`")
        ds = current("dataset")
        job = current("job")
        st.markdown(f"**Dataset:** {_dataset_name(ds)}" if ds else "**Dataset:** none")
        if job:
            _sidebar_job(job)
        else:
            st.markdown("**Job:** none")
            st.markdown("**Model:** none")
        lam = st.session_state.get("chosen_lam")
        if lam is not None and show_lam:
            st.markdown(f"**Chosen λ:** {lam:.4g}")
        st.caption("GPU available" if cuda_available() else "No GPU: training runs on CPU")


def stop() -> NoReturn:
    """End this page's run early, after drawing the sidebar status.

    Pages call this instead of ``st.stop()``: the app draws the sidebar after the page has
    run (so it shows what the page just chose), and a bare ``st.stop()`` ends the script
    before that, which left the sidebar without its dataset, job and model lines.
    """
    sidebar()
    st.stop()


def _dataset_name(dataset_id: str) -> str:
    """``name (`id`)`` of a dataset, or the bare id where they are the same."""
    try:
        name = studio.get_dataset(root(), dataset_id).name
    except Exception as exc:  # the sidebar never breaks a page
        log.info("no name for dataset %s: %s", dataset_id, exc)
        name = dataset_id
    return f"`{dataset_id}`" if name == dataset_id else f"{name} (`{dataset_id}`)"


def _job_status(job: str) -> studio.JobStatus | None:
    """The job as the job store holds it (``None`` when it cannot be read)."""
    try:
        return studio.poll_job(root(), job)
    except Exception as exc:  # the sidebar never breaks a page
        log.info("no state for job %s: %s", job, exc)
        return None


def _job_state(job: str) -> str | None:
    """The job's state as the job store holds it (``None`` when it cannot be read)."""
    status = _job_status(job)
    return status.state if status else None


def _sidebar_job(job: str) -> None:
    """The current job's state and model, refreshed from the job store while it runs (the
    same store the Train page polls, so both say the same)."""
    first = _job_state(job)

    @st.fragment(run_every=None if first in (None, *FINAL_STATES) else 1.5)
    def line() -> None:
        status = _job_status(job)
        state = status.state if status else "?"
        named = f"{status.name} (`{job}`, {state})" if status and status.name else None
        st.markdown(f"**Job:** {named}" if named else f"**Job:** `{job}` ({state})")
        has_model = studio.bundle_path(root(), job).is_file()
        st.markdown(f"**Model:** `{job}/model.zip`" if has_model else "**Model:** none yet")

    line()


def finished_model(with_split: bool = True) -> tuple[str, Any, Any]:
    """Pick a finished job and load its model (and, ``with_split``, its evaluation split);
    stops the page with a message when there is none or it cannot be loaded.

    Returns ``(job_id, loaded_model, eval_context_or_None)``.
    """
    job_id = finished_job_picker()
    if job_id is None:
        stop()
    loaded = ctx = None
    with guard("Loading the model"):
        loaded = model_for_job(job_id)
        ctx = eval_context_for_job(job_id) if with_split else None
    if loaded is None or (with_split and ctx is None):
        stop()
    return job_id, loaded, ctx


#: Widget keys that hold a dataset or job id; cleared when one is deleted so no picker keeps
#: pointing at it (prefixes).
PICKER_KEYS = ("data_saved", "compare_jobs", "manage_job_pick", "pick_job_")


def forget(key: str, value: str) -> None:
    """After ``value`` (a dataset or job id) was deleted: no longer current (URL, session,
    sidebar) and no picker holding it. The pickers get new widget keys
    (:func:`picker_key`): with the same key the browser kept showing the deleted entry in
    the selectbox while the page had moved on to another."""
    if st.session_state.get(f"current_{key}") == value or st.query_params.get(key) == value:
        set_current(key, None)
    for name in [k for k in st.session_state if str(k).startswith(PICKER_KEYS)]:
        del st.session_state[name]
    st.session_state["picker_generation"] = st.session_state.get("picker_generation", 0) + 1


def picker_key(base: str) -> str:
    """The widget key of a dataset or job picker: ``base`` until something is deleted, then
    ``base~n`` after the n-th delete (see :func:`forget`)."""
    generation = int(st.session_state.get("picker_generation", 0))
    return base if generation == 0 else f"{base}~{generation}"


def flash(message: str) -> None:
    """Show ``message`` as a success note on the next run (it survives ``st.rerun``)."""
    st.session_state["flash_message"] = message


def show_flash() -> None:
    """The note left by :func:`flash`, once."""
    message = st.session_state.pop("flash_message", None)
    if message:
        st.success(message)


def confirm_delete(what: str, target: str, key: str, consequence: str) -> bool:
    """A two-step delete: *Delete*, then *Yes, delete* or *Keep it*; ``True`` once
    confirmed (for ``target``; asking about another target starts over)."""
    pending = f"{key}_pending"
    if st.session_state.get(pending) != target:
        if st.button("Delete", key=f"{key}_ask", help=f"Delete {what} (asks first)"):
            st.session_state[pending] = target
            st.rerun()
        return False
    st.warning(f"Delete {what}? {consequence} This cannot be undone.")
    yes, no = st.columns(2)
    if yes.button("Yes, delete", key=f"{key}_yes", type="primary"):
        st.session_state.pop(pending, None)
        return True
    if no.button("Keep it", key=f"{key}_no"):
        st.session_state.pop(pending, None)
        st.rerun()
    return False


def _rename_row(name: str, field_key: str, button_key: str) -> str | None:
    """A name field and its Rename button (disabled while the name is unchanged); the new
    name once the button is clicked, else ``None``."""
    new = st.text_input("Name", value=name, key=field_key, max_chars=80)
    clicked = st.button("Rename", key=button_key, disabled=new.strip() == name)
    return new if clicked else None


def job_actions(job_id: str, key: str = "job_actions") -> None:
    """Rename a job; delete it after a confirmation (a queued or running job must be
    cancelled first, which is offered here)."""
    show_flash()
    job = None
    with guard("Reading the job"):
        job = studio.poll_job(root(), job_id)
    if job is None:
        return
    state, name = job.state, job.name or ""
    new = _rename_row(name, f"{key}_name_{job_id}", f"{key}_rename")
    if new is not None:
        with guard("Renaming the job"):
            studio.rename_job(root(), job_id, new)
            flash(f"Job `{job_id}` renamed." if new.strip() else f"Job `{job_id}` unnamed.")
            st.rerun()
    if state not in FINAL_STATES:
        st.info(f"Job `{job_id}` is {state}: cancel it before deleting it.")
        if st.button("Cancel the job", key=f"{key}_cancel"):
            with guard("Cancelling the job"):
                studio.cancel_job(root(), job_id)
                flash(f"Cancel requested for job `{job_id}`; delete it once it has stopped.")
                st.rerun()
        return
    consequence = "Its model, result and log are removed."
    if confirm_delete(f"job {job_id}", job_id, key, consequence):
        with guard("Deleting the job"):
            studio.delete_job(root(), job_id)
            forget("job", job_id)
            flash(f"Job `{job_id}` deleted.")
            st.rerun()


def dataset_actions(dataset_id: str, key: str = "dataset_actions") -> None:
    """Rename an uploaded dataset; delete it after a confirmation (refused, with the jobs
    named, while jobs use it). The samples cannot be changed."""
    show_flash()
    info = None
    with guard("Reading the dataset"):
        info = studio.get_dataset(root(), dataset_id)
    if info is None:
        return
    if info.kind != "upload":
        st.caption("The samples ship with recolab: they cannot be renamed or deleted.")
        return
    new = _rename_row(info.name, f"{key}_name_{dataset_id}", f"{key}_rename")
    if new is not None:
        with guard("Renaming the dataset"):
            studio.rename_dataset(root(), dataset_id, new)
            flash(f"Dataset `{dataset_id}` renamed.")
            st.rerun()
    in_use = studio.dataset_in_use(root(), dataset_id)
    if in_use:  # the same reason delete_dataset gives (it checks again as it deletes)
        if st.session_state.pop(f"{key}_pending", None) == dataset_id:  # asked meanwhile
            st.error(f"Not deleted: {in_use}.")
        else:
            st.caption(f"Cannot be deleted now: {in_use}.")
        return
    consequence = "Its files are removed from the workspace."
    if confirm_delete(f"dataset {info.name}", dataset_id, key, consequence):
        with guard("Deleting the dataset"):
            studio.delete_dataset(root(), dataset_id)
            forget("dataset", dataset_id)
            flash(f"Dataset {info.name} (`{dataset_id}`) deleted.")
            st.rerun()
