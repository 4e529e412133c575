"""AppTest checks of every dashboard page (no browser; fragments are not run here)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import recolab
from recolab import studio
from recolab.jobs import JobStore

from .helpers import no_exception, run_app


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_data_page_loads_a_sample_and_shows_the_report(home: Path) -> None:
    at = run_app()
    no_exception(at)
    at.selectbox(key="data_sample").set_value("ml-100k")
    at.button(key="use_sample").click().run()
    no_exception(at)
    assert at.query_params["dataset"] == "ml-100k"
    shown = _metrics(at)
    assert shown["Users"] == "943"
    assert shown["Items"] == "1,682"
    assert shown["Rows read"] == "100,000"
    report = at.code[0].value
    assert "rows read: 100000" in report and "check: 100000 kept" in report
    assert len(at.get("plotly_chart")) == 1  # long-tail curve
    assert shown["Users with attributes"] == "943 / 943"  # the sample ships u.user


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio(key="data_source").set_value("Upload").run()
    at.file_uploader(key="upload_inter").upload(name, data)
    return at.run()  # an upload reruns the page


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
    b"\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01"
    b"\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [("photo.png", PNG, "png"), ("one.csv", b"user item\nu1 a\nu2 b\n", "only one column")],
)
def test_a_broken_upload_leaves_the_previous_dataset_current(
    home: Path, name: str, data: bytes, match: str
) -> None:
    at = run_app(dataset="ml-100k")
    before = [d.id for d in studio.list_datasets(home)]
    _upload(at, name, data)
    no_exception(at)
    save = at.button(key="save_upload")
    if not save.disabled:  # a file that reads as a table is checked on saving
        save.click().run()
        no_exception(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert name in errors[0] and match in errors[0].lower(), errors
    assert not at.success
    assert at.query_params["dataset"] == "ml-100k"
    assert [d.id for d in studio.list_datasets(home)] == before
    assert _metrics(at)["Users"] == "943"  # the previous dataset is still the one shown


def test_mapping_chosen_before_saving_an_upload(home: Path) -> None:
    at = _upload(run_app(), "odd.csv", b"person,sku,when\np1,a,1\np1,b,2\np2,a,3\np2,c,4\n")
    no_exception(at)
    assert at.selectbox(key="upmap_odd.csv_item").value == "sku"
    assert at.selectbox(key="upmap_odd.csv_user").value == ""  # "person" is no known name
    at.selectbox(key="upmap_odd.csv_user").set_value("person")
    at.button(key="save_upload").click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    dataset_id = at.query_params["dataset"]
    assert studio.get_dataset(home, dataset_id).mapping["user"] == "person"
    assert _metrics(at)["Users"] == "2"
    # a mapping that does not load is refused, and the stored one stays
    at.radio(key="data_source").set_value("Saved datasets").run()
    at.selectbox(key=f"map_{dataset_id}_rating").set_value("sku")  # text: no usable rows
    at.button(key="apply_mapping").click().run()
    no_exception(at)
    assert any("no usable rows" in e.value for e in at.error), [e.value for e in at.error]
    assert studio.get_dataset(home, dataset_id).mapping["user"] == "person"


def test_users_id_column_chosen_on_the_page(home: Path) -> None:
    log_csv = b"user,item\nu1,a\nu2,b\nu3,a\n"
    users_csv = b"member,age,city\nu1,30,Paris\nu2,41,Lyon\n"
    info = studio.save_upload(
        home,
        "log.csv",
        log_csv,
        users_name="m.csv",
        users_data=users_csv,
        users_mapping={"user": "member"},
    )
    at = run_app(dataset=info.id)
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    box = at.selectbox(key=f"users_id_{info.id}")
    assert box.value == "member" and box.options == ["", "member", "age", "city"]
    shown = _metrics(at)
    assert shown["Users with attributes"] == "2 / 3"
    assert shown["Attribute columns"] == "2"


ML100K = Path("/work/shared/datasets/ml-100k")


@pytest.mark.skipif(not (ML100K / "u.user").is_file(), reason="shared ML-100K data not available")
def test_upload_with_user_attributes_shows_their_summary(home: Path) -> None:
    ratings = b"".join((ML100K / "u.data").read_bytes().splitlines(keepends=True)[:2000])
    n_log_users = len({line.split(b"\t")[0] for line in ratings.splitlines()})
    at = run_app()
    at.radio(key="data_source").set_value("Upload").run()
    no_exception(at)
    at.file_uploader(key="upload_inter").upload("u.data", ratings)
    at.file_uploader(key="upload_users").upload("u.user", (ML100K / "u.user").read_bytes())
    at.run()  # an upload reruns the page, which enables the save button
    at.button(key="save_upload").click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    dataset_id = at.query_params["dataset"]
    info = studio.get_dataset(home, dataset_id)
    assert info.users is not None and info.users.name == "users-u.user"
    assert at.selectbox(key=f"users_id_{dataset_id}").value == "col1"  # u.user detected
    shown = _metrics(at)
    assert shown["Users"] == f"{n_log_users:,}"
    assert shown["Users with attributes"] == f"{n_log_users:,} / {n_log_users:,}"
    assert shown["Attribute columns"] == "4"
    assert shown["Unknown ids in users file"] == f"{943 - n_log_users:,}"
    table = at.dataframe[-1].value
    assert table["attribute"].tolist() == ["age", "gender", "occupation", "zip"]
    assert (table["missing"] == 0.0).all()


def test_train_page_submits_a_job(home: Path) -> None:
    at = run_app(dataset="ml-100k")
    at.switch_page("pages/train.py").run()
    no_exception(at)
    assert at.radio(key="opt_model").value == "auto"
    at.number_input(key="opt_trials").set_value(3)
    at.checkbox(key="opt_text").uncheck()
    at.radio(key="opt_device").set_value("cpu")
    at.button(key="start_training").click().run()
    no_exception(at)
    (job,) = JobStore(home).list()
    assert job.task == studio.TRAINING_TASK
    assert job.spec["sample"] == "ml-100k"
    config = job.spec["config"]
    assert config["model"] == "auto" and config["tune_trials"] == 3
    assert config["use_text"] is False
    assert at.query_params["job"] == job.id
    JobStore(home).request_cancel(job.id)
    # the λ-conditioned network has its own options
    at.radio(key="opt_model").set_value("weighted").run()
    at.number_input(key="opt_epochs").set_value(1)
    at.button(key="start_training").click().run()
    no_exception(at)
    newest = max(JobStore(home).list(), key=lambda j: j.created)
    assert newest.spec["config"]["model"] == "weighted" and newest.spec["config"]["epochs"] == 1
    JobStore(home).request_cancel(newest.id)


def test_train_page_reattaches_from_the_url(trained: tuple[Path, str]) -> None:
    _root, job_id = trained
    at = run_app(job=job_id)
    at.switch_page("pages/train.py").run()
    no_exception(at)
    shown = _metrics(at)
    assert shown["State"] == "succeeded"
    assert shown["Trial"] == "4/4"
    assert job_id in at.dataframe[0].value["id"].tolist()


class _Cells(HTMLParser):
    """The header and cell texts of an HTML table, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _example_list(at) -> pd.DataFrame:
    """The Trade-offs page's example list, read back from its HTML table (cells as text)."""
    (body,) = [h.proto.body for h in at.get("html") if "recolab-list" in h.proto.body]
    cells = _Cells()
    cells.feed(body)
    header, *rows = cells.rows
    return pd.DataFrame(rows, columns=header)


