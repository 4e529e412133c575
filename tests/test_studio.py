"""Unit tests of recolab.studio: the plain functions behind the dashboard pages."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import recolab
from recolab import studio
from recolab.errors import DataError, RecolabError
from recolab.jobs import JobStore, UnknownJobError

from .app.helpers import make_finished_job


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return studio.workspace(tmp_path / "ws")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = studio.workspace(tmp_path_factory.mktemp("studio-ws"))
    return root, make_finished_job(root)


@pytest.fixture(scope="module")
def loaded(trained: tuple[Path, str]) -> object:
    root, job_id = trained
    return recolab.load(studio.bundle_path(root, job_id))


@pytest.fixture(scope="module")
def ctx(trained: tuple[Path, str]) -> studio.EvalContext:
    root, job_id = trained
    return studio.eval_context(studio.job_spec(root, job_id))


# -- datasets ---------------------------------------------------------------------------


def test_save_upload_is_atomic_content_addressed_and_listed(root: Path) -> None:
    data = b"user,item\nu1,a\nu2,b\n"
    info = studio.save_upload(
        root, "../../evil name.csv", data, items_name="it.csv", items_data=b"item,title\na,A\n"
    )
    assert info.kind == "upload" and info.id.startswith("up-")
    assert info.interactions is not None and info.interactions.read_bytes() == data
    assert info.interactions.parent == root / "datasets" / info.id  # no escape from the folder
    assert info.items is not None and info.items.read_bytes().startswith(b"item,title")
    assert not list((root / "datasets" / info.id).glob("*.tmp"))
    again = studio.save_upload(
        root, "other.csv", data, items_name="it.csv", items_data=b"item,title\na,A\n"
    )
    assert again.id == info.id
    ids = [d.id for d in studio.list_datasets(root)]
    assert ids[:2] == ["ml-100k", "retail-sample"] and info.id in ids


def test_empty_upload_is_a_data_error(root: Path) -> None:
    with pytest.raises(DataError, match="empty"):
        studio.save_upload(root, "x.csv", b"")


def test_unknown_or_unsafe_dataset_ids_are_refused(root: Path) -> None:
    with pytest.raises(RecolabError):
        studio.get_dataset(root, "up-000000000000")
    with pytest.raises(RecolabError, match="invalid"):
        studio.get_dataset(root, "../../etc")


def test_detect_mapping_with_and_without_header(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("UserId,movie_id,Rating,ts\n1,2,3,4\n")
    cols, mapping = studio.detect_mapping(f)
    assert cols == ["UserId", "movie_id", "Rating", "ts"]
    assert mapping == {"user": "UserId", "item": "movie_id", "rating": "Rating", "timestamp": "ts"}
    g = tmp_path / "b.tsv"
    g.write_text("1\t2\t5\n3\t4\t1\n")
    cols, mapping = studio.detect_mapping(g)
    assert cols == ["col1", "col2", "col3"]
    assert mapping == {"user": "col1", "item": "col2", "rating": "col3"}


def test_set_mapping_fixes_a_load(root: Path) -> None:
    csv = b"person,sku\np1,a\np1,b\np2,a\n"
    with pytest.raises(DataError, match="no user column") as err:
        studio.save_upload(root, "p.csv", csv)  # refused before anything is written
    assert "file p.csv:" in str(err.value) and err.value.file == "p.csv"
    assert [d.id for d in studio.list_datasets(root) if d.kind == "upload"] == []
    info = studio.save_upload(root, "p.csv", csv, mapping={"user": "person", "rating": ""})
    assert studio.get_dataset(root, info.id).mapping == {"user": "person"}
    with pytest.raises(DataError, match="no such column"):
        studio.set_mapping(root, info.id, {"user": "nobody"})
    assert studio.get_dataset(root, info.id).mapping == {"user": "person"}  # kept
    data = studio.load_dataset(root, info.id)
    assert (data.n_users, data.n_items, data.n_interactions) == (2, 2, 3)
    stats = studio.dataset_stats(data)
    assert sorted(stats["item_counts"].tolist()) == [1.0, 2.0]
    assert stats["density"] == pytest.approx(3 / 4)


def test_preview_returns_first_rows(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("user,item\n" + "".join(f"u{i},i{i}\n" for i in range(50)))
    df = studio.preview(f, n=5)
    assert len(df) == 5 and df.iloc[0].tolist() == ["u0", "i0"]


def test_training_spec_for_sample_and_upload(root: Path) -> None:
    spec = studio.training_spec(root, "ml-100k", {"epochs": 3})
    assert spec["sample"] == "ml-100k" and spec["config"]["epochs"] == 3 and "train" not in spec
    info = studio.save_upload(
        root,
        "p.csv",
        b"person,sku\np1,a\n",
        items_data=b"sku,title\na,A\n",
        mapping={"user": "person"},
    )
    spec = studio.training_spec(root, info.id, {})
    assert spec["train"] == str(info.interactions) and spec["items"] == str(info.items)
    assert spec["mapping"] == {"user": "person"} and "sample" not in spec
    with pytest.raises(RecolabError, match="unknown training option"):
        studio.training_spec(root, "ml-100k", {"epochz": 3})


# -- user attributes --------------------------------------------------------------------

ML100K = Path("/work/shared/datasets/ml-100k")
needs_ml100k = pytest.mark.skipif(
    not (ML100K / "u.data").is_file(), reason="shared ML-100K data not available"
)


def _ml100k_slice(n: int = 3000) -> tuple[bytes, set[str]]:
    """The first ``n`` ratings of ML-100K ``u.data`` and the user ids they name."""
    lines = (ML100K / "u.data").read_bytes().splitlines(keepends=True)[:n]
    return b"".join(lines), {ln.split(b"\t")[0].decode() for ln in lines}


@needs_ml100k
def test_upload_with_ml100k_users_round_trips(root: Path) -> None:
    ratings, log_users = _ml100k_slice()
    users = (ML100K / "u.user").read_bytes()
    info = studio.save_upload(root, "u.data", ratings, users_name="u.user", users_data=users)
    assert info.users is not None and info.users.read_bytes() == users
    assert info.users.parent == root / "datasets" / info.id
    meta = json.loads((root / "datasets" / info.id / "meta.json").read_text())
    assert meta["users"] == info.users.name and meta["users_name"] == "u.user"
    without = studio.save_upload(root, "u.data", ratings)
    assert without.id != info.id and without.users is None
    assert studio.load_dataset(root, without.id).user_meta is None

    data = studio.load_dataset(root, info.id)
    assert data.user_meta is not None
    assert list(data.user_meta.columns) == ["age", "gender", "occupation", "zip"]
    assert len(data.user_meta) == 943 and data.user_meta.index[0] == "1"
    assert data.user_meta.loc["1"].tolist() == [24.0, "M", "technician", "85711"]
    assert set(data.users.ids) == log_users

    spec = studio.training_spec(root, info.id, {})
    assert spec["users"] == str(info.users) and spec["train"] == str(info.interactions)
    assert "users" not in studio.training_spec(root, without.id, {})
    assert "users" not in studio.training_spec(root, "ml-100k", {})

    summary = studio.user_attribute_summary(data)
    assert summary is not None
    assert summary["columns"] == ["age", "gender", "occupation", "zip"]
    assert summary["users"] == len(log_users) < 943
    assert summary["users_with_attributes"] == len(log_users)
    assert summary["unknown_ids"] == 943 - len(log_users)
    assert summary["missing"] == {"age": 0.0, "gender": 0.0, "occupation": 0.0, "zip": 0.0}
    assert summary["table"]["attribute"].tolist() == summary["columns"]
    assert studio.user_attribute_summary(studio.load_dataset(root, without.id)) is None


def test_upload_ids_without_users_are_unchanged(root: Path) -> None:
    data = b"user,item\nu1,a\n"
    info = studio.save_upload(root, "x.csv", data, users_name="u.csv", users_data=None)
    assert info.id == "up-" + hashlib.sha256(data).hexdigest()[:12] and info.users is None


@needs_ml100k
def test_users_file_with_a_repeated_id_is_a_data_error_on_load(root: Path) -> None:
    ratings, _ = _ml100k_slice(200)
    lines = (ML100K / "u.user").read_bytes().splitlines(keepends=True)
    users = b"".join([*lines[:5], lines[2]])  # user 3 again on row 6
    with pytest.raises(DataError, match="appears again") as err:
        studio.save_upload(root, "u.data", ratings, users_name="u.user", users_data=users)
    assert err.value.row == 6 and "'3'" in str(err.value)
    assert "row 6" in str(err.value) and "u.user" in str(err.value)


def test_summary_counts_unknown_users_and_missing_cells(root: Path) -> None:
    log_csv = b"user,item\nu1,a\nu2,b\nu3,a\n"
    users_csv = b"userId,age,city\nu1,30,Paris\nu2,,Lyon\nx9,40,Nice\nx8,50,\n"
    info = studio.save_upload(
        root, "log.csv", log_csv, users_name="people.csv", users_data=users_csv
    )
    data = studio.load_dataset(root, info.id)
    summary = studio.user_attribute_summary(data)
    assert summary is not None
    assert summary["columns"] == ["age", "city"] and summary["rows"] == 4
    assert summary["users"] == 3 and summary["users_with_attributes"] == 2
    assert summary["unknown_ids"] == 2  # x9, x8: in the file, not in the log
    assert summary["missing"] == {"age": 0.5, "city": 0.0}  # over u1, u2 only
    table = summary["table"].set_index("attribute")
    assert table.loc["age", "type"] == "number" and table.loc["city", "type"] == "text"
    assert table.loc["city", "distinct"] == 2


def test_users_id_column_chosen_by_hand(root: Path) -> None:
    from recolab.pipeline import split_from_spec

    log_csv = b"user,item\nu1,a\nu2,b\nu3,a\n"
    users_csv = b"member,age,city\nu1,30,Paris\nu2,41,Lyon\n"
    with pytest.raises(DataError, match="no user id column found; columns found: member") as err:
        studio.save_upload(root, "log.csv", log_csv, users_name="m.csv", users_data=users_csv)
    assert "m.csv" in str(err.value)
    info = studio.save_upload(
        root,
        "log.csv",
        log_csv,
        users_name="m.csv",
        users_data=users_csv,
        users_mapping={"user": "member"},
    )
    assert info.users is not None
    assert studio.detect_user_id_column(info.users) == (["member", "age", "city"], None)
    assert info.users_mapping == {"user": "member"}
    data = studio.load_dataset(root, info.id)
    assert list(data.user_meta.columns) == ["age", "city"]
    assert data.user_meta.loc["u2", "city"] == "Lyon"
    spec = studio.training_spec(root, info.id, {})
    assert spec["users_mapping"] == {"user": "member"}
    train, _ = split_from_spec(spec, seed=0)  # what the worker trains on
    assert train.user_meta is not None and train.user_meta.loc["u1", "age"] == 30.0
    # saving the same files again keeps the choice; None goes back to detection
    again = studio.save_upload(root, "log.csv", log_csv, users_name="m.csv", users_data=users_csv)
    assert again.id == info.id and again.users_mapping == {"user": "member"}
    assert studio.set_users_mapping(root, info.id, None).users_mapping == {}
    assert "users_mapping" not in studio.training_spec(root, info.id, {})
    plain = studio.save_upload(root, "log.csv", log_csv)
    with pytest.raises(RecolabError, match="has no user attributes file"):
        studio.set_users_mapping(root, plain.id, "member")


# -- jobs -------------------------------------------------------------------------------


def test_submit_poll_cancel_and_list(root: Path) -> None:
    job_id = studio.submit_training(root, "retail-sample", {"epochs": 4}, start_worker=False)
    status = studio.poll_job(root, job_id)
    assert (status.state, status.done, status.epoch, status.epochs) == ("queued", False, None, 4)
    assert status.fraction == 0.0 and status.progress.empty and status.dataset == "retail-sample"
    store = JobStore(root)
    store.claim_next(worker_pid=1)
    store.append_event(job_id, {"kind": "note", "message": "no GPU found: training on CPU"})
    for epoch in (1, 2):
        store.append_event(
            job_id,
            {
                "kind": "progress",
                "epoch": epoch,
                "epochs": 4,
                "loss": 1.0 / epoch,
                "val_recall@20": 0.1 * epoch,
                "eta_s": 10.0 * (4 - epoch),
            },
        )
    status = studio.poll_job(root, job_id)
    # the ETA is the running stage's, from its rate so far (known answers in
    # tests/jobs/test_progress.py); these two epochs came microseconds apart, so ~0 s
    assert status.state == "running" and status.epoch == 2
    assert status.eta_s is not None and 0.0 <= status.eta_s < 1.0
    assert status.fraction == 0.5
    assert status.progress["loss"].tolist() == [1.0, 0.5]
    assert status.notes == ["no GPU found: training on CPU"]
    assert studio.cancel_job(root, job_id) in ("running", "cancelled")
    assert JobStore(root).cancel_requested(job_id)
    table = studio.jobs_table(root)
    assert table["id"].tolist() == [job_id] and table["dataset"].iloc[0] == "retail-sample"
    assert studio.finished_jobs(root) == []  # not succeeded, no bundle
    assert studio.job_result(root, job_id) == {}
    with pytest.raises(UnknownJobError):
        studio.poll_job(root, "ffffffffffff")


def test_jobs_table_of_an_empty_workspace_has_columns(root: Path) -> None:
    table = studio.jobs_table(root)
    assert table.empty and "state" in table.columns


def test_finished_job_has_bundle_result_and_status(trained: tuple[Path, str]) -> None:
    root, job_id = trained
    assert studio.finished_jobs(root) == [job_id]
    result = studio.job_result(root, job_id)
    assert {"front", "sparsity_curve", "history", "model_bytes"} <= set(result)
    status = studio.poll_job(root, job_id)
    assert status.state == "succeeded" and status.fraction == 1.0 and status.eta_s == 0.0
    assert status.epoch == 4 and len(status.progress) == 4  # the default model's 4 trials
    assert (status.progress["best"] >= status.progress["score"]).all()
    assert studio.sparsity_table(result).empty  # no pruning curve for the linear base


# -- trade-offs -------------------------------------------------------------------------


def test_metrics_change_with_lambda_without_retraining(
    loaded: object, ctx: studio.EvalContext
) -> None:
    lo, hi = loaded.lambda_range
    at_lo = studio.metrics_at(loaded.model, ctx, lo)
    at_hi = studio.metrics_at(loaded.model, ctx, hi)
    assert at_lo["lam"] == lo and at_hi["lam"] == hi
    assert at_lo["recall@20"] != at_hi["recall@20"] or at_lo["novelty@20"] != at_hi["novelty@20"]
    # the bundle's own front at λ = 0 was computed the same way
    curve, refs = studio.front_frames(loaded.config)
    assert at_lo["recall@20"] == pytest.approx(curve.iloc[0]["recall@20"], rel=1e-6)
    assert set(refs["model"]) >= {"popularity"} and (curve["model"] == "recolab").all()
    assert np.isfinite(at_lo["diversity@20"])  # genre vectors, as in training


def _cutoff_config() -> dict:
    """Two stored validation curves: at λ = 0 precision falls 1/k and recall rises k/10;
    at λ = 1 recall rises k/20."""
    ks = np.arange(1, 11)
    curves = []
    for lam, recall in ((0.0, ks / 10.0), (1.0, ks / 20.0)):
        p = 1.0 / ks
        f1 = 2 * p * recall / (p + recall)
        curves.append(
            {"lam": lam, "precision": p.tolist(), "recall": recall.tolist(), "f1": f1.tolist()}
        )
    return {"cutoffs": {"validation": "v", "max_k": 10, "curves": curves}}


def test_alpha_cutoff_picks_the_list_length_on_the_nearest_curve() -> None:
    cfg = _cutoff_config()
    assert studio.alpha_cutoff(cfg, 0.0, (1, 0, 0), 10).k == 1  # precision: shortest list
    assert studio.alpha_cutoff(cfg, 0.0, (0, 1, 0), 10).k == 10  # recall: longest
    # F1 = 2/(k + 10/k) at λ = 0 peaks at k = 3; 2/(k + 20/k) at λ = 1 peaks at k = 4
    chosen = studio.alpha_cutoff(cfg, 0.2, (0, 0, 1), 10)
    assert (chosen.k, chosen.lam, chosen.message) == (3, 0.0, None)
    assert studio.alpha_cutoff(cfg, 0.9, (0, 0, 1), 10).k == 4
    zero = studio.alpha_cutoff(cfg, 0.0, (0, 0, 0), 7)
    assert zero.k == 7 and "all zero" in (zero.message or "") and len(zero.curve) == 10
    none = studio.alpha_cutoff({}, 0.0, (0, 0, 1), 10)
    assert none.k == 10 and none.curve.empty and "no validation curve" in (none.message or "")


def test_constrained_lambda_on_the_validation_front() -> None:
    front = [
        {"lam": 0.0, "ndcg@10": 0.50, "coverage@20": 0.2, "novelty@20": 2.0},
        {"lam": 0.5, "ndcg@10": 0.52, "coverage@20": 0.3, "novelty@20": 2.2},
        {"lam": 1.0, "ndcg@10": 0.48, "coverage@20": 0.45, "novelty@20": 2.9},
    ]
    cfg = {
        "selection": {
            "mechanism": "popularity",
            "mechanisms": [
                {"name": "exposure", "front": []},
                {"name": "popularity", "front": front},
            ],
        }
    }
    table = studio.validation_front(cfg)
    assert len(table) == 3 and studio.constraint_objectives(table) == [
        "coverage@20",
        "novelty@20",
    ]
    pick = studio.constrained_lambda(table, "coverage@20", 5.0)  # floor 0.494
    assert pick["lam"] == 0.5 and pick["loss_pct"] == pytest.approx(0.0)
    pick = studio.constrained_lambda(table, "coverage@20", 10.0)  # floor 0.468
    assert pick["lam"] == 1.0 and pick["loss_pct"] == pytest.approx(100 * 0.04 / 0.52)
    assert studio.validation_front({}).empty


def test_metric_cards_labels_values_and_deltas() -> None:
    metrics = {"precision@10": 0.25, "recall@10": 0.5, "novelty@10": float("nan")}
    cards = studio.metric_cards(
        metrics,
        10,
        sparsity=0.5,
        size_bytes=2048,
        train_seconds=3.21,
        baseline={"recall@10": 0.4},
    )
    by_label = {c[0]: c for c in cards}
    assert len(cards) == 10
    assert by_label["Precision@10"][1] == "0.250" and by_label["Precision@10"][2] is None
    assert by_label["Recall@10"][2] == "+0.100"
    assert by_label["Novelty@10"][1] == "–" and by_label["F1@10"][1] == "–"
    assert by_label["Sparsity"][1] == "50.0%" and by_label["Size"][1] == "2.0 KB"
    assert by_label["Train time"][1] == "3.2 s"
    # a change that rounds to zero gets no delta (no "↑ +0.000"); a small real one does
    same = studio.metric_cards(
        {"recall@10": 0.40002, "precision@10": 0.2511},
        10,
        sparsity=None,
        size_bytes=None,
        train_seconds=None,
        baseline={"recall@10": 0.4, "precision@10": 0.25},
    )
    deltas = {c[0]: c[2] for c in same}
    assert deltas["Recall@10"] is None and deltas["Precision@10"] == "+0.001"


def test_card_values_fit_a_card() -> None:
    # at most 6 characters for the usual metric ranges (it read "12.7…" and "265.…")
    assert studio.card_value(0.31249) == "0.312" and studio.card_value(12.734) == "12.73"
    assert studio.card_value(265.5) == "266" and studio.card_value(float("nan")) == "–"
    assert studio.card_value(-0.0123, signed=True) == "-0.012"


def test_format_bytes() -> None:
    assert studio.format_bytes(None) == "–"
    assert studio.format_bytes(512) == "512 B"
    assert studio.format_bytes(1536) == "1.5 KB"
    assert studio.format_bytes(275.3 * 1024) == "275 KB"
    assert studio.format_bytes(99.94 * 1024**2) == "99.9 MB"
    assert studio.format_bytes(3 * 1024**3) == "3.0 GB"


def test_pareto_position_known_answer() -> None:
    curve = pd.DataFrame({"coverage@20": [0.1, 0.2, 0.3], "recall@20": [0.3, 0.2, 0.1]})
    on = studio.pareto_position(curve, 0.5, {"coverage@20": 0.2, "recall@20": 0.25})
    assert on["on_front"] is True and on["dominated_by"] == 0 and on["n_points"] == 3
    off = studio.pareto_position(curve, 0.5, {"coverage@20": 0.05, "recall@20": 0.15})
    assert off["on_front"] is False and off["dominated_by"] == 2
    none = studio.pareto_position(pd.DataFrame(), 0.0, {})
    assert none["on_front"] is None


# -- recommendations --------------------------------------------------------------------


def test_explain_known_answer() -> None:
    phi = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.1]])
    fake = SimpleNamespace(model=SimpleNamespace(phi_=phi))
    out = studio.explain(fake, history=[0, 1], items=[3, 2], n=2)
    assert [h for h, _ in out[0]] == [0, 1]
    assert out[0][0][1] == pytest.approx(2.0 / np.hypot(2.0, 0.1))
    assert out[1][0][1] == pytest.approx(1 / np.sqrt(2))  # tie: first history item wins
    assert studio.explain(fake, history=[], items=[3]) == [[]]


def test_recommendations_for_a_known_user(loaded: object) -> None:
    user = studio.user_ids(loaded)[0]
    recs = studio.recommendations(loaded, 0.0, k=7, user_id=user)
    assert list(recs.columns) == ["rank", "item", "title", "score", "because"]
    assert recs["rank"].tolist() == list(range(1, 8))
    history = {str(loaded.model.items_.ids[i]) for i in studio.user_history(loaded, user)}
    assert not set(recs["item"]) & history  # seen items excluded
    assert recs["because"].str.len().gt(0).all()
    assert recs["score"].is_monotonic_decreasing
    hi = loaded.lambda_range[1]
    other = studio.recommendations(loaded, hi, k=7, user_id=user)
    assert not other[["item", "score"]].equals(recs[["item", "score"]])
    with pytest.raises(RecolabError):
        studio.user_history(loaded, "no-such-user")


def test_typed_history_matches_ids_then_titles_never_substrings(loaded: object) -> None:
    matches = studio.match_history(loaded, "Heat; 100; fargo (1996); theater 3000; star")
    by = {m.entry: m for m in matches}
    # "Heat" is Heat (1995), not Mystery Science Theater 3000 ("tHEATer")
    assert (by["Heat"].how, by["Heat"].item) == ("title without year", "273")
    assert by["Heat"].label == "Heat (1995) (273)"
    assert (by["100"].how, by["100"].item) == ("id", "100")
    assert (by["fargo (1996)"].how, by["fargo (1996)"].item) == ("title", "100")
    assert (by["theater 3000"].how, by["theater 3000"].item) == ("words", "109")
    # a word in many titles is not taken silently: the options are given back
    assert by["star"].how == "ambiguous" and by["star"].item is None
    assert "Star Wars (1977)" in by["star"].options
    ids, unknown = studio.parse_history(loaded, "Heat; star")
    assert ids == ["273"] and unknown == ["star"]


def test_new_user_history_by_ids_and_titles(loaded: object) -> None:
    ids, unknown = studio.parse_history(loaded, "star wars\n100; zzz-nothing, 100")
    assert ids == ["50", "100"] and unknown == ["zzz-nothing"]
    recs = studio.recommendations(loaded, 0.0, k=5, history_ids=ids)
    assert len(recs) == 5 and not set(recs["item"]) & {"50", "100"}
    assert all("Star Wars" in b or "Fargo" in b for b in recs["because"])
    with pytest.raises(RecolabError, match="pick a user"):
        studio.recommendations(loaded, 0.0)


# -- export -----------------------------------------------------------------------------


def test_model_card_and_export_at_chosen_lambda(
    loaded: object, ctx: studio.EvalContext, tmp_path: Path
) -> None:
    lam = loaded.lambda_range[1] / 2
    metrics = studio.metrics_at(loaded.model, ctx, lam)
    curve, _ = studio.front_frames(loaded.config)
    position = studio.pareto_position(curve, lam, metrics)
    card = studio.model_card(
        loaded,
        lam,
        metrics,
        alpha=(0.2, 0.8, 0.0),
        position=position,
        job_id="abc",
        dataset="ml-100k",
        size_bytes=1000,
    )
    assert card.startswith("# recolab model card")
    assert f"**Chosen λ**: {lam:.4g}" in card
    assert f"| Recall@20 | {metrics['recall@20']:.4f} |" in card
    assert "## Pareto position" in card and "popularity" in card
    assert "| validation | per-user random 20%" in card and "| mechanism | " in card
    out = studio.export_at(
        loaded, lam, tmp_path / "m.zip", alpha=(0.2, 0.8, 0.0), metrics=metrics, card=card
    )
    data = studio.read_bytes(out)
    assert "MODEL_CARD.md" in studio.zip_members(data)
    again = recolab.load(out)
    assert again.default_lam == pytest.approx(lam)
    assert again.config["metrics"]["recall@20"] == pytest.approx(metrics["recall@20"])
    with zipfile.ZipFile(out) as zf:
        assert json.loads(zf.read("config.json"))["objectives"]["alpha"] == [0.2, 0.8, 0.0]
    user = studio.user_ids(loaded)[0]
    pd.testing.assert_frame_equal(
        again.recommend([user], k=5), loaded.recommend([user], k=5, lam=lam)
    )


def test_mechanism_table_lists_every_mechanism_default_first(loaded: object) -> None:
    table = studio.mechanism_table(loaded.config)
    names = [n.removesuffix(" (default)") for n in table["mechanism"]]
    # genres and texts, no prices: every mechanism but the two revenue ones
    assert sorted(names) == [
        *("calibration", "conditioned", "exposure", "mmr", "popularity", "popularity-exposure")
    ]
    assert table["mechanism"].iloc[0].endswith("(default)")
    assert table["mechanism"].str.endswith("(default)").sum() == 1
    hv = table["HV ndcg@10 × coverage@20"]
    assert hv.iloc[0] == hv.max()  # the default has the largest validation hypervolume
    # the default mechanism's most accurate λ is what the bundle serves without a λ
    assert table["most accurate λ"].iloc[0] == pytest.approx(loaded.default_lam)
    assert studio.mechanism_table({}).empty
