"""Incremental update against a full retrain, on the full Online Retail log (issue 15 point 3).

Months are calendar months of the log: month 1 is December 2010, month 11 October 2011,
month 12 November 2011 (the log's last days, 1-9 December 2011, are not used).

1. **Initial model**: recolab's default (:func:`recolab.tuning.fit_tuned`, validation carved
   out of its training data by time, nothing chosen on test) on months 1-11, exported as a
   bundle and loaded back.
2. **Update**: ``LoadedModel.update`` with the raw events of 1-15 November (read and cleaned
   by the training loader; new users and items added; the base re-solved once with its tuned
   options, ``l2`` rescaled; the re-ranker refitted). Timed from reading the events to the
   refitted model; also end to end (load the bundle, update, export).
3. **Retrain**: :func:`fit_tuned` again, tuning included, on months 1-11 plus 1-15 November
   (the same raw rows, loaded as one log); timed from the loaded data to the fitted model;
   also end to end (load the log, fit, export).
4. **Test**, once, on 16-30 November: users and items unknown to both models are left out
   (counted); both models know the same users and items. ndcg@10 at λ = 0 (the base) and at
   each model's served default λ, under :class:`recolab.evaluation.Protocol`.

One thread (``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``). Targets: the update's
ndcg@10 ≥ 98 % of the retrain's, in ≤ 20 % of its time.

Usage::

    python benchmarks/incremental.py            # ~10 min on one core
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pandas as pd  # noqa: E402
import torch  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from report import assemble, checkout, save_section  # noqa: E402

from recolab.bundle import export_bundle, load  # noqa: E402
from recolab.data.interactions import InteractionData, build_interactions  # noqa: E402
from recolab.data.io import load_interactions  # noqa: E402
from recolab.evaluation import evaluate  # noqa: E402
from recolab.models.tradeoff import TradeoffRecommender, interactions_from_matrix  # noqa: E402
from recolab.tuning import fit_tuned  # noqa: E402
from recolab.update import export_updated  # noqa: E402

log = logging.getLogger("benchmarks.incremental")

RETAIL = HERE.parent.parent / "shared" / "datasets" / "online-retail" / "online_retail.parquet"
#: Month 12 (November 2011): its first half updates, its second half tests.
MONTH_12, MID_12, END_12 = "2011-11-01", "2011-11-16", "2011-12-01"
TARGET_NDCG_RATIO, TARGET_TIME_RATIO = 0.98, 0.20


def _slices(folder: Path) -> dict[str, Path]:
    """The raw log cut by date into Parquet files, as an analyst would receive them."""
    raw = pd.read_parquet(RETAIL)
    when = pd.to_datetime(raw["InvoiceDate"])
    cuts = {
        "months_1_11": when < MONTH_12,
        "month_12_first_half": (when >= MONTH_12) & (when < MID_12),
        "months_1_11_5": when < MID_12,
        "month_12_second_half": (when >= MID_12) & (when < END_12),
    }
    out = {}
    for name, mask in cuts.items():
        out[name] = folder / f"{name}.parquet"
        raw[mask].to_parquet(out[name], index=False)
        log.info("%s: %d raw rows", name, int(mask.sum()))
    return out


def _fit(train: InteractionData, seed: int) -> tuple[TradeoffRecommender, float]:
    start = time.perf_counter()
    model = fit_tuned(train, seed=seed, device="cpu").recommender()
    return model, time.perf_counter() - start


def _test_on(model: TradeoffRecommender, test_raw: InteractionData) -> dict[str, Any]:
    """ndcg@10 (λ = 0 and the served λ) on the test rows whose user and item the model
    knows, in the model's own vocabularies."""
    frame = test_raw.frame
    known = (model.users_.index(frame["user"]) >= 0) & (model.items_.index(frame["item"]) >= 0)
    train = interactions_from_matrix(model.users_, model.items_, model.train_)
    test = build_interactions(
        frame[known][["user", "item", "value"]],
        kind="implicit",
        users=model.users_,
        items=model.items_,
        name="test",
    )
    out: dict[str, Any] = {"test_rows": int(known.sum()), "left_out": int((~known).sum())}
    for name, lam in (("base", 0.0), ("served", model.lam_default)):
        result = evaluate(model, train, test, ks=(10,), lam=lam)
        out[f"ndcg@10 {name}"] = result.metrics["ndcg@10"]
        out["users"] = result.n_users
    out["lam_default"] = model.lam_default
    out["mechanism"] = model.reranker.name
    return out