def _live_charts(at) -> dict[str, dict[str, bytes]]:
    """The page's Vega-Lite charts, named in page order: each one's datasets, as the browser
    gets them (Arrow bytes by name)."""
    nodes = at.get("vega_lite_chart")
    names = ["pareto", "vs_lambda", "cutoff_curve"][: len(nodes)]
    return {
        name: {d.name: d.data.data for d in node.proto.datasets}
        for name, node in zip(names, nodes, strict=True)
    }


def test_tradeoffs_slider_changes_metrics_and_list(trained: tuple[Path, str]) -> None:
    root, job_id = trained
    at = run_app(job=job_id)
    at.switch_page("pages/tradeoffs.py").run()
    no_exception(at)
    slider = at.slider(key="lam_slider")
    # it opens at the λ the bundle serves by default (the most accurate on validation)
    served = recolab.load(studio.bundle_path(root, job_id)).default_lam
    assert slider.value == pytest.approx(served, abs=1e-9)
    before = _metrics(at)
    recs_before = _example_list(at)
    k_star = at.session_state["chosen_k"]
    assert len(recs_before) == k_star and recs_before["because"].str.len().gt(0).all()
    # the test front is plotly (no sparsity curve here); what follows the sliders is
    # Vega-Lite: the front, metrics vs λ, precision–recall over k
    assert len(at.get("plotly_chart")) == 1
    live = _live_charts(at)
    cutoff_spec = at.get("vega_lite_chart")[2].proto.spec
    assert len(at.get("vega_lite_chart")) == 3
    assert set(live["pareto"]) == {"curve", "now"} and set(live["vs_lambda"]) == {"curves", "now"}
    assert {"curve", "isolines", "k_star"} == set(live["cutoff_curve"])
    (mechanisms,) = [d.value for d in at.dataframe if "mechanism" in d.value.columns]
    # the two popularity penalties, exposure, the trained residual, MMR (texts) and
    # calibration (genres)
    assert mechanisms["mechanism"].iloc[0].endswith("(default)") and len(mechanisms) == 6
    other = float(slider.min) if served > slider.min else float(slider.max)
    slider.set_value(other).run()
    no_exception(at)
    after = _metrics(at)
    changed = [k for k in ("Recall@20", "Coverage@20", "Novelty@20") if before[k] != after[k]]
    assert changed, (before, after)
    recs_after = _example_list(at)
    assert not recs_after[["item", "score"]].equals(recs_before[["item", "score"]])
    moved = _live_charts(at)
    # a move replaces the charts' one-row "now" datasets and nothing else
    for name in ("pareto", "vs_lambda"):
        assert moved[name]["now"] != live[name]["now"]
        assert {k: v for k, v in moved[name].items() if k != "now"} == {
            k: v for k, v in live[name].items() if k != "now"
        }
    # the other end of λ reads another stored curve over k, in the same axes and iso-lines
    assert moved["cutoff_curve"]["curve"] != live["cutoff_curve"]["curve"]
    assert moved["cutoff_curve"]["isolines"] == live["cutoff_curve"]["isolines"]
    assert at.get("vega_lite_chart")[2].proto.spec == cutoff_spec
    assert after["Size"] == before["Size"]  # no retraining: same model
    # the sidebar, outside the slider's fragment, leaves the chosen λ to the slider here and
    # shows it on the other pages
    assert not [m for m in at.sidebar.markdown if "Chosen λ" in m.value]
    at.switch_page("pages/export.py").run()
    assert f"**Chosen λ:** {other:.4g}" in [m.value for m in at.sidebar.markdown]


