"""Train page: the test split (time splits only for timestamped data) and repeat purchases,
carried by the job spec through the worker into the bundle; the job shows its split."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import recolab
from recolab import studio
from recolab.data.splits import SPLIT_CHOICES
from recolab.errors import JobSpecError, RecolabError
from recolab.jobs import SUCCEEDED, JobContext, JobStore
from recolab.jobs.specs import validate_training_spec
from recolab.jobs.workspace import job_dir
from recolab.pipeline import run_training_job

from .helpers import no_exception, run_app


def _log(timed: bool, rating: bool = False) -> bytes:
    """A small behaviour log: 40 users × 8 of 30 items, interleaved in time."""
    rng = np.random.default_rng(0)
    rows = []
    for step in range(8):
        for u in range(40):
            rows.append({"user": f"u{u}", "item": f"i{rng.integers(30)}", "ts": step * 100 + u})
    frame = pd.DataFrame(rows).drop_duplicates(["user", "item"])
    if rating:
        frame["rating"] = 1 + (frame.index % 5)
    frame = frame.rename(columns={"ts": "timestamp"}) if timed else frame.drop(columns="ts")
    return frame.to_csv(index=False).encode()


def _train_page(dataset_id: str) -> AppTest:
    at = run_app(dataset=dataset_id)
    at.switch_page("pages/train.py").run()
    no_exception(at)
    return at


def test_split_help_names_every_split() -> None:
    assert set(studio.SPLIT_HELP) == {"auto", *SPLIT_CHOICES}
    assert all(studio.SPLIT_HELP.values())


def test_timed_log_offers_every_split_and_repeat(home: Path) -> None:
    info = studio.save_upload(home, "log.csv", _log(timed=True))
    at = _train_page(info.id)
    radio = at.radio(key="opt_split")
    assert radio.options == ["auto", "temporal", "random", "last-basket"]
    captions = list(radio.proto.captions)
    assert len(captions) == 4 and all(captions)
    assert captions[0].startswith("temporal here")  # what auto becomes for this log
    at.radio(key="opt_split").set_value("last-basket")
    at.checkbox(key="opt_repeat").check()
    at.checkbox(key="opt_text").uncheck()
    at.radio(key="opt_device").set_value("cpu")
    at.button(key="start_training").click().run()
    no_exception(at)
    (job,) = JobStore(home).list()
    JobStore(home).request_cancel(job.id)
    assert job.spec["split"] == "last-basket" and job.spec["config"]["repeat"] is True
    assert "sample" not in job.spec


def test_untimed_ratings_offer_no_time_split_and_no_repeat(home: Path) -> None:
    info = studio.save_upload(home, "ratings.csv", _log(timed=False, rating=True))
    at = _train_page(info.id)
    radio = at.radio(key="opt_split")
    assert radio.options == ["auto", "random"]
    assert radio.proto.captions[0].startswith("random here")
    assert not [c for c in at.checkbox if c.key == "opt_repeat"]  # ratings are no log
    at.checkbox(key="opt_text").uncheck()
    at.radio(key="opt_device").set_value("cpu")
    at.button(key="start_training").click().run()
    no_exception(at)
    (job,) = JobStore(home).list()
    JobStore(home).request_cancel(job.id)
    assert job.spec["split"] == "auto" and job.spec["config"]["repeat"] is False


def test_sample_keeps_its_own_split(home: Path) -> None:
    at = _train_page("retail-sample")
    assert not [r for r in at.radio if r.key == "opt_split"]
    assert any("the sample's own" in c.value for c in at.caption)
    assert [c for c in at.checkbox if c.key == "opt_repeat"]  # a purchase log
    with pytest.raises(RecolabError, match="its own split"):
        studio.training_spec(home, "retail-sample", {}, split="temporal")


def test_spec_checks_the_split(home: Path) -> None:
    info = studio.save_upload(home, "log.csv", _log(timed=True))
    spec = studio.training_spec(home, info.id, {"repeat": True}, split="temporal")
    assert validate_training_spec(spec)["split"] == "temporal"
    for bad, message in (
        ({"split": "yesterday"}, "split must be one of"),
        ({"split": "temporal", "test": spec["train"]}, "without test"),
        ({"split": "random", "valid": spec["train"]}, "carved out"),
    ):
        with pytest.raises(JobSpecError, match=message):
            validate_training_spec({**spec, **bad})
    with pytest.raises(JobSpecError, match="own split"):
        validate_training_spec({"sample": "retail-sample", "split": "temporal"})


def test_worker_trains_on_the_split_and_the_job_shows_it(home: Path) -> None:
    """The worker's task (the CLI's training code) splits the upload in time, and the
    bundle serves repeat purchases; the Train page names the split it made."""
    info = studio.save_upload(home, "log.csv", _log(timed=True))
    config = {"tune_trials": 2, "use_text": False, "device": "cpu", "repeat": True}
    spec = studio.training_spec(home, info.id, config, split="temporal")
    store = JobStore(home)
    job_id = store.submit(studio.TRAINING_TASK, spec)
    store.claim_next(worker_pid=os.getpid())
    store.mark_started(job_id, child_pid=os.getpid(), device="cpu")
    result = run_training_job(spec, JobContext(job_id, store, job_dir(home, job_id), "cpu"))
    store.finish(job_id, SUCCEEDED, result=result)
    loaded = recolab.load(result["bundle"])
    assert loaded.repeat is True and loaded.config["protocol"]["exclude_seen"] is False
    made = loaded.config["protocol"]["split"]
    assert "temporal" in made
    at = run_app(job=job_id)
    at.switch_page("pages/train.py").run()
    no_exception(at)
    shown = [c.value for c in at.caption if c.value.startswith("**Split**")]
    assert shown == [f"**Split**: temporal · {made} · repeat purchases"]