def run(seed: int) -> dict[str, Any]:
    """The whole comparison (see the module docstring); returns the figures."""
    with tempfile.TemporaryDirectory(prefix="recolab-incremental-") as tmp:
        folder = Path(tmp)
        files = _slices(folder)
        first = load_interactions(files["months_1_11"])
        initial, initial_s = _fit(first, seed)
        bundle = export_bundle(initial, folder / "initial.zip", lam=initial.lam_default)
        start = time.perf_counter()
        loaded = load(bundle)
        loaded_s = time.perf_counter() - start
        start = time.perf_counter()
        updated = loaded.update(files["month_12_first_half"], device="cpu")
        update_s = time.perf_counter() - start
        start = time.perf_counter()
        export_updated(updated.model, updated.config, updated.config["updates"], folder / "b2.zip")
        update_export_s = time.perf_counter() - start
        start = time.perf_counter()
        union = load_interactions(files["months_1_11_5"])
        union_load_s = time.perf_counter() - start
        retrained, retrain_s = _fit(union, seed)
        start = time.perf_counter()
        export_bundle(retrained, folder / "retrained.zip", lam=retrained.lam_default)
        retrain_export_s = time.perf_counter() - start
        test_raw = load_interactions(files["month_12_second_half"])
    return {
        "initial": {
            "seconds": initial_s,
            "users": len(initial.users_),
            "items": len(initial.items_),
        },
        "update": {**updated.config["updates"][-1], "seconds": update_s},
        "update_end_to_end_s": loaded_s + update_s + update_export_s,
        "retrain_s": retrain_s,
        "retrain_end_to_end_s": union_load_s + retrain_s + retrain_export_s,
        "same_vocabularies": set(updated.model.users_.ids) == set(retrained.users_.ids)
        and set(updated.model.items_.ids) == set(retrained.items_.ids),
        "updated": _test_on(updated.model, test_raw),
        "retrained": _test_on(retrained, test_raw),
        "l2": {"updated": updated.model.base.params.l2, "retrained": retrained.base.params.l2},
        "params": {
            "updated": updated.model.base.params.to_dict(),
            "retrained": retrained.base.params.to_dict(),
        },
        "test_rows_read": int(test_raw.report.rows_read) if test_raw.report else None,
    }


