"""``python -m recolab jobs ...`` and ``worker`` as real subprocesses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from recolab.cli import main
from recolab.jobs import CANCELLED, JobStore, live_worker_pid
from tests.jobs.conftest import REPO, child_env, wait_for

COUNT = "test.count"


def cli(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m recolab ARGS`` in a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "recolab", *args],
        cwd=REPO,
        env=child_env(root),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_submit_starts_worker_then_list_show_wait(root, tmp_path, capsys):
    train = tmp_path / "train.csv"
    train.write_text("user,item\n1,2\n")
    r = cli(
        root,
        "jobs",
        "submit",
        "--train",
        str(train),
        "--device",
        "cpu",
        "--task",
        COUNT,
        "--spec-json",
        '{"n": 3, "sleep": 0.05}',
    )
    assert r.returncode == 0, r.stderr
    job_id = r.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{12}", job_id)  # the id and nothing else
    wait_for(lambda: live_worker_pid(root), what="the worker submit started")

    r = cli(root, "jobs", "wait", job_id, "--timeout", "30")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == f"{job_id} succeeded"

    code, out = cli_inproc(root, capsys, "jobs", "list")
    assert code == 0
    header, row = out.splitlines()[:2]
    assert header.split() == ["ID", "STATE", "CREATED", "EPOCH", "DEVICE"]
    assert row.split()[0] == job_id and row.split()[1] == "succeeded"
    assert row.split()[-2:] == ["3/3", "cpu"]

    code, out = cli_inproc(root, capsys, "jobs", "show", job_id)
    assert code == 0
    bundle = str(root.resolve() / "jobs" / job_id / "model.json")
    assert f"bundle:    {bundle}" in out
    assert str(train.resolve()) in out  # the spec, with the absolute train path
    assert '"kind": "progress"' in out

    code, out = cli_inproc(root, capsys, "jobs", "show", job_id, "--json")
    data = json.loads(out)
    assert data["state"] == "succeeded" and data["result"]["bundle"] == bundle
    assert data["spec"]["train"] == str(train.resolve()) and data["spec"]["device"] == "cpu"


def cli_inproc(root: Path, capsys, *args: str) -> tuple[int, str]:
    """Run the same CLI in this process (cheaper); returns (exit code, stdout)."""
    code = main([*args, "--home", str(root)])
    return code, capsys.readouterr().out


def test_submit_config_cancel_and_wait_failure(root, tmp_path, capsys):
    train = tmp_path / "train.csv"
    train.write_text("user,item\n1,2\n")
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[train]\nepochs = 3\nbatch_size = 128\nnovelty = 0.5\n")  # as the README
    items = tmp_path / "items.csv"
    items.write_text("item,title\n2,x\n")
    code, out = cli_inproc(
        root,
        capsys,
        "jobs",
        "submit",
        "--train",
        str(train),
        "--items",
        str(items),
        "--config",
        str(cfg),
        "--epochs",
        "7",
        "--no-worker",
    )
    assert code == 0
    job_id = out.strip()
    assert live_worker_pid(root) is None
    job = JobStore(root).get(job_id)
    assert job.task == "train"  # the registered name of the training task
    assert job.spec == {
        "train": str(train.resolve()),
        "items": str(items.resolve()),
        "config": {"epochs": 7, "batch_size": 128, "novelty": 0.5},
        "device": "auto",
    }
    code, out = cli_inproc(root, capsys, "jobs", "cancel", job_id)
    assert code == 0 and out.strip() == f"{job_id} cancelled"
    assert JobStore(root).get(job_id).state == CANCELLED
    code, out = cli_inproc(root, capsys, "jobs", "wait", job_id, "--timeout", "5")
    assert code == 1 and out.strip() == f"{job_id} cancelled: cancelled before it started"


def test_cli_errors_exit_2(root, tmp_path, capsys, caplog):
    code, _ = cli_inproc(
        root, capsys, "jobs", "submit", "--train", str(tmp_path / "missing.csv"), "--no-worker"
    )
    assert code == 2 and "train file not found" in caplog.text
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = = 3")
    train = tmp_path / "t.csv"
    train.write_text("u,i\n")
    code, _ = cli_inproc(
        root, capsys, "jobs", "submit", "--train", str(train), "--config", str(bad), "--no-worker"
    )
    assert code == 2 and "not valid TOML" in caplog.text
    code, _ = cli_inproc(root, capsys, "jobs", "show", "000000000000")
    assert code == 2 and "no job with id '000000000000'" in caplog.text
    assert JobStore(root).list() == []
    # and once through a real subprocess: the message reaches stderr
    r = cli(root, "jobs", "cancel", "000000000000")
    assert r.returncode == 2 and "no job with id '000000000000'" in r.stderr


def test_submit_keeps_item_and_user_files_in_the_spec(root, tmp_path, capsys):
    train, items, users = (tmp_path / n for n in ("t.csv", "items.csv", "users.csv"))
    for f in (train, items, users):
        f.write_text("id\n")
    args = ["--train", str(train), "--items", str(items), "--users", str(users)]
    code, out = cli_inproc(root, capsys, "jobs", "submit", *args, "--no-worker")
    assert code == 0
    code, out = cli_inproc(root, capsys, "jobs", "show", out.strip(), "--json")
    spec = json.loads(out)["spec"]
    assert spec["items"] == str(items.resolve()) and spec["users"] == str(users.resolve())
    assert "users_mapping" not in spec
    code, out = cli_inproc(
        root, capsys, "jobs", "submit", *args, "--users-id-column", "member", "--no-worker"
    )
    code, out = cli_inproc(root, capsys, "jobs", "show", out.strip(), "--json")
    assert json.loads(out)["spec"]["users_mapping"] == {"user": "member"}


def test_users_id_column_needs_users(root, tmp_path, capsys, caplog):
    train = tmp_path / "t.csv"
    train.write_text("u,i\n")
    code, _ = cli_inproc(
        root, capsys, "jobs", "submit", "--train", str(train), "--users-id-column", "m"
    )
    assert code == 2 and "--users-id-column needs --users" in caplog.text
    assert JobStore(root).list() == []


def test_wait_timeout_and_worker_once(root, tmp_path, capsys):
    train = tmp_path / "t.csv"
    train.write_text("u,i\n")
    code, out = cli_inproc(
        root,
        capsys,
        "jobs",
        "submit",
        "--train",
        str(train),
        "--device",
        "cpu",
        "--no-worker",
        "--task",
        "test.boom",
    )
    job_id = out.strip()
    code, out = cli_inproc(root, capsys, "jobs", "wait", job_id, "--timeout", "0.2")
    assert code == 1 and out.strip() == f"{job_id} still queued after 0.2 s"
    r = cli(root, "worker", "--once")
    assert r.returncode == 0, r.stderr
    assert live_worker_pid(root) is None  # --once returned and gave the lock back
    r = cli(root, "jobs", "wait", job_id, "--timeout", "5")
    assert r.returncode == 1
    assert r.stdout.strip() == f"{job_id} failed: ValueError: boom at epoch 1"
