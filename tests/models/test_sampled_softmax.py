"""Sampled softmax of the weighted model: logQ-corrected loss, candidate sampler, training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from recolab.config import TrainConfig
from recolab.data.splits import random_holdout
from recolab.data.synthetic import synthetic_interactions
from recolab.evaluation import evaluate
from recolab.models.popularity import PopularityRecommender
from recolab.models.weighted import WeightedObjectiveNet, WeightedObjectiveRecommender
from recolab.models.weighted.sampling import (
    FULL_SOFTMAX_MAX_ITEMS,
    NegativeSampler,
    estimated_kth,
    sampled_exposure_term,
    sampled_probabilities,
    sampled_relevance_loss,
    use_sampled_softmax,
)
from recolab.objectives import exposure_term, relevance_loss

CPU = torch.device("cpu")


def test_corrected_loss_known_answer():
    # one user, candidates {0, 1, 2} with scores 1, 2, 3; item 0 is the positive (π = 1),
    # items 1 and 2 were drawn with π = 1/2 and 1/4: Ẑ = e + 2e² + 4e³
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    targets = torch.tensor([[1.0, 0.0, 0.0]])
    log_pi = torch.log(torch.tensor([1.0, 0.5, 0.25]))
    expected = -1.0 + math.log(math.e + 2 * math.e**2 + 4 * math.e**3)
    got = sampled_relevance_loss(logits, targets, log_pi)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # π = 1 everywhere: the plain softmax loss, −1 + log(e + e² + e³)
    full = sampled_relevance_loss(logits, targets, torch.zeros(3))
    assert full.item() == pytest.approx(-1.0 + math.log(math.e + math.e**2 + math.e**3), rel=1e-6)


def test_sample_of_the_whole_catalogue_gives_the_full_loss_and_terms():
    # with enough draws every item is a candidate with π = 1: loss, probabilities and the
    # exposure term (value and gradient) are the full softmax's
    gen = torch.Generator().manual_seed(0)
    item_users = np.array([5, 1, 3, 8, 2, 2, 7, 1])
    sampler = NegativeSampler(item_users, n_draws=100_000, device=CPU)
    columns, log_pi = sampler.candidates(torch.tensor([3, 6]), gen)
    assert columns.tolist() == list(range(8))
    assert torch.all(log_pi == 0)
    logits = torch.randn(3, 8, generator=gen)
    logits[0, 2] = -math.inf  # an input item of user 0
    targets = torch.zeros(3, 8)
    targets[0, 3] = targets[1, 6] = targets[2, 3] = targets[2, 6] = 1.0
    torch.testing.assert_close(
        sampled_relevance_loss(logits, targets, log_pi), relevance_loss(logits, targets)
    )
    torch.testing.assert_close(sampled_probabilities(logits, log_pi), torch.softmax(logits, dim=1))
    a = logits.clone().requires_grad_(True)
    b = logits.clone().requires_grad_(True)
    sampled = sampled_exposure_term(a, log_pi, n_items=8, k=3)
    full = exposure_term(b, k=3)
    torch.testing.assert_close(sampled, full)
    sampled.sum().backward()
    full.sum().backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_estimated_kth_counts_each_candidate_one_over_pi():
    # scores 5 > 4 > 3 > 2 counted 1, 3, 1, 1: running counts 1, 4, 5, 6
    logits = torch.tensor([[2.0, 5.0, 3.0, 4.0]])
    inverse_pi = torch.tensor([1.0, 1.0, 1.0, 3.0])
    assert estimated_kth(logits, inverse_pi, 4).item() == 4.0
    assert estimated_kth(logits, inverse_pi, 5).item() == 3.0
    assert estimated_kth(logits, torch.ones(4), 4).item() == 2.0
    # never reached: the lowest reachable score
    logits[0, 0] = -math.inf
    assert estimated_kth(logits, torch.ones(4), 4).item() == 3.0


def test_inclusion_probabilities_match_the_draws():
    item_users = np.array([50, 20, 10, 5, 1, 0, 3, 30])
    sampler = NegativeSampler(item_users, n_draws=4, device=CPU)
    gen = torch.Generator().manual_seed(1)
    hits = np.zeros(len(item_users))
    n = 4000
    for _ in range(n):
        hits[sampler.sample(gen).numpy()] += 1
    pi = np.exp(sampler.log_inclusion.numpy())
    assert hits[5] == 0 and pi[5] == 0  # no training data: never drawn
    np.testing.assert_allclose(hits / n, pi, atol=0.03)


def _mean_losses(sampler, logits, targets, positives, gen, n):
    corrected, plain = [], []
    for _ in range(n):
        columns, log_pi = sampler.candidates(positives, gen)
        lg, tg = logits[:, columns], targets[:, columns]
        corrected.append(sampled_relevance_loss(lg, tg, log_pi).mean().item())
        plain.append(relevance_loss(lg, tg).mean().item())
    return float(np.mean(corrected)), float(np.mean(plain))


def test_expected_sampled_loss_approaches_the_full_loss():
    # 60 items, 4 users: the mean corrected loss over many batches approaches the full
    # softmax loss as the draws grow (the log of an unbiased Ẑ is biased by O(1/K)); without
    # the logQ correction it stays far off. Measured (1000 batches): full 7.45; corrected
    # 6.95 / 7.24 and plain 5.86 / 6.68 with 10 / 40 draws
    gen = torch.Generator().manual_seed(3)
    n_items = 60
    item_users = np.random.default_rng(0).zipf(1.5, n_items).clip(max=200)
    logits = 2.0 * torch.randn(4, n_items, generator=gen)
    positives = torch.tensor([0, 7, 13, 21])
    targets = torch.zeros(4, n_items)
    targets[torch.arange(4), positives] = 1.0
    full = relevance_loss(logits, targets).mean().item()
    errors = {}
    for draws in (10, 40):
        sampler = NegativeSampler(item_users, n_draws=draws, device=CPU)
        corrected, plain = _mean_losses(sampler, logits, targets, positives, gen, 600)
        errors[draws] = abs(corrected - full), abs(plain - full)
    assert errors[40][0] < 0.05 * full
    assert errors[40][0] < 0.7 * errors[10][0]
    assert errors[40][1] > 2 * errors[40][0]
    assert errors[10][1] > 2 * errors[10][0]


def _net(n_items: int = 9) -> WeightedObjectiveNet:
    rng = np.random.default_rng(0)
    text = rng.normal(size=(n_items, 5)).astype(np.float32)
    return WeightedObjectiveNet(
        n_items,
        4,
        text=text,
        log_popularity=-rng.random(n_items).astype(np.float32),
        item_item=rng.normal(size=(n_items, n_items)).astype(np.float32),
        lam_scale=np.array([1.0, 2.0], dtype=np.float32),
        n_user_tokens=3,
    )


def test_scores_over_columns_are_the_full_scores_at_those_columns():
    torch.manual_seed(0)
    net = _net()
    with torch.no_grad():  # non-zero FiLM and new-user bias, so every part counts
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    items = torch.tensor([0, 3, 4, 1, 8])
    offsets = torch.tensor([0, 3, 3])  # user 1 has no history
    weights = torch.ones(5)
    columns = torch.tensor([1, 2, 5, 8])
    base = net.user_base(items, offsets, weights)
    lam = torch.tensor([[0.3, 0.1]]).expand(3, -1)
    new = torch.tensor([False, True, False])
    full = net.logits(base, net.memory(items, offsets), lam, new)
    part_mem = net.memory(items, offsets, columns=columns)
    torch.testing.assert_close(part_mem, net.memory(items, offsets)[:, columns])
    part = net.logits(base, part_mem, lam, new, columns=columns)
    torch.testing.assert_close(part, full[:, columns])


def test_auto_and_config_validation():
    assert not use_sampled_softmax("auto", FULL_SOFTMAX_MAX_ITEMS)
    assert use_sampled_softmax("auto", FULL_SOFTMAX_MAX_ITEMS + 1)
    assert use_sampled_softmax("sampled", 10) and not use_sampled_softmax("full", 10**6)
    with pytest.raises(ValueError, match="softmax must be"):
        TrainConfig(softmax="approx")
    with pytest.raises(ValueError, match="n_negatives"):
        TrainConfig(n_negatives=0)
    assert TrainConfig.from_dict({"softmax": "sampled", "n_negatives": 7}).n_negatives == 7


def _sampled_cfg(device: str, **kw) -> TrainConfig:
    # item_item off: what is learned comes from the trained embeddings, not the EASE memory
    return TrainConfig(
        model="weighted",
        epochs=8,
        dim=16,
        batch_size=32,
        lr=0.01,
        softmax="sampled",
        n_negatives=64,
        item_item="off",
        device=device,
        **kw,
    )


@pytest.fixture(scope="module")
def split():
    # weak popularity skew: a personalised model must beat popularity by a margin
    data = synthetic_interactions(
        400, 1000, n_interactions=12000, rank=4, popularity_skew=0.3, seed=5
    )
    return random_holdout(data, test_fraction=0.2, seed=0)


def test_sampled_training_learns_on_cpu(split):
    # 1000 items, ≈ 300 positives + 64 draws per batch: the step never scores the catalogue.
    # Measured: recall@20 0.14 (seed 0) against popularity 0.081 and random 0.02
    train, valid = split
    model = WeightedObjectiveRecommender(_sampled_cfg("cpu", seed=0)).fit(train)
    assert model.train_result_.device == "cpu"
    recall = evaluate(model, train, valid, ks=(20,), lam=0.0).metrics["recall@20"]
    popular = PopularityRecommender().fit(train)
    pop_recall = evaluate(popular, train, valid, ks=(20,)).metrics["recall@20"]
    assert recall > 1.3 * pop_recall
    assert recall > 5 * 20 / train.n_items  # random lists


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_sampled_training_runs_on_cuda(split):
    train, valid = split
    cfg = _sampled_cfg("cuda", seed=0)
    model = WeightedObjectiveRecommender(cfg).fit(train)
    assert model.train_result_.device.startswith("cuda")
    recall = evaluate(model, train, valid, ks=(20,), lam=0.0).metrics["recall@20"]
    pop_recall = evaluate(PopularityRecommender().fit(train), train, valid, ks=(20,)).metrics[
        "recall@20"
    ]
    assert recall > 1.3 * pop_recall
