"""AppTest: the sidebar status (dataset, job, model) is drawn on every page, also where the
page stops early (no trained job yet, a job still queued or running, a model or a dataset
that cannot be read, no history typed). Before ``common.stop`` these branches left the
sidebar without its status lines."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from recolab import studio
from recolab.jobs import SUCCEEDED, JobStore
from recolab.jobs.workspace import job_dir

from .helpers import no_exception, run_app

PAGES = Path(__file__).resolve().parents[2] / "pages"
LOG = b"user,item\nu1,a\nu1,b\nu2,a\nu2,c\nu3,b\n"


def _sidebar(at: AppTest) -> str:
    return " ".join(m.value for m in at.sidebar.markdown)


def _has_status(at: AppTest, dataset: str, job: str | None) -> None:
    """The sidebar names the dataset, the job (or none) and the model line."""
    text = _sidebar(at)
    assert f"**Dataset:** `{dataset}`" in text or f"(`{dataset}`)" in text, text
    assert ("**Job:** none" in text) if job is None else (f"`{job}`" in text), text
    assert "**Model:**" in text, text


def _open(page: str, **query: str) -> AppTest:
    at = run_app(**query)
    at.switch_page(f"pages/{page}.py").run()
    no_exception(at)
    return at


@pytest.mark.parametrize("page", ["tradeoffs", "recommendations", "export"])
def test_a_page_without_a_trained_job_keeps_the_sidebar(home: Path, page: str) -> None:
    at = _open(page, dataset="ml-100k")
    assert any("No trained model yet" in i.value for i in at.info)  # the early stop
    _has_status(at, "ml-100k", None)


@pytest.mark.parametrize("state", ["queued", "running"])
def test_a_page_while_the_only_job_runs_keeps_the_sidebar(home: Path, state: str) -> None:
    store = JobStore(home)
    job_id = store.submit(studio.TRAINING_TASK, {"sample": "ml-100k", "dataset": "ml-100k"})
    if state == "running":
        store.claim_next(worker_pid=os.getpid())
    for page in ("tradeoffs", "compare"):
        at = _open(page, job=job_id)
        assert any(
            "No trained model yet" in i.value or "No finished job yet" in i.value for i in at.info
        )
        _has_status(at, "ml-100k", job_id)
        assert f"({state})" in _sidebar(at)
        assert "**Model:** none yet" in _sidebar(at)


def test_compare_without_any_job_keeps_the_sidebar(home: Path) -> None:
    at = _open("compare", dataset="ml-100k")
    assert any("No jobs yet" in i.value for i in at.info)
    _has_status(at, "ml-100k", None)


def test_a_model_that_cannot_be_loaded_keeps_the_sidebar(home: Path) -> None:
    store = JobStore(home)
    job_id = store.submit(studio.TRAINING_TASK, {"sample": "ml-100k", "dataset": "ml-100k"})
    store.claim_next(worker_pid=os.getpid())
    (job_dir(home, job_id) / "model.zip").write_bytes(b"not a zip")
    store.finish(job_id, SUCCEEDED, result={})
    at = _open("export", job=job_id)
    assert any("Loading the model failed" in e.value for e in at.error)
    _has_status(at, "ml-100k", job_id)
    assert f"**Model:** `{job_id}/model.zip`" in _sidebar(at)


def test_a_dataset_that_cannot_be_loaded_keeps_the_sidebar(home: Path) -> None:
    ds = studio.save_upload(home, "shop.csv", LOG).id
    studio.get_dataset(home, ds).interactions.write_bytes(b"only_one_column\nx\n")
    at = run_app(dataset=ds)
    no_exception(at)
    assert any("Loading the data failed" in e.value for e in at.error)
    assert any("Fix the file or the column mapping" in w.value for w in at.warning)
    _has_status(at, ds, None)


def test_a_dataset_whose_record_is_unreadable_keeps_the_sidebar(home: Path) -> None:
    ds = studio.save_upload(home, "shop.csv", LOG).id
    (home / "datasets" / ds / "meta.json").write_text("{")
    at = run_app(dataset=ds)
    no_exception(at)
    assert any(f"Opening dataset {ds} failed" in e.value for e in at.error)
    _has_status(at, ds, None)


def test_recommendations_without_a_history_keep_the_sidebar(trained: tuple[Path, str]) -> None:
    _, job_id = trained
    at = _open("recommendations", job=job_id)
    at.radio(key="rec_mode").set_value("New user (type a history)").run()
    at.text_area(key="rec_history").set_value("").run()
    no_exception(at)
    assert any("Type at least one item id or title" in i.value for i in at.info)
    _has_status(at, "ml-100k", job_id)
    assert f"**Model:** `{job_id}/model.zip`" in _sidebar(at)


def test_no_page_stops_without_drawing_the_sidebar() -> None:
    """Every early stop goes through ``common.stop`` (a bare ``st.stop()`` skips it)."""
    for path in sorted(PAGES.glob("*.py")):
        code = path.read_text()
        if path.name == "common.py":
            before, after = code.split("def stop()", 1)
            code = before + after.split("\ndef ", 1)[1]  # all but stop itself
        assert not re.search(r"\bst\.stop\(", code), f"{path.name} calls st.stop() directly"


def test_a_link_to_a_job_names_the_jobs_dataset_in_the_sidebar(home: Path) -> None:
    """A link with only ``?job=`` (a new session) takes the job's dataset along, instead of
    the sidebar naming the default sample beside a job trained on an upload."""
    ds = studio.save_upload(home, "shop.csv", LOG).id
    job_id = JobStore(home).submit(studio.TRAINING_TASK, studio.training_spec(home, ds, {}))
    at = _open("compare", job=job_id)
    assert any("No finished job yet" in i.value for i in at.info)
    _has_status(at, ds, job_id)
    assert at.query_params["dataset"] == ds
