"""The weighted-objective model: contract, λ conditioning, pruning, fold-in, the loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from recolab.config import TrainConfig
from recolab.data.synthetic import synthetic_interactions
from recolab.errors import Cancelled, TrainingError
from recolab.models.weighted import WeightedObjectiveRecommender
from recolab.training import train_loop
from tests.models._mixin import RecommenderContract


class TestWeightedContract(RecommenderContract):
    def make_model(self) -> WeightedObjectiveRecommender:
        return WeightedObjectiveRecommender(TrainConfig(epochs=2, dim=8, batch_size=4, seed=1))


@pytest.fixture(scope="module")
def skewed():
    return synthetic_interactions(
        300, 120, n_interactions=6000, rank=8, popularity_skew=1.2, seed=3
    )


@pytest.fixture(scope="module")
def trained(skewed):
    # small batches: λ is drawn once per batch, so the λ network needs enough draws; novelty
    # weighed 1 (not 0.1) next to exposure: at this size its pull on popularity is then clear
    # for every seed (mean log popularity 0.56-0.93 lower at λ = 4 over seeds 0-2, where
    # with weight 0.1 it ranged from 0.01 to 0.07)
    cfg = TrainConfig(epochs=15, dim=16, batch_size=16, lam_high=4.0, novelty=1.0, seed=0)
    return WeightedObjectiveRecommender(cfg).fit(skewed)


def _mean_log_pop(model, data, lam):
    top, _ = model.recommend(np.arange(data.n_users), 10, lam=lam)
    pop = np.asarray(data.matrix(binary=True).getnnz(axis=0))
    return float(np.log(pop[top[top >= 0]]).mean())


def test_lambda_moves_lists_towards_less_popular_items(trained, skewed):
    # one trained model: a larger λ (more weight on novelty) recommends less popular items
    low = _mean_log_pop(trained, skewed, 0.0)
    high = _mean_log_pop(trained, skewed, 4.0)
    assert high < low - 0.2


def test_scores_at_a_lambda_equal_the_network_forward(trained):
    # the cached scorer must agree with the network (forward pass at that λ)
    users = np.array([0, 5, 17])
    lam = 1.7
    cached = trained.score(users, lam=lam)
    with torch.inference_mode():
        items, offsets, w = trained.histories_.bag(users, torch.device("cpu"))
        net = trained.net_
        lam_vec = torch.as_tensor(trained.lambda_vector(lam))[None, :].expand(3, -1)
        direct = net.logits(
            net.user_base(items, offsets, w), net.memory(items, offsets), lam_vec
        ).numpy()
    np.testing.assert_allclose(cached, direct, rtol=1e-4, atol=1e-4)


def test_fold_in_of_a_known_history_matches_that_user(trained):
    user = 11
    history = trained.train_[user].indices
    np.testing.assert_allclose(
        trained.fold_in(history, lam=0.5), trained.score([user], lam=0.5)[0], rtol=1e-4, atol=1e-4
    )


def test_prune_reaches_target_and_keeps_working(trained, skewed):
    assert trained.sparsity() < 0.05
    pruned = trained.prune(0.8)
    assert pruned.sparsity() >= 0.7  # biases and FiLM are kept dense
    assert trained.sparsity() < 0.05  # the original is untouched
    top, _ = pruned.recommend(np.arange(10), 5)
    assert (top >= 0).all()
    with pytest.raises(ValueError):
        trained.prune(1.0)


def test_fixed_lambda_training_and_determinism(skewed):
    cfg = TrainConfig(epochs=2, dim=8, lam_fixed=0.5, seed=4)
    a = WeightedObjectiveRecommender(cfg).fit(skewed).score([0, 1], lam=0.5)
    b = WeightedObjectiveRecommender(cfg).fit(skewed).score([0, 1], lam=0.5)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_progress_events_and_budget(skewed):
    events = []
    cfg = TrainConfig(epochs=50, dim=8, budget_seconds=0.0)
    model = WeightedObjectiveRecommender(cfg).fit(skewed, on_progress=events.append)
    assert len(events) == 1  # the budget (0 s) stops after the first epoch
    assert model.train_result_.stopped_by == "budget"
    ev = events[0]
    for key in ("epoch", "loss", "f", "g", "elapsed_s", "eta_s", "device"):
        assert key in ev
    assert ev["device"] == ("cuda" if torch.cuda.is_available() else "cpu")  # device "auto"


def test_validation_and_early_stopping(skewed):
    from recolab.data.splits import random_holdout

    train, valid = random_holdout(skewed, test_fraction=0.2, seed=0)
    events = []
    cfg = TrainConfig(epochs=30, dim=8, patience=2, lr=0.05)
    model = WeightedObjectiveRecommender(cfg).fit(train, valid=valid, on_progress=events.append)
    assert all("val_recall" in e and "val_coverage_high" in e for e in events)
    best = max(e["val_recall"] for e in events)
    assert events[model.train_result_.best_epoch - 1]["val_recall"] == best


def test_fixed_lambda_model_is_validated_at_its_lambda(skewed):
    # a fixed-λ model never sees λ = 0; its early stopping must watch the λ it serves
    from recolab.data.splits import random_holdout
    from recolab.evaluation import evaluate

    train, valid = random_holdout(skewed, test_fraction=0.2, seed=0)
    events = []
    cfg = TrainConfig(epochs=4, dim=8, patience=10, lam_fixed=1.5, seed=2)
    model = WeightedObjectiveRecommender(cfg).fit(train, valid=valid, on_progress=events.append)
    assert all("val_coverage_high" not in e for e in events)
    kept = events[model.train_result_.best_epoch - 1]
    at_fixed = evaluate(model, train, valid, ks=(20,), lam=1.5).metrics
    at_zero = evaluate(model, train, valid, ks=(20,), lam=0.0).metrics
    assert kept["val_recall"] == pytest.approx(at_fixed["recall@20"], abs=1e-9)
    assert kept["val_coverage"] == pytest.approx(at_fixed["coverage@20"], abs=1e-9)
    assert at_zero["coverage@20"] != at_fixed["coverage@20"]  # λ = 0 is another model


def test_weight_decay_reaches_vector_matrices_only():
    from recolab.models.weighted import WeightedObjectiveNet, optimiser_groups

    n_items = 12
    net = WeightedObjectiveNet(
        n_items,
        4,
        text=np.eye(n_items, 5, dtype=np.float32),
        log_popularity=np.zeros(n_items, np.float32),
        item_item=np.zeros((n_items, n_items), np.float32),
        lam_scale=np.ones(1, np.float32),
        rating_baseline=(3.0, np.zeros(3, np.float32), np.zeros(n_items, np.float32)),
        n_user_tokens=3,
    )
    cfg = TrainConfig(weight_decay=0.5, lr=1e-3, film_lr=1e-2, rating_lr=1e-4)
    groups = optimiser_groups(net, cfg)
    decayed = {id(p) for g in groups if g["weight_decay"] > 0 for p in g["params"]}
    expected = [
        net.encoder.weight,
        net.item_embedding,
        net.text_projection.weight,
        net.user_attributes.weight,
    ]
    assert decayed == {id(p) for p in expected}
    # every trainable parameter is in exactly one group
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in net.parameters())
    rate = {id(p): g["lr"] for g in groups for p in g["params"]}
    assert rate[id(net.log_memory_scale)] == 1e-2 and rate[id(net.rating_mu)] == 1e-4
    assert rate[id(net.item_bias)] == 1e-3


def test_cancel_stops_training(skewed):
    with pytest.raises(Cancelled):
        WeightedObjectiveRecommender(TrainConfig(epochs=5, dim=8)).fit(
            skewed, should_stop=lambda: True
        )


def test_nan_loss_is_a_named_error():
    cfg = TrainConfig(epochs=3)
    with pytest.raises(TrainingError, match="'f' became nan at epoch 1"):
        train_loop(
            parameters=[],
            step=lambda epoch: {"loss": 1.0, "f": math.nan},
            validate=None,
            snapshot=dict,
            restore=lambda s: None,
            config=cfg,
            device=torch.device("cpu"),
        )


def test_config_round_trip_and_errors(tmp_path):
    cfg = TrainConfig(dim=32, lam_high=2.0, lam_fixed=None, budget_seconds=5.0)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    toml = tmp_path / "c.toml"
    toml.write_text("[train]\ndim = 12\nepochs = 3\n")
    assert TrainConfig.from_toml(toml, epochs=7) == TrainConfig(dim=12, epochs=7)
    with pytest.raises(Exception, match="unknown training option"):
        TrainConfig.from_dict({"dimm": 3})
    with pytest.raises(ValueError):
        TrainConfig(device="tpu")
    with pytest.raises(ValueError, match="weight_jitter must be in"):
        TrainConfig(weight_jitter=1.5)


def test_kept_weights_are_the_moving_average_of_the_trained_ones():
    # one batch per epoch, so epoch t is step t: with decay d the kept weights after two
    # steps are d·W1 + (1 − d)·W2 (the average starts as a copy of W1)
    data = synthetic_interactions(40, 30, n_interactions=600, rank=4, seed=2)
    base = dict(dim=8, batch_size=64, item_item="off", use_text=False, seed=4)

    def weights(**kw):
        model = WeightedObjectiveRecommender(TrainConfig(**base, **kw)).fit(data)
        return {k: v.copy() for k, v in model.weight_arrays().items()}

    w1, w2 = weights(epochs=1, ema=0.0), weights(epochs=2, ema=0.0)
    kept = weights(epochs=2, ema=0.75)
    assert not np.allclose(w1["item_embedding"], w2["item_embedding"])  # the step moved it
    for name in ("item_embedding", "encoder.weight", "item_bias", "film.2.weight"):
        np.testing.assert_allclose(kept[name], 0.75 * w1[name] + 0.25 * w2[name], atol=1e-6)
    with pytest.raises(ValueError, match="ema"):
        TrainConfig(ema=1.0)


def test_rating_head_learns_explicit_ratings(tmp_path):
    from recolab.bundle import export_bundle, load
    from recolab.metrics import rmse

    data = synthetic_interactions(200, 60, n_interactions=4000, rank=4, explicit=True, seed=5)
    ratings = data.frame["rating"].to_numpy(dtype=float)
    users, items = data.frame["user_idx"].to_numpy(), data.frame["item_idx"].to_numpy()
    plain = WeightedObjectiveRecommender(TrainConfig(epochs=2, dim=8, rating_weight=0.0)).fit(data)
    assert np.isnan(plain.predict_ratings(users[:5], items[:5])).all()  # not trained on ratings
    cfg = TrainConfig(epochs=15, dim=8, rating_weight=1.0, lr=0.01)
    model = WeightedObjectiveRecommender(cfg).fit(data)
    pred = model.predict_ratings(users, items)
    assert np.isfinite(pred).all() and pred.min() >= ratings.min() and pred.max() <= ratings.max()
    # better than always predicting the mean rating
    assert rmse(pred, ratings) < rmse(np.full_like(ratings, ratings.mean()), ratings) - 0.02
    loaded = load(export_bundle(model, tmp_path / "r.zip")).model
    np.testing.assert_allclose(loaded.predict_ratings(users, items), pred, rtol=1e-5)


def test_rating_baseline_known_answers():
    import scipy.sparse as sp

    from recolab.models.weighted import rating_baseline

    # fully observed and additive: r = 3 + a_u + c_i; without shrinkage the baseline is exact
    a, c = np.array([1.0, -1.0, 0.0]), np.array([0.5, -0.5])
    r = 3.0 + a[:, None] + c[None, :]
    mu, b_u, b_i = rating_baseline(sp.csr_matrix(r), reg=0.0, iterations=2)
    assert mu == pytest.approx(3.0)
    np.testing.assert_allclose(mu + b_u[:, None] + b_i[None, :], r, atol=1e-6)
    # shrinkage pulls a single rating towards the mean: b_i = (5 - 3) / (1 + 1) for item 0,
    # then the user offset of its rater uses what is left: (5 - 3 - 1) / (1 + 1)
    m = sp.csr_matrix(np.array([[5.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    mu, b_u, b_i = rating_baseline(m, reg=1.0, iterations=1)
    assert mu == pytest.approx(3.0)
    np.testing.assert_allclose(b_i, [1.0, -1.0, 0.0])  # item 2 has no ratings: 0
    np.testing.assert_allclose(b_u, [0.5, -0.5])


def test_each_objective_has_its_own_lambda(trained):
    # trained with novelty 1.0 and exposure 8.0: one λ per objective
    assert trained.objectives_ == ["novelty", "exposure"]
    users = np.arange(30)
    lam = 2.0
    # a scalar λ is λ · (trained weights) ...
    pairs = zip(trained.objectives_, trained.objective_weights_, strict=True)
    as_mapping = {o: lam * float(w) for o, w in pairs}
    np.testing.assert_allclose(trained.score(users, lam), trained.score(users, as_mapping))
    # ... and each objective's λ can be moved on its own
    only_exposure = trained.score(users, {"exposure": as_mapping["exposure"]})
    assert not np.allclose(only_exposure, trained.score(users, as_mapping))
    assert not np.allclose(only_exposure, trained.score(users, 0.0))
    np.testing.assert_allclose(trained.score(users, {}), trained.score(users, 0.0))
    with pytest.raises(ValueError, match="conditioned on"):
        trained.score(users, {"serendipity": 1.0})


def test_needs_a_secondary_objective(skewed):
    with pytest.raises(Exception, match="no secondary objective"):
        WeightedObjectiveRecommender(
            TrainConfig(epochs=1, dim=8, novelty=0.0, exposure=0.0, diversity=0.0)
        ).fit(skewed)
