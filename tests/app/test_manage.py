"""AppTest: renaming and deleting datasets and jobs from the dashboard (issue 14, point 5);
the URL, the sidebar and the pickers follow, and never name a deleted thing."""

from __future__ import annotations

import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

from recolab import studio
from recolab.jobs import JobStore, UnknownJobError

from .helpers import no_exception, run_app

LOG = b"user,item\nu1,a\nu1,b\nu2,a\nu2,c\nu3,b\n"


def _sidebar(at: AppTest) -> str:
    return " ".join(m.value for m in at.sidebar.markdown)


def _saved(at: AppTest, dataset_id: str) -> AppTest:
    at.radio(key="data_source").set_value("Saved datasets").run()
    at.selectbox(key="data_saved").set_value(dataset_id).run()
    return at


def test_rename_then_delete_a_dataset_from_the_data_page(home: Path) -> None:
    ds = studio.save_upload(home, "shop.csv", LOG).id
    at = _saved(run_app(dataset=ds), ds)
    no_exception(at)
    assert f"shop.csv (`{ds}`)" in _sidebar(at)
    at.text_input(key=f"dataset_actions_name_{ds}").input("Shop log").run()
    at.button(key="dataset_actions_rename").click().run()
    no_exception(at)
    assert studio.get_dataset(home, ds).name == "Shop log"
    assert any("renamed" in s.value for s in at.success)
    assert f"Shop log (`{ds}`)" in _sidebar(at)
    assert at.selectbox(key="data_saved").format_func(ds).startswith("Shop log")

    at.button(key="dataset_actions_ask").click().run()
    assert any("Delete dataset Shop log?" in w.value for w in at.warning)
    assert studio.get_dataset(home, ds)  # asking deletes nothing
    at.button(key="dataset_actions_yes").click().run()
    no_exception(at)
    assert ds not in [d.id for d in studio.list_datasets(home)]
    assert not (home / "datasets" / ds).exists()
    assert at.query_params.get("dataset") != [ds]
    assert ds not in _sidebar(at)
    # a new picker (a new key: the browser drops the old one's value), without the dataset
    (picker,) = [b for b in at.selectbox if str(b.key).startswith("data_saved")]
    assert picker.key != "data_saved" and ds not in picker.options
    assert any("deleted" in s.value for s in at.success)


def test_keep_it_leaves_the_dataset(home: Path) -> None:
    ds = studio.save_upload(home, "shop.csv", LOG).id
    at = _saved(run_app(dataset=ds), ds)
    at.button(key="dataset_actions_ask").click().run()
    at.button(key="dataset_actions_no").click().run()
    no_exception(at)
    assert studio.get_dataset(home, ds).name == "shop.csv"
    assert not at.warning and at.button(key="dataset_actions_ask")


def test_a_dataset_jobs_use_offers_no_delete(home: Path) -> None:
    ds = studio.save_upload(home, "shop.csv", LOG).id
    store = JobStore(home)
    job_id = store.submit(studio.TRAINING_TASK, studio.training_spec(home, ds, {}))
    store.request_cancel(job_id)
    at = _saved(run_app(dataset=ds), ds)
    no_exception(at)
    assert any(
        f"{job_id} (cancelled)" in c.value and "delete those jobs first" in c.value
        for c in at.caption
    )
    assert not [b for b in at.button if b.key == "dataset_actions_ask"]


def test_a_delete_confirmed_after_a_job_was_queued_on_the_dataset_is_refused(home: Path) -> None:
    """Delete asked, then a job is queued on the dataset (another tab, the CLI), then *Yes,
    delete*: the dataset stays and the page says why, naming the job."""
    ds = studio.save_upload(home, "shop.csv", LOG).id
    at = _saved(run_app(dataset=ds), ds)
    at.button(key="dataset_actions_ask").click().run()
    job_id = JobStore(home).submit(studio.TRAINING_TASK, studio.training_spec(home, ds, {}))
    at.button(key="dataset_actions_yes").click().run()
    no_exception(at)
    assert [e.value for e in at.error] == [
        f"Not deleted: dataset {ds} is used by 1 job(s) ({job_id} (queued)): cancel the queued "
        "or running one(s), then delete those jobs first."
    ]
    assert studio.get_dataset(home, ds).interactions.is_file()
    assert not [b for b in at.button if b.key in ("dataset_actions_ask", "dataset_actions_yes")]
    at.run()  # said once; afterwards the reason stays as a caption
    assert not at.error and any(f"{job_id} (queued)" in c.value for c in at.caption)


def test_rename_then_delete_a_job_from_its_picker(trained: tuple[Path, str]) -> None:
    root, job_id = trained
    at = run_app(job=job_id)
    at.switch_page("pages/recommendations.py").run()
    no_exception(at)
    at.text_input(key=f"picker_job_name_{job_id}").input("first try").run()
    at.button(key="picker_job_rename").click().run()
    no_exception(at)
    assert JobStore(root).get(job_id).name == "first try"
    picker = at.selectbox(key="pick_job_Trained model (job)")
    assert picker.format_func(job_id).startswith("first try · ml-100k · ")
    assert f"first try (`{job_id}`, succeeded)" in _sidebar(at)

    at.button(key="picker_job_ask").click().run()
    assert any(f"Delete job {job_id}?" in w.value for w in at.warning)
    at.button(key="picker_job_yes").click().run()
    no_exception(at)
    try:
        JobStore(root).get(job_id)
        raise AssertionError("the job is still in the store")
    except UnknownJobError:
        pass
    assert not (root / "jobs" / job_id).exists()
    assert "job" not in at.query_params
    assert any("No trained model yet" in i.value for i in at.info)
    at.switch_page("pages/data.py").run()  # a page that draws the sidebar (this one stopped)
    no_exception(at)
    assert job_id not in _sidebar(at) and "**Job:** none" in _sidebar(at)


def test_a_running_job_is_cancelled_before_it_can_be_deleted(home: Path) -> None:
    store = JobStore(home)
    job_id = store.submit(studio.TRAINING_TASK, {"sample": "ml-100k", "dataset": "ml-100k"})
    store.claim_next(worker_pid=os.getpid())
    at = run_app(job=job_id)
    at.switch_page("pages/compare.py").run()
    no_exception(at)
    assert at.selectbox(key="manage_job_pick").value == job_id
    assert any("is running: cancel it before deleting it" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "compare_job_ask"]
    at.button(key="compare_job_cancel").click().run()
    no_exception(at)
    assert store.get(job_id).cancel_requested and store.get(job_id).state == "running"
    assert any("Cancel requested" in s.value for s in at.success)
    store.finish(job_id, "cancelled", error="cancelled on request")  # what its worker does
    at.run()
    at.button(key="compare_job_ask").click().run()
    at.button(key="compare_job_yes").click().run()
    no_exception(at)
    assert store.list() == []
    assert "job" not in at.query_params


def test_a_link_to_a_deleted_job_or_dataset_is_dropped(home: Path) -> None:
    at = run_app(job="0123456789ab", dataset="up-0123456789ab")
    no_exception(at)
    assert "job" not in at.query_params
    assert at.query_params.get("dataset") != ["up-0123456789ab"]
    assert "0123456789ab" not in _sidebar(at)
