"""Renaming and deleting datasets and jobs from the dashboard (issue 14, point 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recolab import studio
from recolab.errors import RecolabError
from recolab.jobs import SUCCEEDED, JobStore, UnknownJobError
from recolab.jobs.workspace import job_dir

LOG = b"user,item\nu1,a\nu1,b\nu2,a\nu2,c\n"


def _upload(root: Path, data: bytes = LOG, name: str = "shop.csv") -> str:
    return studio.save_upload(root, name, data).id


def _job_on(root: Path, dataset_id: str, *, finish: bool = True) -> str:
    """A training job on the dataset, claimed and (``finish``) succeeded; no training."""
    store = JobStore(root)
    job_id = store.submit(studio.TRAINING_TASK, studio.training_spec(root, dataset_id, {}))
    store.claim_next(worker_pid=1)
    if finish:
        (job_dir(root, job_id) / "model.zip").write_bytes(b"zip")
        store.finish(job_id, SUCCEEDED, result={"metrics": {"ndcg@10": 0.25}})
    return job_id


def test_rename_dataset_keeps_its_id_and_files(tmp_path: Path) -> None:
    ds = _upload(tmp_path)
    meta_before = json.loads((tmp_path / "datasets" / ds / "meta.json").read_text())
    info = studio.rename_dataset(tmp_path, ds, "  Shop   log 2024 ")
    assert info.id == ds and info.name == "Shop log 2024"
    assert {d.id: d.name for d in studio.list_datasets(tmp_path)}[ds] == "Shop log 2024"
    meta = json.loads((tmp_path / "datasets" / ds / "meta.json").read_text())
    assert {k: v for k, v in meta.items() if k != "name"} == {
        k: v for k, v in meta_before.items() if k != "name"
    }
    assert sorted(p.name for p in (tmp_path / "datasets" / ds).iterdir()) == [
        "interactions-shop.csv",
        "meta.json",
    ]  # no temporary file left beside it


@pytest.mark.parametrize(
    ("name", "match"), [("   ", "cannot be empty"), ("x" * 81, "at most 80"), ("a\x00b", "control")]
)
def test_rename_dataset_refuses_a_bad_name(tmp_path: Path, name: str, match: str) -> None:
    ds = _upload(tmp_path)
    with pytest.raises(RecolabError, match=match):
        studio.rename_dataset(tmp_path, ds, name)
    assert studio.get_dataset(tmp_path, ds).name == "shop.csv"


def test_samples_cannot_be_renamed_or_deleted(tmp_path: Path) -> None:
    with pytest.raises(RecolabError, match="sample shipped with recolab"):
        studio.rename_dataset(tmp_path, "ml-100k", "mine")
    with pytest.raises(RecolabError, match="sample shipped with recolab"):
        studio.delete_dataset(tmp_path, "ml-100k")
    with pytest.raises(RecolabError, match="no dataset"):
        studio.delete_dataset(tmp_path, "up-000000000000")


def test_delete_dataset_removes_it_and_only_it(tmp_path: Path) -> None:
    ds = _upload(tmp_path)
    other = _upload(tmp_path, LOG + b"u3,a\n", "other.csv")
    studio.delete_dataset(tmp_path, ds)
    assert [d.id for d in studio.list_datasets(tmp_path) if d.kind == "upload"] == [other]
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == [other]
    with pytest.raises(RecolabError, match="no dataset"):
        studio.get_dataset(tmp_path, ds)


def test_a_dataset_folder_being_deleted_is_never_listed(tmp_path: Path) -> None:
    ds = _upload(tmp_path)
    folder = tmp_path / "datasets" / ds
    folder.rename(folder.with_name(f".deleted-{ds}-1234abcd"))  # a crash after the rename
    assert [d.id for d in studio.list_datasets(tmp_path) if d.kind == "upload"] == []
    other = _upload(tmp_path, LOG + b"u3,a\n", "other.csv")
    studio.delete_dataset(tmp_path, other)  # the next delete sweeps the leftover
    assert list((tmp_path / "datasets").iterdir()) == []


def test_a_dataset_jobs_use_is_not_deleted(tmp_path: Path) -> None:
    ds = _upload(tmp_path)
    assert studio.dataset_in_use(tmp_path, ds) is None
    job_id = _job_on(tmp_path, ds)
    assert studio.jobs_using_dataset(tmp_path, ds) == [job_id]
    with pytest.raises(studio.InUseError, match=f"used by 1 job.*{job_id}.*delete those jobs"):
        studio.delete_dataset(tmp_path, ds)
    assert studio.get_dataset(tmp_path, ds).interactions.is_file()
    studio.delete_job(tmp_path, job_id)
    studio.delete_dataset(tmp_path, ds)
    assert ds not in [d.id for d in studio.list_datasets(tmp_path)]


def test_a_running_job_is_not_deleted_until_cancelled(tmp_path: Path) -> None:
    ds = _upload(tmp_path)
    job_id = _job_on(tmp_path, ds, finish=False)
    with pytest.raises(studio.InUseError, match="is running: cancel it first"):
        studio.delete_job(tmp_path, job_id)
    assert JobStore(tmp_path).get(job_id).state == "running"
    assert studio.cancel_job(tmp_path, job_id) == "running"  # asked; its worker stops it
    JobStore(tmp_path).finish(job_id, "cancelled", error="cancelled on request")
    studio.delete_job(tmp_path, job_id)
    with pytest.raises(UnknownJobError):
        JobStore(tmp_path).get(job_id)
    assert not job_dir(tmp_path, job_id, create=False).exists()
    assert studio.finished_jobs(tmp_path) == []


def test_job_labels_show_the_job_and_dataset_names(tmp_path: Path) -> None:
    ds = _upload(tmp_path)
    job_id = _job_on(tmp_path, ds)
    assert studio.job_labels(tmp_path)[job_id].startswith(f"{job_id} · shop.csv · ")
    studio.rename_job(tmp_path, job_id, "baseline run")
    studio.rename_dataset(tmp_path, ds, "Shop")
    label = studio.job_labels(tmp_path)[job_id]
    assert label.startswith("baseline run · Shop · ") and label.endswith("ndcg@10 0.250")
    studio.rename_job(tmp_path, job_id, "  ")  # blank: back to the id
    assert studio.job_labels(tmp_path)[job_id].startswith(f"{job_id} · Shop · ")
    with pytest.raises(RecolabError, match="at most 80"):
        studio.rename_job(tmp_path, job_id, "y" * 81)


def test_a_dataset_a_queued_or_running_job_reads_is_not_deleted(tmp_path: Path) -> None:
    ds = _upload(tmp_path)
    running = _job_on(tmp_path, ds, finish=False)
    queued = studio.submit_training(tmp_path, ds, {}, start_worker=False)
    studio.rename_job(tmp_path, queued, "nightly")
    reason = (
        f"dataset {ds} is used by 2 job(s) (nightly ({queued}, queued), {running} (running)): "
        "cancel the queued or running one(s), then delete those jobs first"
    )
    assert studio.dataset_in_use(tmp_path, ds) == reason  # what the Data page shows
    with pytest.raises(studio.InUseError) as caught:
        studio.delete_dataset(tmp_path, ds)
    assert str(caught.value) == reason
    assert studio.get_dataset(tmp_path, ds).interactions.is_file()
    assert JobStore(tmp_path).get(queued).state == "queued"  # nothing was touched


def test_a_submit_on_a_dataset_deleted_meanwhile_is_refused_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dataset goes between the page building the spec and the job being queued."""
    from recolab.studio import jobs as studio_jobs

    ds = _upload(tmp_path)
    real = studio_jobs.training_spec

    def spec_then_delete(*args: object, **kwargs: object) -> dict:
        spec = real(*args, **kwargs)
        studio.delete_dataset(tmp_path, ds)  # e.g. from another tab
        return spec

    monkeypatch.setattr(studio_jobs, "training_spec", spec_then_delete)
    with pytest.raises(RecolabError) as caught:
        studio.submit_training(tmp_path, ds, {}, start_worker=False)
    assert str(caught.value) == (
        f"dataset {ds} was deleted while the job was being queued: nothing was queued; "
        "choose another dataset"
    )
    assert JobStore(tmp_path).list() == []
