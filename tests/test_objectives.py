"""Objective terms: known answers on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch

from recolab.objectives import (
    LambdaRange,
    ObjectiveWeights,
    diversity_term,
    exposure_term,
    novelty_term,
    relevance_loss,
    soft_top_k,
)
from recolab.pareto import normalize_alpha


def test_relevance_loss_known_answer():
    logits = torch.tensor([[0.0, 0.0, -math.inf, 0.0]])
    targets = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    # three reachable items with equal logits: p = 1/3 each
    assert relevance_loss(logits, targets).item() == pytest.approx(math.log(3))


def test_novelty_term_known_answer():
    probs = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    log_pop = torch.tensor([0.0, -0.5, -1.0])
    # log2(n) · (expected normalised log popularity + 1), n = 8 users: 3 bits per unit
    assert novelty_term(probs, log_pop, 8).tolist() == pytest.approx([2.25, 0.0])


def test_diversity_term_known_answer():
    vecs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    same = torch.tensor([[0.5, 0.0, 0.5]])  # both draws point the same way: similarity 1
    mixed = torch.tensor([[0.5, 0.5, 0.0]])  # orthogonal half the time: 0.5
    assert diversity_term(same, vecs).item() == pytest.approx(1.0)
    assert diversity_term(mixed, vecs).item() == pytest.approx(0.5)


def test_soft_top_k_known_answer():
    logits = torch.tensor([[3.0, 1.0, 2.0, -math.inf]])
    # k = 2: the 2nd highest score is 2 → sigmoid(3-2, 1-2, 2-2, -inf)
    expected = [1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1)), 0.5, 0.0]
    assert soft_top_k(logits, 2, 1.0)[0].tolist() == pytest.approx(expected)
    # fewer reachable items than k: the boundary is the lowest reachable score, never NaN
    few = soft_top_k(logits, 4, 1.0)[0]
    assert few.tolist() == pytest.approx([1 / (1 + math.exp(-2)), 0.5, 1 / (1 + math.exp(-1)), 0])
    assert soft_top_k(torch.full((1, 3), -math.inf), 2, 1.0).tolist() == [[0.0, 0.0, 0.0]]


def test_exposure_term_known_answer():
    # near-hard membership (tiny temperature): each list holds item 0 fully, the k-th item
    # (at the boundary) by half
    logits = torch.tensor([[3.0, 2.0, 0.0, 0.0], [3.0, 0.0, 2.0, 0.0]])
    # E = (2, 0.5, 0.5, 0): g_u = 1 - (1·e^-2 + 0.5·e^-0.5) / 2 for both users
    g = exposure_term(logits, k=2, temperature=1e-3)
    expected = 1 - (math.exp(-2) + 0.5 * math.exp(-0.5)) / 2
    assert g.tolist() == pytest.approx([expected, expected], rel=1e-4)


def test_exposure_term_spreading_lists_lowers_it():
    same = torch.tensor([[3.0, 2.0, 0.0, 0.0], [3.0, 2.0, 0.0, 0.0]])
    apart = torch.tensor([[3.0, 2.0, 0.0, 0.0], [0.0, 0.0, 3.0, 2.0]])
    assert exposure_term(apart, k=2).mean() < exposure_term(same, k=2).mean()
    # a per-user shift of every score changes nothing
    shifted = same + torch.tensor([[5.0], [-1.0]])
    assert exposure_term(shifted, k=2).tolist() == pytest.approx(exposure_term(same, k=2).tolist())


def test_exposure_term_gradient_lifts_an_unshown_item_at_the_boundary():
    logits = torch.tensor([[3.0, 2.0, 1.9, -1.0], [3.0, 2.0, 1.0, -1.0]], requires_grad=True)
    exposure_term(logits, k=2).sum().backward()
    # item 2 sits just outside user 0's list and is in no list: raising it lowers g
    assert logits.grad[0, 2] < 0
    # the far-away item 3 barely matters
    assert abs(logits.grad[0, 3]) < abs(logits.grad[0, 2]) / 100


def test_weights_round_trip_and_validation():
    w = ObjectiveWeights(lam=0.3, novelty=1.0, diversity=0.5, alpha=(1, 2, 1))
    assert ObjectiveWeights.from_json(w.to_json()) == w
    assert normalize_alpha(w).tolist() == pytest.approx([0.25, 0.5, 0.25])
    with pytest.raises(ValueError):
        ObjectiveWeights(lam=-1)
    with pytest.raises(ValueError):
        ObjectiveWeights(alpha=(0, 0, 0))


def test_lambda_sampling():
    g = torch.Generator().manual_seed(0)
    lam = LambdaRange(high=2.0, p_zero=0.25).sample(4000, g, torch.device("cpu"))
    assert lam.min() >= 0 and lam.max() <= 2.0
    assert (lam == 0).float().mean().item() == pytest.approx(0.25, abs=0.03)
    fixed = LambdaRange(fixed=0.7).sample(5, g, torch.device("cpu"))
    assert fixed.tolist() == pytest.approx([0.7] * 5)
