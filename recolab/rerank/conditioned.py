"""A trained, λ-conditioned residual over a frozen base: ``s(u,i;λ) = rel(u,i) + Δ(i;λ)``.

This is the trade-off layer's *trained* mechanism (issue 17, point 4a). The base stays frozen;
``rel`` is its score standardised within each user's candidates (as for every re-ranker), and
what is learned is an item-level residual that depends on λ,

    Δ(i; λ) = λ · (−z_i + Σ_j φ_j(λ) · B[i, j]),   φ(λ) = (1, ψ, ψ²),  ψ = log1p(λ)/log1p(λ_max),

where ``z_i`` is the item's popularity z-score (:class:`~recolab.rerank.PopularityPenalty`'s
penalty). So ``Δ(·; 0) = 0`` exactly (λ = 0 serves the base's lists unchanged), and with
``B = 0`` the mechanism is the popularity penalty: training starts from it. ``B`` is fitted
by Adam on ``L(λ) = −f + λ·g`` with λ drawn log-uniformly over the range at every step:

- ``f``, the hits of a list: a seeded 20 % of each training user's items is held out, a copy
  of the base is refitted on the rest, and ``f`` is the share of held-out items in each
  user's soft top-``k`` of that copy's candidates (membership ``σ((s − t_u) / τ)``, ``t_u``
  between the user's k-th and (k+1)-th score, rescaled to sum to ``k``; divided by
  ``min(k, held-out items)``, as recall@k is);
- ``g``, coverage lost: ``1 − cov / cov₀``, where ``cov`` is the expected share of training
  items that some list holds (``1 − exp(−Σ_u m_ui)``) and ``cov₀`` that share for the base's
  lists, so ``g`` is 0 at the base and unit-free.

It competes with the re-rankers on validation like every other mechanism
(:mod:`recolab.tuning.fronts`) and is the default only where its front is larger. Measured
on validation over the same EASE base (hypervolume of (ndcg@10, coverage@20), 400
candidates): on the full Online Retail log (validation: each user's latest 20 %) 0.112
against the popularity penalty's 0.093 and the exposure greedy's 0.083; on ML-100K ``u1``
(validation carved from u1.base) 0.197 against 0.266 and 0.175. Over the tuned (EDLAE/DAN)
bases of ``benchmarks/generalisation.py`` it lost on every data set (retail temporal 0.114
against 0.120), so there the popularity penalty stayed the default. An earlier version whose
``f`` trusted the base's relevance instead of held-out hits lost on both (0.078 and 0.178):
it could not learn what the popularity penalty exploits, that the base over-ranks popular
items.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch

from recolab.data.interactions import InteractionData
from recolab.data.splits import random_holdout
from recolab.models.base import Recommender
from recolab.rerank.base import (
    LEARN_USERS,
    Candidates,
    ReRanker,
    base_order,
    order_by,
    standardised_relevance,
)
from recolab.rerank.popularity import PopularityPenalty
from recolab.rerank.revenue import RevenueBoost, stored_prices

logger = logging.getLogger(__name__)

#: Width of the λ basis φ(λ).
N_BASIS = 3
#: Share of each training user's items held out as the targets ``f`` counts.
HOLDOUT = 0.2
#: Training users per step (more are sampled; exposure is scaled to the population).
BATCH_USERS = 2048


def lambda_basis(lam: float | np.ndarray, lam_max: float) -> np.ndarray:
    """``φ(λ) = (1, ψ, ψ²)`` with ``ψ = log1p(λ) / log1p(lam_max)``: ``(..., N_BASIS)``."""
    psi = np.log1p(np.asarray(lam, dtype=np.float64)) / math.log1p(lam_max)
    return np.stack([np.ones_like(psi), psi, psi**2], axis=-1)


def residual(weights: np.ndarray, prior: np.ndarray, lam: float, lam_max: float) -> np.ndarray:
    """``Δ(i; λ)`` of every item: ``λ · (prior + weights @ φ(λ))`` (exactly 0 at λ = 0)."""
    if lam == 0:
        return np.zeros(weights.shape[0])
    return lam * (prior + weights @ lambda_basis(lam, lam_max))


class ConditionedResidual(ReRanker):
    """Trained λ-conditioned residual over the base's candidates (see the module docstring).

    Parameters
    ----------
    lam_max:
        Top of the λ range trained over (λ is drawn log-uniformly from ``[lam_max/512,
        lam_max]`` at each step).
    list_k:
        The list length whose coverage ``g`` counts (the metrics' ``coverage@20``).
    temperature:
        ``τ`` of the soft top-``k``, in standard deviations of the base relevance.
    steps, lr, seed:
        Adam steps, learning rate and the seed of the λ and user draws.

    Attributes
    ----------
    weights_:
        float64 ``(n_items, 3)``: ``B``, zero until :meth:`observe_model` trains it or
        :meth:`load_state` restores it.

    Examples
    --------
    >>> import numpy as np
    >>> from recolab.rerank.base import Candidates
    >>> reranker = ConditionedResidual()
    >>> reranker.n_items_ = 3
    >>> reranker.prior_ = np.zeros(3)  # Δ(i; λ) = λ · B[i, 0] here, since φ₀(λ) = 1
    >>> reranker.weights_ = np.array([[-1.0, 0, 0], [0.0, 0, 0], [1.0, 0, 0]])
    >>> cand = Candidates(np.array([0]), np.array([[0, 1, 2]]), np.array([[3.0, 2.0, 1.0]]))
    >>> reranker.rerank(cand, 3, lam=0.0).tolist(), reranker.rerank(cand, 3, lam=2.0).tolist()
    ([[0, 1, 2]], [[2, 1, 0]])
    """

    name: ClassVar[str] = "conditioned"
    objective: ClassVar[str] = "coverage"

    weights_: np.ndarray

    def __init__(
        self,
        lam_max: float = 64.0,
        list_k: int = 20,
        temperature: float = 0.25,
        steps: int = 150,
        lr: float = 0.05,
        seed: int = 0,
    ) -> None:
        if not lam_max > 0 or list_k < 1 or not temperature > 0 or steps < 0 or not lr > 0:
            raise ValueError(
                "ConditionedResidual: lam_max, temperature and lr must be > 0, list_k ≥ 1 and "
                f"steps ≥ 0; got {lam_max}, {temperature}, {lr}, {list_k}, {steps}"
            )
        self.lam_max = float(lam_max)
        self.list_k = int(list_k)
        self.temperature = float(temperature)
        self.steps = int(steps)
        self.lr = float(lr)
        self.seed = int(seed)

    def _options(self) -> dict[str, Any]:
        return {
            "lam_max": self.lam_max,
            "list_k": self.list_k,
            "temperature": self.temperature,
            "steps": self.steps,
            "lr": self.lr,
            "seed": self.seed,
        }

    def fit(self, train: InteractionData, item_vectors: np.ndarray | None = None) -> Self:
        """Start from ``B = 0`` (the popularity penalty), or from weights given to
        :meth:`load_state`; the residual is trained by :meth:`observe_model`, which
        :class:`~recolab.rerank.ReRankedRecommender` calls with its base."""
        super().fit(train, item_vectors)
        self.trained_items_ = np.asarray(train.matrix(binary=True).getnnz(axis=0) > 0)
        self.prior_ = self.prior(train)
        stored = getattr(self, "_stored", None)
        if stored is not None and stored.shape != (train.n_items, N_BASIS):
            raise ValueError(
                f"ConditionedResidual: stored weights must be ({train.n_items}, {N_BASIS}) "
                f"for these {train.n_items} items, got shape {stored.shape}"
            )
        self.weights_ = stored if stored is not None else np.zeros((train.n_items, N_BASIS))
        return self

    def prior(self, train: InteractionData) -> np.ndarray:
        """The fixed part of Δ per unit λ: minus the popularity z-score (B = 0 is the
        popularity penalty)."""
        return -PopularityPenalty().fit(train).penalty_

    def observe_model(self, base: Recommender, train: InteractionData, n_candidates: int) -> None:
        """Train ``B`` on held-out targets of the training users (skipped when the weights
        come from :meth:`load_state`): a seeded :data:`HOLDOUT` of each user's items is held
        out, a copy of ``base`` is refitted on the rest, and its candidates are scored
        against the held-out items, so ``f`` measures hits, not the base's own opinion."""
        if getattr(self, "_stored", None) is not None or self.steps == 0:
            return
        refit, held_x = _held_out_refit(base, train, self.seed)
        users = np.flatnonzero(held_x.getnnz(axis=1) > 0)
        if users.size == 0:
            return
        if users.size > LEARN_USERS:
            users = np.sort(np.random.default_rng(self.seed).choice(users, LEARN_USERS, False))
        cand = Candidates.from_model(refit, users, n_candidates)
        rows = held_x[users]
        hits = np.asarray(rows[np.arange(users.size)[:, None], np.maximum(cand.items, 0)].todense())
        self.weights_ = train_residual(self, cand, (hits > 0) & cand.valid, rows.getnnz(axis=1))

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The learned weights, to store in a bundle (:meth:`load_state` takes them back)."""
        return {"weights": np.asarray(self.weights_, dtype=np.float32)}

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        """Use stored weights instead of training: call before :meth:`fit`, which checks
        them against the catalogue (``ValueError`` unless finite and 2-D with 3 columns)."""
        weights = np.asarray(arrays.get("weights"), dtype=np.float64)
        if weights.ndim != 2 or weights.shape[1] != N_BASIS or not np.all(np.isfinite(weights)):
            raise ValueError(
                f"ConditionedResidual: stored weights must be finite (n_items, {N_BASIS}), "
                f"got shape {weights.shape}"
            )
        self._stored = weights
        return self

    def gain(self, member: torch.Tensor, items: torch.Tensor, scale: float) -> torch.Tensor:
        """What ``g`` measures of soft lists (``member``: users × candidates, summing to
        ``list_k`` per user; ``items``: their item indices; ``scale``: population / batch
        users): the expected share of training items in some list, ``mean_i 1 −
        exp(−Σ_u m_ui)``."""
        exposure = torch.zeros(self.n_items_).index_add_(0, items.reshape(-1), member.reshape(-1))
        trained = torch.as_tensor(self.trained_items_, dtype=exposure.dtype)
        covered = 1.0 - torch.exp(-scale * exposure)
        return (covered * trained).sum() / trained.sum().clamp_min(1.0)

    def rerank(self, cand: Candidates, k: int, lam: float) -> np.ndarray:
        """Order by ``rel + Δ(i; λ)`` (see :meth:`ReRanker.rerank`)."""
        lam = self._begin(cand, k, lam)
        if lam == 0:
            return base_order(cand, k)
        delta = residual(self.weights_, self.prior_, lam, self.lam_max)
        shift = delta[np.where(cand.valid, cand.items, 0)]
        return order_by(cand, standardised_relevance(cand) + shift, k)


def _held_out_refit(
    base: Recommender, train: InteractionData, seed: int
) -> tuple[Recommender, sp.csr_matrix]:
    """A copy of ``base`` refitted on ``train`` less a seeded :data:`HOLDOUT` of each user's
    items, and the held-out items (binary users × items). The split's frames, without string
    ids, are let go on return: the refit keeps its own matrix."""
    inner, held = random_holdout(train.without_ids(), HOLDOUT, seed=seed)
    return copy.copy(base).fit(inner), held.matrix(binary=True)


def _soft_lists(
    score: torch.Tensor, valid: torch.Tensor, k: int, temperature: float
) -> torch.Tensor:
    """Soft top-``k`` membership ``σ((s − t_u)/τ)``, ``t_u`` between the user's k-th and
    (k+1)-th score (held fixed), rescaled to sum to ``k`` per user (so raising every score
    gains nothing), 0 at padding."""
    masked = score.masked_fill(~valid, -torch.inf)
    width = min(k + 1, score.shape[1])
    top = torch.topk(masked.detach(), width, dim=1).values
    thresh = top[:, -2:].mean(dim=1, keepdim=True) if width > k else top[:, -1:] - 1.0
    thresh = torch.where(torch.isfinite(thresh), thresh, torch.zeros_like(thresh))
    member = torch.sigmoid((score - thresh) / temperature) * valid
    return k * member / member.sum(dim=1, keepdim=True).clamp_min(1e-12)


@contextmanager
def _deterministic() -> Iterator[None]:
    """Torch's deterministic algorithms for the block, then the caller's setting back.

    The gradient of a gather over the candidates (``(…)[items]``) sums into items from
    several threads; in whatever order they finish, by default. On ML-100K with 2 threads
    two trainings of the same seed differed by up to 1.3 in a weight, and the retail log's
    validation hypervolume of this mechanism moved from run to run (0.1272-0.1279)."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)


def train_residual(
    model: ConditionedResidual, cand: Candidates, hits: np.ndarray, n_held: np.ndarray
) -> np.ndarray:
    """Fit ``B`` by Adam on ``−f + λ·g`` (module docstring), λ log-uniform per step:
    ``hits`` marks the candidates that are held-out items, ``n_held`` counts each user's."""
    gen = torch.Generator().manual_seed(model.seed)
    rel = torch.from_numpy(standardised_relevance(cand).astype(np.float32))  # a copy
    target = torch.as_tensor(hits, dtype=torch.float32)
    target = (
        target / torch.as_tensor(np.minimum(n_held, model.list_k), dtype=torch.float32)[:, None]
    )
    valid = torch.as_tensor(cand.valid)
    items = torch.as_tensor(np.where(cand.valid, cand.items, 0))
    n_users, n_items = rel.shape[0], model.n_items_
    weights = torch.zeros((n_items, N_BASIS), requires_grad=True)
    prior = torch.as_tensor(model.prior_, dtype=torch.float32)
    optimiser = torch.optim.Adam([weights], lr=model.lr)
    at_base = model.gain(_soft_lists(rel, valid, model.list_k, model.temperature), items, 1.0)
    g0 = max(at_base.item(), 1e-9)
    log_lo, log_hi = math.log(model.lam_max / 512), math.log(model.lam_max)
    with _deterministic():
        for _ in range(model.steps):
            rows = torch.randperm(n_users, generator=gen)[:BATCH_USERS]
            lam = math.exp(log_lo + (log_hi - log_lo) * torch.rand(1, generator=gen).item())
            phi = torch.as_tensor(lambda_basis(lam, model.lam_max), dtype=torch.float32)
            score = rel[rows] + lam * (prior + weights @ phi)[items[rows]]
            member = _soft_lists(score, valid[rows], model.list_k, model.temperature)
            f = (member * target[rows]).sum(dim=1).mean()
            scale = n_users / rows.numel()
            loss = -f + lam * (1.0 - model.gain(member, items[rows], scale) / g0)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    logger.info(
        "%s trained: %d steps on %d users × %d candidates (base soft %s %.4g)",
        model.name,
        model.steps,
        n_users,
        rel.shape[1],
        model.objective,
        g0,
    )
    return weights.detach().double().numpy()


class ConditionedRevenue(ConditionedResidual):
    """The trained residual serving revenue: ``g`` is the expected revenue lost, ``1 −
    R / R₀`` with ``R`` the mean over users of ``Σ_i m_ui · price_i`` over each soft list and
    ``R₀`` the base's, and the prior is :class:`~recolab.rerank.RevenueBoost`'s z-scored log
    price (``B = 0`` is the revenue boost). Items without a price count 0 in ``R`` and get
    prior 0. Needs prices, from the data or given (``prices``, as
    :class:`~recolab.rerank.RevenueBoost` takes them; a bundle stores them here).

    Offered only when asked for (``--mechanism conditioned-revenue``): on the full Online
    Retail log (EASE base, validation each user's latest 20 %) its hypervolume of
    (ndcg@10, revenue@20) was 20.61 against the revenue boost's 20.69; both lift validation
    revenue@20 from 138.5 to about 143 at a small λ for no ndcg@10 loss, and lose revenue
    beyond (the expensive items sell in smaller quantities).
    """

    name: ClassVar[str] = "conditioned-revenue"
    objective: ClassVar[str] = "revenue"

    def __init__(self, prices: list[float | None] | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.prices = prices

    def _options(self) -> dict[str, Any]:
        """The options, with the fitted prices (as the revenue boost's config carries them),
        so that a bundle refits on a price-less history."""
        return {**super()._options(), "prices": stored_prices(self)}

    def fit(self, train: InteractionData, item_vectors: np.ndarray | None = None) -> Self:
        """As :meth:`ConditionedResidual.fit`, with the prices of ``train`` or the given
        ones (:class:`~recolab.rerank.RevenueBoost`'s rules)."""
        self._boost = RevenueBoost(self.prices).fit(train)
        self.prices_ = self._boost.prices_
        return super().fit(train, item_vectors)

    def prior(self, train: InteractionData) -> np.ndarray:
        """The revenue boost's z-scored log price (0 without a price)."""
        return np.asarray(self._boost.boost_, dtype=np.float64)

    def gain(self, member: torch.Tensor, items: torch.Tensor, scale: float) -> torch.Tensor:
        """Mean expected revenue of a soft list (``scale`` unused: a mean over users)."""
        price = torch.as_tensor(np.nan_to_num(self.prices_, nan=0.0), dtype=member.dtype)
        return (member * price[items]).sum(dim=1).mean()
