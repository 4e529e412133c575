"""Compare runs: fronts from stored results, hypervolumes, the jobs table (known answers)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from recolab import compare
from recolab.jobs import SUCCEEDED, JobStore
from recolab.jobs.workspace import job_dir

RESULT = {
    "front": [
        {"model": "recolab", "lam": 0.0, "ndcg@10": 0.4, "coverage@20": 0.2},
        {"model": "recolab", "lam": 1.0, "ndcg@10": 0.3, "coverage@20": 0.5},
    ],
    "references": [
        {"model": "popularity", "lam": None, "ndcg@10": 0.1, "coverage@20": 0.05},
        {"model": "ease", "lam": None, "ndcg@10": 0.38, "coverage@20": 0.25},
    ],
    "metrics": {"lam": 0.0, "ndcg@10": 0.4},
    "selection": {
        "mechanism": "popularity",
        "base": {"trials": [{"score": 0.3}, {"score": 0.35}, {"score": 0.33}]},
        "mechanisms": [
            {"name": "popularity", "front": [{"lam": 0.0, "ndcg@10": 0.5, "coverage@20": 0.3}]},
            {"name": "mmr", "front": [{"lam": 0.0, "ndcg@10": 0.5, "coverage@20": 0.2}]},
        ],
    },
}


def test_test_fronts_name_the_run_and_its_peers() -> None:
    rows = compare.run_fronts(RESULT, "A", "test")
    assert rows["curve"].tolist() == ["A", "A", "A · popularity", "A · ease"]
    assert rows["kind"].tolist() == ["run", "run", "peer", "peer"]
    assert (rows["job"] == "A").all()


def test_validation_fronts_are_the_mechanisms() -> None:
    rows = compare.run_fronts(RESULT, "A", "validation")
    assert rows["curve"].tolist() == ["A (popularity)", "A · mmr"]
    assert rows["kind"].tolist() == ["run", "peer"]
    assert compare.run_fronts({"front": RESULT["front"]}, "W", "validation").empty
    with pytest.raises(ValueError, match="source"):
        compare.run_fronts(RESULT, "A", "train")


def test_hypervolume_per_curve_by_hand() -> None:
    rows = compare.run_fronts(RESULT, "A", "test")
    hv = compare.hypervolumes(rows, "ndcg@10", "coverage@20").set_index("curve")
    # (0.4, 0.2) and (0.3, 0.5) from the origin: 0.4·0.2 + 0.3·(0.5 − 0.2) = 0.17
    assert hv.loc["A", "hypervolume"] == pytest.approx(0.17)
    assert hv.loc["A · ease", "hypervolume"] == pytest.approx(0.38 * 0.25)
    assert hv.loc["A · popularity", "hypervolume"] == pytest.approx(0.005)
    assert hv.index[0] == "A" and hv.loc["A", "points"] == 2


def test_shared_metrics_and_csv() -> None:
    rows = compare.run_fronts(RESULT, "A", "test")
    assert compare.shared_metrics(rows) == ["ndcg@10", "coverage@20"]
    back = pd.read_csv(pd.io.common.BytesIO(compare.to_csv_bytes(rows)))
    assert back["curve"].tolist() == rows["curve"].tolist()


def _finished(root: Path, dataset: str, result: dict) -> str:
    store = JobStore(root)
    spec = {"sample": dataset, "dataset": dataset, "config": {"model": "auto", "tune_trials": 9}}
    job_id = store.submit("train", spec)
    store.claim_next(worker_pid=os.getpid())
    job_dir(root, job_id).mkdir(parents=True, exist_ok=True)
    (job_dir(root, job_id) / "result.json").write_text(json.dumps(result))
    store.finish(job_id, SUCCEEDED, result={"metrics": result["metrics"]})
    return job_id


def test_overlay_and_jobs_table_of_two_runs(tmp_path: Path) -> None:
    a = _finished(tmp_path, "ml-100k", RESULT)
    b = _finished(tmp_path, "retail-sample", {**RESULT, "metrics": {"lam": 0.2, "ndcg@10": 0.3}})
    frame = compare.overlay(tmp_path, [a, b, a], "test", names={a: "first"})
    assert frame["job"].unique().tolist() == ["first", b]
    assert len(frame) == 8
    table = compare.jobs_table(tmp_path).set_index("id")
    assert table.loc[a, "dataset"] == "ml-100k" and table.loc[b, "dataset"] == "retail-sample"
    assert table.loc[a, "trials"] == 3  # trials run, from the stored study, not the 9 asked
    assert table.loc[b, "ndcg@10"] == 0.3 and table.loc[b, "λ served"] == 0.2
    assert table.loc[a, "mechanism"] == "popularity" and table.loc[a, "state"] == "succeeded"
