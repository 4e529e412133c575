"""recolab's default model end to end: chosen on validation, reported on test once, exported
as a bundle that serves the whole λ range."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

import recolab
from recolab.data.interactions import InteractionData
from recolab.errors import BundleError
from recolab.evaluation import evaluate
from recolab.pipeline import train_tuned_and_export
from recolab.training import TrainConfig
from recolab.tuning import tune_score
from recolab.tuning.select import TunedModel
from tests.models._ml100k import ml100k_u1


class GuardedData(InteractionData):
    """Test data that fail the test when anything reads them while ``armed``."""

    armed = False

    def __getattribute__(self, name: str) -> object:
        if type(self).armed and not name.startswith("__"):
            raise AssertionError(f"the test set was read before selection finished ({name})")
        return super().__getattribute__(name)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, InteractionData, Path]:
    train, test = ml100k_u1()
    guarded = GuardedData(**{f.name: getattr(test, f.name) for f in fields(test) if f.init})
    original = TunedModel.recommender

    def disarm_then_build(self: TunedModel, name: str | None = None) -> object:
        GuardedData.armed = False  # selection is over: the test set may be read once now
        return original(self, name)

    out = tmp_path_factory.mktemp("tuned") / "model.zip"
    GuardedData.armed = True
    TunedModel.recommender = disarm_then_build  # type: ignore[method-assign]
    try:
        config = TrainConfig(use_text=False, tune_trials=5, tune_seconds=120)
        # u1 is not split in time: said here, since reading test's timestamps is a read
        result = train_tuned_and_export(train, guarded, config, out, forward=False)
    finally:
        TunedModel.recommender = original  # type: ignore[method-assign]
        GuardedData.armed = False
    return result, test, out


@pytest.mark.slow
def test_selection_never_reads_test_and_reports_once(trained) -> None:
    result, _test, out = trained
    assert result["model_type"] == "linear-rerank"
    assert result["epochs_run"] == 5
    assert out.with_suffix(".study.sqlite").is_file()
    selection = result["selection"]
    assert selection["validation"].startswith("per-user random 20%")
    names = {m["name"] for m in selection["mechanisms"]}
    # genres and text: every mechanism but revenue (no prices)
    assert names == {
        *("popularity", "popularity-exposure", "exposure", "conditioned", "mmr", "calibration")
    }
    best = max(selection["mechanisms"], key=lambda m: m["hypervolumes"]["ndcg@10|coverage@20"])
    assert selection["mechanism"] == best["name"]
    # the tuned base is a strong model at λ = 0 (EASE with l2 = 400: ndcg@10 0.566)
    front = result["front"]
    assert front[0]["lam"] == 0.0 and front[-1]["lam"] > 0
    assert front[0]["ndcg@10"] > 0.54
    # the served default is the chosen front's most accurate λ on validation; the reported
    # metrics are the test row at that λ
    chosen = next(m for m in selection["mechanisms"] if m["name"] == selection["mechanism"])
    valid = {row["lam"]: tune_score(row) for row in chosen["front"]}
    assert chosen["lambda_default"] == max(valid, key=valid.get)
    at_default = next(r for r in front if r["lam"] == chosen["lambda_default"])
    assert result["metrics"]["ndcg@10"] == at_default["ndcg@10"]
    assert front[-1]["coverage@20"] > 1.5 * front[0]["coverage@20"]


@pytest.mark.slow
def test_bundle_serves_the_front(trained) -> None:
    result, test, out = trained
    train, _ = ml100k_u1()
    loaded = recolab.load(out)
    assert loaded.config["model_type"] == "linear-rerank"
    lo, hi = loaded.lambda_range
    assert lo == 0.0 and hi == pytest.approx(result["front"][-1]["lam"])
    default = result["selection"]["mechanisms"]
    default = next(m for m in default if m["name"] == result["selection"]["mechanism"])
    assert loaded.default_lam == pytest.approx(default["lambda_default"])
    served = loaded.recommend(["1"], k=10)  # no λ: the default
    assert list(served["item"]) == list(
        loaded.recommend(["1"], k=10, lam=loaded.default_lam)["item"]
    )
    aligned = loaded.for_data(train)
    for row in (result["front"][0], result["front"][-1]):
        metrics = evaluate(aligned, train, test, lam=row["lam"]).metrics
        assert metrics["ndcg@10"] == pytest.approx(row["ndcg@10"], abs=1e-9)
        assert metrics["coverage@20"] == pytest.approx(row["coverage@20"], abs=1e-9)
    at_zero = loaded.recommend(["1"], k=10, lam=0.0)
    at_top = loaded.recommend(["1"], k=10, lam=hi)
    assert len(at_zero) == len(at_top) == 10
    assert list(at_zero["item"]) != list(at_top["item"])
    new_user = loaded.recommend_for_history(["50", "181", "172"], k=5, lam=hi)
    assert len(new_user) == 5 and not set(new_user["item"]) & {"50", "181", "172"}
    with pytest.raises(BundleError, match="cannot score new items"):
        loaded.score_new_items(["a film"], user_ids=["1"])
    assert np.isfinite(loaded.config["sparsity"])
