"""Shared UI helpers of the dashboard pages: current ids, cached loaders, sidebar, errors.

Pages import this module; it holds no business logic (that lives in :mod:`recolab.studio`).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import streamlit as st

from recolab import studio
from recolab.data.samples import available_samples
from recolab.errors import RecolabError
from recolab.jobs import FINAL_STATES

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
    job = current("job")
    if job and not current("dataset"):
        with contextlib.suppress(Exception):  # a job from a link: take its dataset along
            set_current("dataset", studio.job_dataset(studio.job_spec(root(), job)))


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
    job_id = st.selectbox(
        label,
        jobs,
        index=index,
        format_func=lambda j: labels.get(j, j),
        key=f"pick_job_{label}",
    )
    if job_id != cur:
        set_current("job", job_id)
    return job_id


def sidebar() -> None:
    """Workspace, current dataset / job / model, device."""
    with st.sidebar:
        st.markdown("### recolab")
        st.caption(f"Workspace: `{root()}`")
        ds = current("dataset")
        job = current("job")
        st.markdown(f"**Dataset:** `{ds}`" if ds else "**Dataset:** none")
        if job:
            _sidebar_job(job)
        else:
            st.markdown("**Job:** none")
            st.markdown("**Model:** none")
        lam = st.session_state.get("chosen_lam")
        if lam is not None:
            st.markdown(f"**Chosen λ:** {lam:.4g}")
        st.caption("GPU available" if cuda_available() else "No GPU: training runs on CPU")


def _job_state(job: str) -> str | None:
    """The job's state as the job store holds it (``None`` when it cannot be read)."""
    try:
        return studio.poll_job(root(), job).state
    except Exception as exc:  # the sidebar never breaks a page
        log.info("no state for job %s: %s", job, exc)
        return None


def _sidebar_job(job: str) -> None:
    """The current job's state and model, refreshed from the job store while it runs (the
    same store the Train page polls, so both say the same)."""
    first = _job_state(job)

    @st.fragment(run_every=None if first in (None, *FINAL_STATES) else 1.5)
    def line() -> None:
        state = _job_state(job) or "?"
        st.markdown(f"**Job:** `{job}` ({state})")
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
        st.stop()
    loaded = ctx = None
    with guard("Loading the model"):
        loaded = model_for_job(job_id)
        ctx = eval_context_for_job(job_id) if with_split else None
    if loaded is None or (with_split and ctx is None):
        st.stop()
    return job_id, loaded, ctx
