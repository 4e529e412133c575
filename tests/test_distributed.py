"""Distributed training (recolab.distributed): 2 gloo ranks on CPU against 1 process."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch.multiprocessing as mp

from recolab.data.synthetic import synthetic_interactions
from recolab.distributed.gram import shard_bounds
from recolab.distributed.launch import LaunchPlan
from recolab.errors import DataError, JobSpecError
from recolab.models.linear import LinearAutoencoder, LinearParams

ROOT = Path(__file__).resolve().parents[1]
#: Every option that changes the Gram matrix or the solve: DAN user and item
#: normalisation, EDLAE dropout emphasis.
PARAMS = LinearParams(l2=30.0, dropout=0.3, user_norm=0.5, item_norm=0.2)
SPAWN_TIMEOUT_S = 120


def _data():
    return synthetic_interactions(90, 40, n_interactions=1500, rank=4, seed=5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rank(rank: int, world: int, port: int, out: str) -> None:
    """One gloo rank: fit the linear model under the sharded Gram; rank 0 saves W."""
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    from recolab.distributed import distributed_gram, rank_session
    from recolab.models import linear

    with rank_session("cpu") as writes, distributed_gram():
        assert linear._gram_builder is not None  # the sharded Gram is the one in use
        model = LinearAutoencoder(PARAMS, device="cpu").fit(_data())
    if writes:
        np.save(out, model.weights_)


def test_shards_cover_every_user_once() -> None:
    bounds = [shard_bounds(7, 3, r) for r in range(3)]
    assert bounds[0][0] == 0 and bounds[-1][1] == 7
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))


def test_two_gloo_ranks_give_the_single_process_weights(tmp_path: Path) -> None:
    out = str(tmp_path / "w.npy")
    ctx = mp.spawn(_rank, args=(2, _free_port(), out), nprocs=2, join=False)
    deadline = time.monotonic() + SPAWN_TIMEOUT_S
    while not ctx.join(timeout=2):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f"2 gloo ranks did not finish in {SPAWN_TIMEOUT_S} s")
    two = np.load(out)
    one = LinearAutoencoder(PARAMS, device="cpu").fit(_data()).weights_
    diff = float(np.max(np.abs(two - one)))
    print(f"max |W(2 ranks) − W(1 process)| = {diff:.3g} (max |W| {np.abs(one).max():.3g})")
    assert diff < 1e-5
    assert np.abs(one).max() > 0.01  # a real model, not zeros on both sides


def test_launch_plan_checks_and_torchrun_args() -> None:
    one = LaunchPlan(nproc=2)
    assert one.world_size == 2 and one.distributed
    assert "--standalone" in one.torchrun_args(["m"])
    multi = LaunchPlan(nproc=2, nnodes=2, node_rank=1, master_addr="h0", master_port=29400)
    args = multi.torchrun_args(["recolab.distributed.ranks", "cli", "a.json"])
    assert args[-4:] == ["-m", "recolab.distributed.ranks", "cli", "a.json"]
    at = args.index("--node-rank")
    assert args[at : at + 2] == ["--node-rank", "1"]
    with pytest.raises(DataError, match="master-addr"):
        LaunchPlan(nproc=1, nnodes=2)
    with pytest.raises(DataError, match="node-rank"):
        LaunchPlan(nproc=1, nnodes=2, node_rank=2, master_addr="h", master_port=1)


def test_nproc_in_config_and_job_spec() -> None:
    from recolab.config import TrainConfig
    from recolab.jobs.specs import validate_training_spec

    assert TrainConfig().nproc == 1
    with pytest.raises(ValueError, match="nproc"):
        TrainConfig(nproc=2, model="weighted")
    spec = validate_training_spec({"sample": "ml-100k", "config": {"nproc": 2}})
    assert spec["config"]["nproc"] == 2
    for bad in (0, 10_000, "2"):
        with pytest.raises(JobSpecError, match="nproc"):
            validate_training_spec({"sample": "ml-100k", "config": {"nproc": bad}})


def _train(tmp_path: Path, csv: Path, name: str, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "recolab", "train", "--train", str(csv), "--device", "cpu"]
    cmd += ["--out", str(tmp_path / f"{name}.zip"), "--no-text", "--trials", "6"]
    cmd += ["--tune-seconds", "300", "--mechanism", "popularity", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_a_failing_rank_is_one_line(tmp_path: Path) -> None:
    run = _train(tmp_path, tmp_path / "missing.csv", "m", "--nproc", "2")
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert "distributed training failed: rank" in last and "missing.csv" in last


@pytest.mark.slow
def test_two_processes_train_the_single_process_model(tmp_path: Path) -> None:
    import optuna

    from recolab.bundle import load

    csv = tmp_path / "syn.csv"
    data = synthetic_interactions(300, 120, n_interactions=6000, rank=6, seed=2)
    data.frame[["user", "item", "value"]].to_csv(csv, index=False)
    for name, extra in (("one", ()), ("two", ("--nproc", "2"))):
        run = _train(tmp_path, csv, name, *extra)
        assert run.returncode == 0, run.stderr[-2000:]
    studies = []
    for name in ("one", "two"):
        url = f"sqlite:///{tmp_path / f'{name}.study.sqlite'}"
        (summary,) = optuna.get_all_study_summaries(url)
        study = optuna.load_study(study_name=summary.study_name, storage=url)
        studies.append([(t.params, t.value) for t in study.trials])
    assert len(studies[0]) == len(studies[1]) == 6
    for (p1, v1), (p2, v2) in zip(*studies, strict=True):
        assert p1 == p2  # the same seeded trials, in the same order
        assert v1 == pytest.approx(v2, abs=1e-9)  # validation scores equal to float noise
    w1, w2 = (load(tmp_path / f"{n}.zip").model.base.weights_ for n in ("one", "two"))
    assert float(np.max(np.abs(w1 - w2))) < 1e-5
    assert not (tmp_path / "two.zip.rank1").exists()