def section(r: dict[str, Any], commit: str) -> str:
    """The RESULTS.md section."""
    up, re_ = r["updated"], r["retrained"]
    ratio = {k: up[k] / re_[k] for k in ("ndcg@10 base", "ndcg@10 served")}
    time_ratio = r["update"]["seconds"] / r["retrain_s"]
    e2e_ratio = r["update_end_to_end_s"] / r["retrain_end_to_end_s"]
    u = r["update"]

    def ok(good: bool) -> str:
        return "met" if good else "**not met**"

    rows = [
        "| | update | full retrain | ratio | target |",
        "|---|---|---|---|---|",
        f"| ndcg@10, served λ | {up['ndcg@10 served']:.4f} (λ {up['lam_default']:.3g}, "
        f"{up['mechanism']}) | {re_['ndcg@10 served']:.4f} (λ {re_['lam_default']:.3g}, "
        f"{re_['mechanism']}) | {ratio['ndcg@10 served']:.3f} | ≥ {TARGET_NDCG_RATIO} "
        f"{ok(ratio['ndcg@10 served'] >= TARGET_NDCG_RATIO)} |",
        f"| ndcg@10, λ = 0 (base) | {up['ndcg@10 base']:.4f} | {re_['ndcg@10 base']:.4f} | "
        f"{ratio['ndcg@10 base']:.3f} | ≥ {TARGET_NDCG_RATIO} "
        f"{ok(ratio['ndcg@10 base'] >= TARGET_NDCG_RATIO)} |",
        f"| seconds, model building | {u['seconds']:.1f} | {r['retrain_s']:.1f} | "
        f"{time_ratio:.3f} | ≤ {TARGET_TIME_RATIO} {ok(time_ratio <= TARGET_TIME_RATIO)} |",
        f"| seconds, end to end | {r['update_end_to_end_s']:.1f} | "
        f"{r['retrain_end_to_end_s']:.1f} | {e2e_ratio:.3f} | |",
        f"| base l2 | {r['l2']['updated']:.4g} | {r['l2']['retrained']:.4g} | | |",
    ]
    p_up, p_re = r["params"]["updated"], r["params"]["retrained"]
    opts = ", ".join(f"{k} {p_up[k]:g}" for k in ("dropout", "user_norm", "item_norm", "top_k"))
    opts_re = ", ".join(f"{k} {p_re[k]:g}" for k in ("dropout", "user_norm", "item_norm", "top_k"))
    same = (
        " The retrain's tuning chose the options the initial model has, so the updated base "
        "is the retrain's base (same histories, same options, one solve): the ndcg ratio "
        "shows that identity, and the update saves the tuning. Where a retrain's tuning "
        "moves the options, the update keeps the old ones until the next retrain."
        if p_up == p_re
        else ""
    )
    return "\n".join(
        [
            "## Incremental update vs full retrain (Online Retail, one thread)",
            "",
            "`python benchmarks/incremental.py`. Months are the log's calendar months: 1 = "
            "December 2010 … 11 = October 2011, 12 = November 2011 (1-9 December 2011 unused). "
            "The initial model is recolab's default (`fit_tuned`, validation carved from its "
            f"training data by time, nothing chosen on test; {r['initial']['seconds']:.0f} s) "
            "on months 1-11, exported and loaded. **Update**: `LoadedModel.update` with the raw "
            "events of 1-15 November (read by the training loader; new users and items added; "
            "the base re-solved once from the updated histories' Gram matrix with its tuned "
            "options, l2 rescaled; the re-ranker refitted), timed from reading the events to "
            "the refitted model. **Retrain**: `fit_tuned` again, tuning included, on months 1-11 "
            "and 1-15 November loaded as one log, timed from the loaded data to the fitted "
            "model. End to end adds loading the bundle (update) or the log (retrain) and "
            "writing the bundle. **Test**, once: 16-30 November, "
            f"{up['test_rows']:,} test interactions of {up['users']:,} users "
            f"({up['left_out']:,} rows of users or items neither model knows left out); "
            "protocol as above (seen items excluded, repeat purchases of them cannot be hit).",
            "",
            f"Update: {u['rows_kept']:,} of {u['rows_read']:,} rows kept, {u['new_users']:,} "
            f"new users, {u['new_items']:,} new items, {u['pairs_added']:,} new user-item pairs "
            f"over {u['users_updated']:,} users. Both models know the same users and items: "
            f"{r['same_vocabularies']}. Base options: update {opts}; retrain {opts_re}.{same}",
            "",
            *rows,
            "",
            f"Ran on {commit}.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run, print the figures as JSON, write the section and re-assemble RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="OUT.json", help="also write the raw figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    commit = checkout(subject=True)
    figures = run(args.seed)
    text = json.dumps(figures, indent=2, default=float)
    log.info("figures:\n%s", text)
    if args.json:
        Path(args.json).write_text(text)
    save_section("incremental", section(figures, commit))
    assemble()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
