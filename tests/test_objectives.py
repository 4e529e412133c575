"""Objective terms: known answers on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch

from recolab.objectives import (
    LambdaRange,
    ObjectiveWeights,
    diversity_term,
    novelty_term,
    relevance_loss,
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
