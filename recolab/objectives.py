"""Objective terms and weights (λ, α): the one place that defines them.

The weighted-objective model is trained on

    L = f + λ · g,    g = w_novelty · g_novelty + w_diversity · g_diversity
                          + w_exposure · g_exposure

per user, with λ sampled per batch of users during training (the exposure term is a property
of the batch's lists together, so its users share one λ) and fed to the network, so one trained
model serves every λ in its range. The sparsity term (an L1 penalty, plus magnitude pruning
after training) and the cost term (a training budget) shape the one model as a whole and are
not conditioned on λ. α = (α1, α2, α3) weighs precision, recall and F1 when choosing a point
on the front; it needs no training.

All terms act on ``logits`` of shape (users, items), or on their softmax, where items a user
may not be recommended (their input history, items without training data) are already
``-inf``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class ObjectiveWeights:
    """Weights of the objective terms, round-tripping to JSON.

    Parameters
    ----------
    lam:
        The trade-off λ of L = f + λ·g (the slider). Any value in the model's trained range.
    novelty, diversity, exposure:
        Weights of the secondary terms inside g.
    sparsity:
        L1 weight on the model's parameters (not conditioned on λ).
    alpha:
        (α1, α2, α3) for precision, recall and F1 when choosing a point on the front.
    """

    lam: float = 0.0
    novelty: float = 1.0
    diversity: float = 0.0
    exposure: float = 0.0
    sparsity: float = 0.0
    alpha: tuple[float, float, float] = (0.0, 1.0, 0.0)

    def __post_init__(self) -> None:
        for name in ("lam", "novelty", "diversity", "exposure", "sparsity"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"ObjectiveWeights.{name} must be a finite number ≥ 0, got {value}"
                )
        alpha = tuple(float(a) for a in self.alpha)
        if len(alpha) != 3 or any(a < 0 or not math.isfinite(a) for a in alpha):
            raise ValueError(f"alpha must be three numbers ≥ 0, got {self.alpha}")
        if sum(alpha) == 0:
            raise ValueError("alpha must not be all zero")
        object.__setattr__(self, "alpha", alpha)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        d = asdict(self)
        d["alpha"] = list(self.alpha)
        return d

    def to_json(self) -> str:
        """JSON text."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ObjectiveWeights:
        """Inverse of :meth:`to_dict` (unknown keys are an error)."""
        d = dict(d)
        if "alpha" in d:
            d["alpha"] = tuple(d["alpha"])
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> ObjectiveWeights:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True)
class LambdaRange:
    """How λ is sampled during training (one draw per batch of users).

    With ``fixed`` set, λ is that constant (a separately trained fixed-λ model). Otherwise a
    share ``p_zero`` of draws is λ = 0 exactly and the others λ ~ U(0, ``high``). The default
    share is 0: on ML-100K, draws of exactly 0 made the λ = 0 end no more accurate (it is the
    limit of the small draws, where FiLM's modulation vanishes) and took draws from the rest
    of the range, whose response to λ then lagged models trained at that λ alone.
    """

    high: float = 1.0
    p_zero: float = 0.0
    fixed: float | None = None

    def sample(self, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        """``n`` draws of λ (float32 on ``device``); training takes one per batch."""
        if self.fixed is not None:
            return torch.full((n,), float(self.fixed), device=device)
        u = torch.rand(n, generator=generator).to(device) * self.high
        zero = torch.rand(n, generator=generator).to(device) < self.p_zero
        return torch.where(zero, torch.zeros_like(u), u)


def relevance_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """f: multinomial log-likelihood of the held-out items, per user.

    ``targets`` is a (users, items) 0/1 tensor; each user's loss is the mean negative log
    softmax probability of its target items (users without targets give 0).
    """
    logp = torch.log_softmax(logits, dim=1)
    logp = torch.where(targets > 0, logp, torch.zeros_like(logp))
    n = targets.sum(dim=1).clamp(min=1.0)
    return -(logp.sum(dim=1)) / n


def rating_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """f for explicit data, added to the ranking term: mean squared rating error per user."""
    err = torch.where(mask > 0, (pred - target) ** 2, torch.zeros_like(pred))
    return err.sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def novelty_term(probs: torch.Tensor, log_popularity: torch.Tensor, n_users: int) -> torch.Tensor:
    """g_novelty: how far short of maximal novelty the recommendation distribution falls, in bits.

    ``log_popularity[i] = log(n_users_i / n_users) / log(n_users)`` lies in [-1, 0], so
    ``log2(n_users) · (E_p[log_popularity] + 1) = log2(n_users) − E_p[novelty_i]`` with
    novelty_i = −log2(n_users_i / n_users), the quantity novelty@k averages. Lowering it
    raises the expected novelty of the list; it is 0 when all mass is on the rarest items.
    """
    return math.log2(max(n_users, 2)) * (probs @ log_popularity + 1.0)


def diversity_term(probs: torch.Tensor, item_vectors: torch.Tensor) -> torch.Tensor:
    """g_diversity: expected cosine similarity of two items drawn from the distribution.

    With unit item vectors v_i, E_{i,j~p}[v_i·v_j] = ||Σ_i p_i v_i||², cheap to compute.
    """
    mean_vec = probs @ item_vectors
    return (mean_vec * mean_vec).sum(dim=1)


#: Top-k list length and softness (in logit units) of the exposure term's list membership.
EXPOSURE_K = 20
EXPOSURE_TEMPERATURE = 0.3


def soft_top_k(logits: torch.Tensor, k: int, temperature: float) -> torch.Tensor:
    """Soft membership of each item in each user's top-k list, in [0, 1].

    ``sigmoid((s_ui − s_u[k]) / temperature)`` with s_u[k] the user's k-th highest score
    (differentiable, so a shift of all of a user's scores changes nothing), or the lowest
    reachable score when fewer than k items are reachable; items at ``-inf`` get 0. The
    gradient is largest for items near the list boundary.
    """
    k = min(k, logits.shape[1])
    kth = torch.topk(logits, k, dim=1).values[:, -1:]
    # a user with fewer than k reachable items: the boundary is the lowest reachable score
    lowest = logits.masked_fill(~torch.isfinite(logits), math.inf).amin(dim=1, keepdim=True)
    kth = torch.where(torch.isfinite(kth), kth, lowest)
    return torch.sigmoid((logits - kth) / temperature)


def exposure_term(
    logits: torch.Tensor, k: int = EXPOSURE_K, temperature: float = EXPOSURE_TEMPERATURE
) -> torch.Tensor:
    """g_exposure: how much of a user's top-k list goes to items the batch already shows.

    With m_ui the soft top-k membership (:func:`soft_top_k`) and E_i = Σ_u m_ui the batch's
    soft count of lists that hold item i (held constant), user u's term is

        1 − (1/k) · Σ_i m_ui · exp(−E_i),

    in [0, 1] when the list holds k items. E_i counts the user's own list too, so with hard
    membership the term is at its lowest, 1 − e⁻¹ ≈ 0.63, when no other list of the batch
    holds the user's items, and near 1 when all of them are widely shown. Lowering it moves
    items that sit just outside users' lists, and are shown to few others, into the lists:
    what coverage@k counts. It acts at the list boundary, so the top of each list, which ndcg
    weighs most, moves least (a softmax-probability penalty pushes down the popular items at
    the top instead).
    """
    m = soft_top_k(logits, k, temperature)
    fresh = torch.exp(-m.sum(dim=0).detach())
    return 1.0 - (m @ fresh) / min(k, logits.shape[1])


def l1_term(parameters: list[torch.Tensor]) -> torch.Tensor:
    """Sparsity: mean absolute value of the given parameters."""
    total = sum(p.abs().sum() for p in parameters)
    count = sum(p.numel() for p in parameters)
    return total / max(count, 1)
