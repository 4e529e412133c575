"""Every bundle carries its model card (``MODEL_CARD.md``), written from its own config:
the model, the validation split its choices were made on, the chosen options and the metrics
at the chosen λ. The dashboard's export writes its own card instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from recolab.bundle import export_bundle, load
from recolab.bundle.card import CARD_MEMBER, model_card
from recolab.data.splits import random_holdout
from recolab.data.synthetic import synthetic_interactions
from recolab.evaluation import evaluate
from recolab.studio import export_at
from recolab.tuning import TuneBudget
from recolab.tuning.select import fit_tuned

from ._updates import update_known_and_new_user
from .hostile import config_of, read_members


@pytest.fixture(scope="module")
def tuned_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default model of 150 users × 120 items at λ = 0.3, with its test metrics."""
    data = synthetic_interactions(150, 120, n_interactions=3000, seed=3)
    train, test = random_holdout(data, 0.2, seed=0)
    tuned = fit_tuned(
        train, budget=TuneBudget(3, 600), seed=0, device="cpu", mechanisms=["popularity"]
    )
    model = tuned.recommender()
    metrics = evaluate(model, train, test, ks=(10, 20), lam=0.3).metrics
    out = tmp_path_factory.mktemp("card") / "model.zip"
    return export_bundle(model, out, lam=0.3, metrics=metrics, k=7)


def test_a_bundle_carries_a_card_written_from_its_config(tuned_bundle: Path) -> None:
    members = read_members(tuned_bundle)
    config = config_of(members)
    card = members[CARD_MEMBER].decode()
    assert card == model_card(config, 0.3, config["metrics"], alpha=(0.0, 1.0, 0.0), k_star=7)
    assert "# recolab model card" in card
    assert "serve-time re-ranker **popularity**" in card
    assert f"| validation | {config['selection']['validation']} |" in card
    assert "latest 20% of training interactions" in card  # the synthetic log is timed
    assert f"| NDCG@20 | {config['metrics']['ndcg@20']:.4f} |" in card
    assert "- **List length k\\***: 7" in card
    assert "**Size**" not in card  # a card inside its own bundle cannot know the size


def test_the_card_loads_with_the_bundle(tuned_bundle: Path) -> None:
    loaded = load(tuned_bundle)  # the card is a member the loader accepts
    assert loaded.default_lam == pytest.approx(0.3)


def test_the_dashboard_export_writes_its_own_card(tuned_bundle: Path, tmp_path: Path) -> None:
    loaded = load(tuned_bundle)
    path = export_at(loaded, 0.1, tmp_path / "chosen.zip", card="# the analyst's card\n", k=5)
    assert read_members(path)[CARD_MEMBER] == b"# the analyst's card\n"
    plain = export_at(loaded, 0.1, tmp_path / "plain.zip", k=5)
    assert "**Chosen λ**: 0.1 " in read_members(plain)[CARD_MEMBER].decode()


def test_a_card_without_metrics_or_timing_says_so() -> None:
    config = {"model_type": "linear-rerank", "created": "2026-12-01T00:00:00+00:00"}
    card = model_card(config, 0.0, {})
    assert "None stored: the model was exported without a test set." in card
    assert "- **Written**: 2026-12-01T00:00:00+00:00\n" in card  # no "on None in 0.0 s"


def test_an_updated_bundle_says_its_metrics_predate_the_update() -> None:
    updates = [
        {"pairs_added": 30, "new_users": 2, "new_items": 0, "at": "2026-12-01T01:00:00+00:00"},
        {"pairs_added": 12, "new_users": 1, "new_items": 3, "at": "2026-12-02T01:00:00+00:00"},
    ]
    card = model_card({"model_type": "linear-rerank", "updates": updates}, 0.0, {})
    assert (
        "- **Updated**: 2 incremental update(s) since training, the latest at "
        "2026-12-02T01:00:00+00:00: 42 user-item pairs added, 3 new users, 3 new items. "
        "The metrics and front below were measured before them."
    ) in card
    assert "**Updated**" not in model_card({"model_type": "linear-rerank"}, 0.0, {})


def test_an_updated_bundle_carries_a_card_that_names_the_update(
    tuned_bundle: Path, tmp_path: Path
) -> None:
    from recolab.update import export_updated

    _, updated = update_known_and_new_user(tuned_bundle)
    out = export_updated(updated.model, updated.config, updated.config["updates"], tmp_path / "u")
    card = (out / CARD_MEMBER).read_text(encoding="utf-8")
    assert "- **Updated**: 1 incremental update(s) since training" in card
    (update,) = updated.config["updates"]
    assert update["new_users"] == 1  # the newcomer
    added = f"{update['pairs_added']} user-item pairs added, 1 new users, 0 new items"
    assert added in card