def test_tradeoffs_alpha_picks_the_list_length(trained: tuple[Path, str]) -> None:
    root, job_id = trained
    at = run_app(job=job_id)
    at.switch_page("pages/tradeoffs.py").run()
    no_exception(at)
    chosen = {}
    for alpha in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)):
        for key, value in zip(("alpha1", "alpha2", "alpha3"), alpha, strict=True):
            at.slider(key=key).set_value(value)
        at.run()
        no_exception(at)
        chosen[alpha] = at.session_state["chosen_k"]
        assert len(_example_list(at)) == chosen[alpha]  # the example list has k* items
    # precision prefers the shortest list, recall the longest: α moves k*
    assert chosen[(1.0, 0.0, 0.0)] < chosen[(0.0, 0.0, 1.0)] < chosen[(0.0, 1.0, 0.0)]
    for key in ("alpha1", "alpha2", "alpha3"):
        at.slider(key=key).set_value(0.0)
    at.run()
    no_exception(at)
    assert any("all zero" in i.value for i in at.info)
    assert at.session_state["chosen_k"] == chosen[(0.0, 0.0, 1.0)]  # the current k is kept
    # the export carries k*: its bundle serves lists of that length by default
    for key, value in zip(("alpha1", "alpha2", "alpha3"), (1.0, 0.0, 0.0), strict=True):
        at.slider(key=key).set_value(value)
    at.run()
    at.switch_page("pages/export.py").run()
    no_exception(at)
    exported = sorted((root / "models").glob(f"{job_id}-*.zip"))
    assert exported and recolab.load(exported[-1]).default_k == chosen[(1.0, 0.0, 0.0)]


def test_tradeoffs_constraint_picker_moves_lambda(trained: tuple[Path, str]) -> None:
    _root, job_id = trained
    at = run_app(job=job_id)
    at.switch_page("pages/tradeoffs.py").run()
    no_exception(at)
    at.slider(key="constraint_loss").set_value(20.0).run()
    at.button(key="use_constraint_lam").click().run()
    no_exception(at)
    wide = at.slider(key="lam_slider").value
    at.slider(key="constraint_loss").set_value(0.0).run()
    at.button(key="use_constraint_lam").click().run()
    no_exception(at)
    # no loss allowed: the most accurate point; 20 % allowed: a λ with more coverage
    assert at.slider(key="lam_slider").value < wide


def test_recommendations_and_export_pages_render(trained: tuple[Path, str]) -> None:
    _root, job_id = trained
    at = run_app(job=job_id)
    at.switch_page("pages/recommendations.py").run()
    no_exception(at)
    # the two lists and what λ changed between them (issue 15 point 5)
    assert len(at.dataframe) == 3
    left, right, changes = (d.value for d in at.dataframe)
    shown = changes.loc[changes["rank_after"].notna(), "item"].tolist()
    assert shown == right["item"].tolist()
    assert set(changes.loc[changes["change"] == "dropped", "item"]) == set(left["item"]) - set(
        right["item"]
    )
    at.radio(key="rec_mode").set_value("New user (type a history)").run()
    no_exception(at)
    assert len(at.dataframe) == 3 and len(at.dataframe[0].value) == 10
    at.switch_page("pages/export.py").run()
    no_exception(at)
    card = "\n".join(m.value for m in at.markdown)
    assert "# recolab model card" in card and job_id in card
    assert at.get("download_button")


def test_tradeoffs_objective_weight_sliders_are_live(
    trained_weighted: tuple[Path, str],
) -> None:
    _root, job_id = trained_weighted
    at = run_app(job=job_id)
    at.switch_page("pages/tradeoffs.py").run()
    no_exception(at)
    at.slider(key="lam_slider").set_value(float(at.slider(key="lam_slider").max)).run()
    before = _metrics(at)
    exposure = at.slider(key="weight_exposure")
    assert exposure.value > 0 and exposure.max == pytest.approx(2 * exposure.value)
    exposure.set_value(0.0).run()  # λ stays: only the exposure objective is switched off
    no_exception(at)
    after = _metrics(at)
    assert [k for k in ("Recall@20", "Coverage@20", "Novelty@20") if before[k] != after[k]]
