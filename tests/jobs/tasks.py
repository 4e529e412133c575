"""Small real tasks for the job tests, registered as ``test.<name>`` when imported.

Tests import this module (conftest does); worker subprocesses get it through
``$RECOLAB_TASK_MODULES`` (see :func:`tests.jobs.conftest.child_env`). The job process
imports the function the worker looked up in the registry.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from recolab.jobs import Cancelled, JobContext, JobStore, tasks


def count(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Emit ``n`` progress events (``sleep`` s apart), honour cancel, write one artifact."""
    n = int(spec.get("n", 5))
    for i in range(n):
        if ctx.should_stop():
            raise Cancelled("stopped by request")
        ctx.progress({"epoch": i + 1, "epochs": n, "loss": 1.0 / (i + 1)})
        time.sleep(float(spec.get("sleep", 0.0)))
    with ctx.atomic_artifact("model.json") as tmp:
        tmp.write_text(json.dumps({"epochs": n}))
    return {
        "bundle": str(ctx.artifact_path("model.json")),
        "n": n,
        "device": ctx.device,
        "pid": os.getpid(),
        "streamlit_loaded": "streamlit" in sys.modules,
        "started": ctx.store.get(ctx.job_id).started,
        "ended": time.time(),
    }


def boom(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Fail with an ordinary exception after one progress event."""
    ctx.progress({"epoch": 1})
    raise ValueError("boom at epoch 1")


def crash(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Die hard (``os._exit(3)``) in the middle of writing an artifact."""
    ctx.progress({"epoch": 1})
    with ctx.atomic_artifact("model.zip") as tmp:
        tmp.write_bytes(b"half a model")
        os._exit(3)
    return {}


def stubborn(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Ignore cancellation; just sleep (up to 60 s) while reporting now and then."""
    deadline = time.monotonic() + 60
    i = 0
    while time.monotonic() < deadline:
        i += 1
        ctx.progress({"epoch": i})
        time.sleep(0.2)
    return {}


def oom(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Run out of CUDA memory while batch_size > spec['fits'].

    With ``spec["torch"]`` it raises torch's own ``torch.cuda.OutOfMemoryError``; without,
    the ``RuntimeError("CUDA out of memory...")`` older torch versions raise (and no torch
    import, which keeps the test fast).
    """
    batch = spec["config"].get("batch_size", 256)
    if batch > spec["fits"]:
        if spec.get("torch"):
            import torch

            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory (batch_size {batch})")
        raise RuntimeError(f"CUDA out of memory. Tried to allocate {batch} MiB")
    return {"batch_size": batch}


def not_json(spec: dict[str, Any], ctx: JobContext) -> Any:
    """Return something that is not a JSON dict."""
    return {"when": object()}


def reader(root: str, job_id: str, out_path: str, max_s: float) -> None:
    """Hammer the store from another process until the job is done and fully read.

    Writes what it saw as JSON to ``out_path``: errors, seqs, number of list() calls.
    """
    store = JobStore(root)
    seqs: list[int] = []
    errors: list[str] = []
    lists = 0
    last = 0
    deadline = time.monotonic() + max_s
    done_seen = False
    while time.monotonic() < deadline:
        try:
            for e in store.events(job_id, after_seq=last):
                if e["seq"] != last + 1:
                    errors.append(f"seq {e['seq']} after {last}")
                last = e["seq"]
                seqs.append(last)
            store.list(limit=20)
            lists += 1
            job = store.get(job_id)
            if done_seen:
                break  # one more full read after seeing the job final
            done_seen = job.done
        except Exception as exc:  # recorded, asserted on by the test
            errors.append(repr(exc))
    Path(out_path).write_text(json.dumps({"errors": errors, "seqs": seqs, "lists": lists}))


def cuda_alloc(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Really allocate on ``ctx.device``: ~``batch_size`` TiB fails, a tiny batch fits."""
    import torch

    batch = spec["config"]["batch_size"]
    n = batch * 2**38 if batch > spec["fits"] else 1024  # float32: batch TiB
    x = torch.ones(n, device=ctx.device)
    return {"batch_size": batch, "device": str(x.device), "sum": float(x.sum())}


def lose_input(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Read ``spec["train"]`` after it was removed mid-run (as a dataset deleted by hand)."""
    ctx.progress({"epoch": 1})
    Path(spec["train"]).unlink()
    return {"size": len(Path(spec["train"]).read_bytes())}


for _fn in (count, boom, crash, stubborn, oom, not_json, cuda_alloc, lose_input):
    tasks.register(f"test.{_fn.__name__}", _fn)
