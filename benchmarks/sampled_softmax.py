"""Full against sampled softmax of the weighted model: epoch seconds and validation accuracy.

1. Seconds per epoch, one thread, on synthetic data with the same number of interactions and
   users and a catalogue of 2 k, 8 k and 32 k items (``item_item="off"``: the EASE memory is a
   one-off cost before training and is off above 20 k items anyway; no validation).
2. ML-100K u1: validation recall@20 / ndcg@10 of both, with and without the item-item
   memory, validation carved at random (20 %) out of u1.base (u1.test is not read); each run
   early-stops on that validation, as ``train`` does, and is measured at λ = 0.

Writes ``benchmarks/sections/sampled_softmax.md`` (not part of ``RESULTS.md``'s order).

Usage::

    python benchmarks/sampled_softmax.py [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from report import checkout, markdown_table  # noqa: E402

log = logging.getLogger("benchmarks.sampled_softmax")
SIZES = (2_000, 8_000, 32_000)
N_USERS = 3_000
N_INTERACTIONS = 100_000
EPOCHS = 3
ACCURACY_COLUMNS = [
    *("softmax", "item-item", "recall@20", "ndcg@10", "best epoch", "candidates"),
    *("train s", "load"),
]
ML100K = HERE.parent.parent / "shared" / "datasets" / "ml-100k"


def epoch_seconds(softmax: str, n_items: int) -> tuple[float, float]:
    """Mean seconds per epoch (after the first) of a run on the synthetic set, and the mean
    candidate set size (the catalogue for the full softmax)."""
    from recolab.config import TrainConfig
    from recolab.data.synthetic import synthetic_interactions
    from recolab.models.weighted import WeightedObjectiveRecommender

    data = synthetic_interactions(N_USERS, n_items, n_interactions=N_INTERACTIONS, seed=0)
    events: list[dict] = []
    cfg = TrainConfig(
        model="weighted", epochs=EPOCHS, softmax=softmax, item_item="off", device="cpu"
    )
    WeightedObjectiveRecommender(cfg).fit(data, on_progress=events.append)
    elapsed = [e["elapsed_s"] for e in events]
    seconds = (elapsed[-1] - elapsed[0]) / (len(elapsed) - 1)
    return seconds, float(events[-1].get("candidates", n_items))


def ml100k_validation(softmax: str, item_item: str, epochs: int) -> dict[str, float]:
    """Validation metrics on ML-100K u1.base (fit part / validation part)."""
    from recolab.config import TrainConfig
    from recolab.data.io import load_interactions
    from recolab.data.splits import random_holdout
    from recolab.evaluation import evaluate
    from recolab.models.weighted import WeightedObjectiveRecommender

    base = load_interactions(ML100K / "u1.base", items=ML100K / "u.item")  # not u1.test
    fit, valid = random_holdout(base, 0.2, seed=0)
    cfg = TrainConfig(
        model="weighted", epochs=epochs, softmax=softmax, item_item=item_item, device="cpu"
    )
    events: list[dict] = []
    start = time.perf_counter()
    model = WeightedObjectiveRecommender(cfg).fit(fit, valid=valid, on_progress=events.append)
    seconds = time.perf_counter() - start
    m = evaluate(model, fit, valid, ks=(10, 20), lam=0.0).metrics
    return {
        "recall@20": m["recall@20"],
        "ndcg@10": m["ndcg@10"],
        "best epoch": str(model.train_result_.best_epoch),
        "candidates": float(events[-1].get("candidates", base.n_items)),
        "train s": seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="at most 10 ML-100K epochs (default 60)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    timing = []
    for n_items in SIZES:
        row: dict[str, object] = {"items": n_items}
        for softmax in ("full", "sampled"):
            seconds, candidates = epoch_seconds(softmax, n_items)
            row[f"{softmax} s/epoch"] = seconds
            if softmax == "sampled":
                row["candidates"] = candidates
            log.info("%d items, %s: %.2f s/epoch", n_items, softmax, seconds)
        row["load"] = f"{os.getloadavg()[0]:.2f}"
        timing.append(row)
    accuracy = []
    for item_item, softmax in itertools.product(("auto", "off"), ("full", "sampled")):
        row = {
            "softmax": softmax,
            "item-item": item_item,
            **ml100k_validation(softmax, item_item, 10 if args.quick else 60),
        }
        row["load"] = f"{os.getloadavg()[0]:.2f}"
        accuracy.append(row)
        log.info("ML-100K %s: %s", softmax, row)
    text = "\n".join(
        [
            "## Sampled softmax of the weighted model (one thread)",
            "",
            f"`python benchmarks/sampled_softmax.py` on commit {checkout()}. Seconds per epoch"
            f" (mean of epochs 2-{EPOCHS}) on synthetic data, {N_USERS:,} users ×"
            f" {N_INTERACTIONS:,} interactions, the catalogue growing; defaults (batch 256,"
            " dim 64, 1024 draws), no item-item memory; candidates = mean size of a batch's"
            " candidate set (positives ∪ draws). Load = 1-minute load average of the 2-core"
            " machine after the row.",
            "",
            markdown_table(
                timing, ["items", "full s/epoch", "sampled s/epoch", "candidates", "load"], 3
            ),
            "",
            "ML-100K u1: validation (20 % of u1.base at random, seed 0; u1.test unread), each"
            " run early-stopped on it (at most 60 epochs, patience 5), metrics at λ = 0;"
            " defaults otherwise, with the EASE item-item memory (auto = on) and without it.",
            "",
            markdown_table(
                accuracy,
                ACCURACY_COLUMNS,
                4,
            ),
        ]
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    path = HERE / "sections" / "sampled_softmax.md"
    path.write_text(f"{text}\n\n_Section generated {stamp}._\n", encoding="utf-8")
    log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
