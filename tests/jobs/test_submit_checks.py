"""What ``jobs submit`` refuses before anything is queued, the task allow-list, ``jobs
retry`` and the worker's idle exit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recolab.cli import main
from recolab.jobs import (
    AUTO_IDLE_EXIT_S,
    FAILED,
    QUEUED,
    SUCCEEDED,
    JobStore,
    ensure_worker,
    live_worker_pid,
    pid_alive,
    run_worker,
    tasks,
)
from recolab.jobs.tasks import JobSpecError, UnknownTaskError
from tests.jobs.conftest import REPO, child_env, wait_for


def submit(root: Path, *args: str) -> int:
    return main(["jobs", "submit", "--home", str(root), "--no-worker", *args])


@pytest.fixture
def train(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    path.write_text("user,item\n1,2\n")
    return path


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "toml",
    [
        "[train]\nepochs = 4\nlr = 0.01\nmodel = 'weighted'\n",  # as the README documents
        "epochs = 4\nlr = 0.01\nmodel = 'weighted'\n",
    ],
    ids=["train-table", "top-level"],
)
def test_config_table_or_top_level_is_accepted(root, tmp_path, train, capsys, toml):
    assert submit(root, "--train", str(train), "--config", _config(tmp_path, toml)) == 0
    job = JobStore(root).get(capsys.readouterr().out.strip())
    assert job.spec["config"] == {"epochs": 4, "lr": 0.01, "model": "weighted"}


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("[objectives]\nnovelty = 0.5\n", "unknown training option(s) in config: objectives"),
        ("epochs = 3\n[train]\nlr = 0.1\n", "both under [train] and at the top level (epochs)"),
        ("[train]\nepochs = '3'\n", "config.epochs must be int, got '3' (str)"),
        ("[train]\nepochs = 2.5\n", "config.epochs must be int"),
        ("[train]\nuse_text = 1\n", "config.use_text must be bool"),
        ("[train]\nlr = nan\n", "config.lr must be finite"),
        ("[train]\nlr = -0.1\n", "config.lr must be > 0"),
        ("[train]\nnovelty = -1\n", "config.novelty must be ≥ 0"),
        ("[train]\nholdout = 2.0\n", "holdout must be in (0, 1)"),
        ("[train]\nmodel = 'bogus'\n", "model must be one of"),
        ("[train]\nepochs = = 3\n", "not valid TOML"),
    ],
)
def test_bad_config_is_refused_at_submit(root, tmp_path, train, caplog, toml, words):
    assert submit(root, "--train", str(train), "--config", _config(tmp_path, toml)) == 2
    assert words in caplog.text
    assert JobStore(root).list() == []


def test_bad_files_and_spec_keys_are_refused_at_submit(root, tmp_path, train, caplog):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    cases = [
        (["--train", str(tmp_path)], "is a folder, not a file"),
        (["--train", str(fifo)], "not a regular file"),
        (["--train", str(train), "--items", str(tmp_path / "nope.csv")], "items file not found"),
        (["--train", str(train), "--spec-json", '{"bogus": 1}'], "unknown key(s) bogus"),
        (["--train", str(train), "--spec-json", '{"prune_to": 2}'], "prune_to must be"),
        (["--train", str(train), "--spec-json", '{"device": "tpu"}'], "device must be"),
        (["--train", str(train), "--spec-json", '{"sample": "ml-100k"}'], "exactly one of"),
        (["--train", str(train), "--spec-json", '{"config": {"epochs": true}}'], "must be int"),
        (["--train", str(train), "--spec-json", "[1]"], "must be a JSON object"),
    ]
    for args, words in cases:
        caplog.clear()
        assert submit(root, *args) == 2, args
        assert words in caplog.text, (args, caplog.text)
    assert JobStore(root).list() == []


def test_store_submit_validates_too(store, train):
    with pytest.raises(JobSpecError, match="train file not found"):
        store.submit(tasks.TRAINING_TASK, {"train": "/no/such/file.csv"})
    job_id = store.submit("recolab.training:run_training_job", {"train": str(train)})  # alias
    assert store.get(job_id).spec == {"train": str(train.resolve()), "config": {}}
    assert [j.id for j in store.list()] == [job_id]


def test_task_allow_list(root, train, caplog):
    for task in ("builtins:print", "os:system", "tests.jobs.tasks:count", "train.py"):
        caplog.clear()
        assert submit(root, "--train", str(train), "--task", task) == 2
        assert f"unknown task {task!r}" in caplog.text and "never a module path" in caplog.text
    assert JobStore(root).list() == []
    r = subprocess.run(  # and through a real process: one line, nothing run
        [
            sys.executable,
            "-m",
            "recolab",
            "jobs",
            "submit",
            "--train",
            str(train),
            "--task",
            "builtins:print",
            "--no-worker",
        ],
        cwd=REPO,
        env=child_env(root),
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "unknown task" in r.stderr


def _module_fn(spec, ctx):
    return {}


def test_register_rules():
    def local(spec, ctx):
        return {}

    with pytest.raises(ValueError, match="module-level function"):
        tasks.register("test.local", local)
    with pytest.raises(ValueError, match="module-level function"):
        tasks.register("test.lambda", lambda spec, ctx: {})
    task = tasks.register("test.module_fn", _module_fn)
    assert task.target == "tests.jobs.test_submit_checks:_module_fn"
    assert tasks.register("test.module_fn", _module_fn) == task  # idempotent
    with pytest.raises(ValueError, match="already registered"):
        tasks.register("test.module_fn", "os:system")
    assert tasks.get("recolab.training:run_training_job").name == "train"
    with pytest.raises(UnknownTaskError):
        tasks.get("builtins:print")


def test_bad_plugin_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(tasks.PLUGINS_ENV, "no_such_module_here")
    with pytest.raises(Exception, match="RECOLAB_TASK_MODULES names 'no_such_module_here'"):
        tasks.get("train")


def test_retry_queues_a_new_job_with_the_same_spec(root, train, capsys, caplog):
    home = ["--home", str(root)]
    assert submit(root, "--train", str(train), "--task", "test.count") == 0
    first = capsys.readouterr().out.strip()
    assert main(["jobs", "retry", first, *home, "--no-worker"]) == 2
    assert f"job {first} is still queued" in caplog.text
    store = JobStore(root)
    store.claim_next(os.getpid())
    store.finish(first, FAILED, error="the machine crashed")
    assert main(["jobs", "retry", first, *home, "--no-worker"]) == 0
    second = capsys.readouterr().out.strip()
    old, new = store.get(first), store.get(second)
    assert second != first and new.state == QUEUED and old.state == FAILED
    assert (new.task, new.spec) == (old.task, old.spec)
    assert store.events(second)[-1]["message"] == f"retry of job {first}"
    assert store.events(first)[-1]["message"] == f"retried as job {second}"
    run_worker(root, once=True, poll_s=0.05)
    assert store.get(second).state == SUCCEEDED
    # the spec is checked again: a file that is gone refuses the retry
    assert main(["jobs", "submit", *home, "--train", str(train), "--no-worker"]) == 0
    third = capsys.readouterr().out.strip()
    store.request_cancel(third)
    train.unlink()
    caplog.clear()
    assert main(["jobs", "retry", third, *home, "--no-worker"]) == 2
    assert "train file not found" in caplog.text
    assert main(["jobs", "retry", "000000000000", *home]) == 2


def test_auto_started_worker_exits_when_idle(root, store):
    pid = ensure_worker(root, idle_exit_s=0.5)
    assert pid is not None
    job_id = store.submit("test.count", {"n": 1, "device": "cpu"})
    assert store.wait(job_id, timeout=60).state == SUCCEEDED
    wait_for(lambda: not pid_alive(pid), timeout=30, what="the idle worker to exit")
    assert live_worker_pid(root) is None
    # a job submitted after it left starts a new one, as the CLI and the app do
    second = store.submit("test.count", {"n": 1, "device": "cpu"})
    new_pid = ensure_worker(root, idle_exit_s=0.5)
    assert new_pid is not None and new_pid != pid
    assert store.wait(second, timeout=60).state == SUCCEEDED


def test_auto_started_worker_has_a_default_idle_exit(root):
    pid = ensure_worker(root)
    assert pid is not None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert b"--idle-exit" in cmdline
        assert float(cmdline[cmdline.index(b"--idle-exit") + 1]) == AUTO_IDLE_EXIT_S
        assert 60 <= AUTO_IDLE_EXIT_S <= 900  # "a few minutes"
    finally:
        wait_for(lambda: live_worker_pid(root), what="worker to take the lock")
        os.kill(pid, 15)


def test_submit_passes_idle_exit_to_the_worker(root, train):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "recolab",
            "jobs",
            "submit",
            "--train",
            str(train),
            "--task",
            "test.count",
            "--device",
            "cpu",
            "--idle-exit",
            "0.5",
        ],
        cwd=REPO,
        env=child_env(root),
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    job_id = r.stdout.strip()
    store = JobStore(root)
    assert store.wait(job_id, timeout=60).state == SUCCEEDED
    pid = store.get(job_id).worker_pid
    wait_for(lambda: not pid_alive(pid), timeout=30, what="the worker to exit when idle")


def test_reader_reaps_a_job_whose_worker_and_process_died(root, store, start_worker):
    import signal

    job_id = store.submit("test.count", {"n": 2000, "sleep": 0.05, "device": "cpu"})
    worker = start_worker()
    wait_for(lambda: store.get(job_id).child_pid, what="the job process")
    child = store.get(job_id).child_pid
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its job process, at once
    wait_for(lambda: not pid_alive(child) and not pid_alive(worker.pid), what="both gone")
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "recolab", "jobs", "show", job_id],
        cwd=REPO,
        env=child_env(root),
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "state:     failed" in r.stdout and "worker died" in r.stdout
    assert time.monotonic() - t0 < 30  # well within the heartbeat window (60 s)
