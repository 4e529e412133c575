"""The weighted-objective recommender: one model conditioned on the trade-off λ.

Score of item i for user u at trade-off λ (the seed formula r̂ = θ_u·φ(i) + β_i·ψ(u) + biases):

    s(u, i; λ) = θ_u(λ) · φ_i  +  a(λ) · β_i · ψ(u)  +  b_i  +  c(λ) · logpop_i

* ψ(u) = x_u, the user's training history (binary), and β_i the item-item weights (column i of
  B, initialised by the EASE closed form on the training data and kept fixed): the
  collaborative memory part. Switched off for very large catalogues.
* θ_u(λ) = FiLM_λ(tanh(W x_u / √|x_u| + A a_u / √|a_u| + c)): a user vector from the history
  x_u and, when the data have user attributes, the user's attribute tokens a_u (see
  :mod:`recolab.features.users`), modulated by λ (feature-wise scale and shift from a small
  network of λ). A user with attributes but no history still gets a personal vector.
* φ_i = E_i + P t_i: a collaborative item embedding plus a learned projection of the item's
  pretrained text embedding t_i (zero when there is no text). Items never seen in training
  but with text still get a score through P t_i (cold start).
* b_i = bias_i + w·t_i, and c(λ) · logpop_i lets λ move the whole list along the popularity
  axis; a(λ) lets λ weigh the memory part.

Training (see :mod:`recolab.models.weighted.trainer` and :mod:`recolab.objectives`) samples
λ per batch and minimises f + λ·g, so one trained network serves every λ in its range: a new λ
costs one small matrix product over cached user and item vectors, not a retraining.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from recolab.config import TrainConfig


def lambda_features(lam: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Inputs of the FiLM network: per-objective λ (users × J), each divided by its scale
    (the top of its trained range), as (z, √z, z²) → (users × 3J)."""
    z = lam / scale.clamp(min=1e-12)
    return torch.cat([z, torch.sqrt(z.clamp(min=0.0)), z * z], dim=1)


class WeightedObjectiveNet(nn.Module):
    """The network: user encoder, item side, FiLM on λ, fixed item-item memory.

    Parameters
    ----------
    n_items:
        Catalogue size (training vocabulary, including items known only by their text).
    dim:
        Width of user and item vectors.
    text:
        Item text embeddings (n_items × text_dim, unit rows or zero), or ``None``.
    log_popularity:
        Normalised log popularity per item, in [-1, 0] (see
        :func:`recolab.objectives.novelty_term`).
    rating_baseline:
        For explicit data, the baseline predictor (μ, b_u, b_i) of :func:`rating_baseline`;
        the rating head learns a residual on top of it. ``None`` for implicit data.
    item_item:
        EASE weights B (n_items × n_items), or ``None`` to leave the memory part out.
    lam_scale:
        Per secondary objective, the top of its trained λ range (λ_high × its weight); one
        FiLM input group per objective.
    n_user_tokens:
        Number of user attribute tokens (0 = no user attributes).
    """

    def __init__(
        self,
        n_items: int,
        dim: int,
        *,
        text: np.ndarray | None,
        log_popularity: np.ndarray,
        item_item: np.ndarray | None,
        lam_scale: np.ndarray,
        film_hidden: int = 32,
        rating_baseline: tuple[float, np.ndarray, np.ndarray] | None = None,
        n_user_tokens: int = 0,
    ) -> None:
        super().__init__()
        self.n_items = n_items
        self.dim = dim
        self.register_buffer("lam_scale", torch.as_tensor(lam_scale, dtype=torch.float32))
        # the parts are created in this order (it fixes how the seeded initialisation draws)
        self._add_user_side(n_user_tokens)
        self.item_embedding = nn.Parameter(torch.randn(n_items, dim) * 0.01)
        self.item_bias = nn.Parameter(torch.zeros(n_items))
        self._add_rating_head(rating_baseline)
        self.register_buffer("log_popularity", torch.as_tensor(log_popularity, dtype=torch.float32))
        self._add_item_text(text)
        self._add_memory(item_item)
        self._add_film(int(self.lam_scale.numel()), film_hidden)

    def _add_user_side(self, n_user_tokens: int) -> None:
        """History encoder W, c and, with user attributes, their embeddings A and the item
        bias of users without history."""
        n_items, dim = self.n_items, self.dim
        self.encoder = nn.EmbeddingBag(n_items, dim, mode="sum")
        nn.init.normal_(self.encoder.weight, std=1.0 / math.sqrt(dim))
        self.encoder_bias = nn.Parameter(torch.zeros(dim))
        if n_user_tokens > 0:
            self.user_attributes = nn.EmbeddingBag(n_user_tokens, dim, mode="sum")
            nn.init.normal_(self.user_attributes.weight, std=0.1 / math.sqrt(dim))
            # item bias of users without history (their lists come from attributes alone;
            # the warm item bias is a residual next to the history parts, not a prior)
            self.new_user_bias = nn.Parameter(torch.zeros(n_items))
        else:
            self.user_attributes = None
            self.new_user_bias = None

    def _add_rating_head(
        self, rating_baseline: tuple[float, np.ndarray, np.ndarray] | None
    ) -> None:
        """Rating head (explicit data), not λ-conditioned:
        r̂ = μ + b_u + b_i (fixed baseline) + rb_i + w · (base_u · q_i) (learned residual)."""
        n_items, dim = self.n_items, self.dim
        mu = 0.0 if rating_baseline is None else float(rating_baseline[0])
        self.rating_mu = nn.Parameter(torch.tensor(mu))
        self.rating_bias = nn.Parameter(torch.zeros(n_items))
        self.rating_w = nn.Parameter(torch.tensor(1.0))
        if rating_baseline is not None:
            # rating-only item vectors: the ranking's φ is shaped by the secondary objectives
            self.rating_item = nn.Parameter(torch.randn(n_items, dim) * 0.01)
            self.register_buffer(
                "rating_user_offset", torch.as_tensor(rating_baseline[1], dtype=torch.float32)
            )
            self.register_buffer(
                "rating_item_offset", torch.as_tensor(rating_baseline[2], dtype=torch.float32)
            )
        else:
            self.rating_item = None
            self.rating_user_offset = None
            self.rating_item_offset = None

    def _add_item_text(self, text: np.ndarray | None) -> None:
        """Text path of the item side: projection P and bias weights w of t_i."""
        if text is not None:
            t = torch.as_tensor(text, dtype=torch.float32)
            self.register_buffer("text", t)
            self.text_projection = nn.Linear(t.shape[1], self.dim, bias=False)
            nn.init.normal_(self.text_projection.weight, std=0.01)
            self.text_bias = nn.Linear(t.shape[1], 1, bias=False)
            nn.init.zeros_(self.text_bias.weight)
        else:
            self.text = None
            self.text_projection = None
            self.text_bias = None

    def _add_memory(self, item_item: np.ndarray | None) -> None:
        """The fixed item-item weights B and the learned scale of the memory part."""
        if item_item is not None:
            self.register_buffer("item_item", torch.as_tensor(item_item, dtype=torch.float32))
            # scale of the memory part in logits (learned, log-parametrised)
            self.log_memory_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        else:
            self.item_item = None
            self.log_memory_scale = None

    def _add_film(self, n_obj: int, film_hidden: int) -> None:
        """FiLM: per-objective λ → (γ, δ, memory gate, popularity weight); zero last layer =
        identity at start."""
        self.film = nn.Sequential(
            nn.Linear(3 * n_obj, film_hidden),
            nn.Tanh(),
            nn.Linear(film_hidden, 2 * self.dim + 2),
        )
        nn.init.zeros_(self.film[2].weight)
        nn.init.zeros_(self.film[2].bias)

    # -- pieces, shared by training and by the cached scorer -----------------------------
    def user_base(
        self,
        items: torch.Tensor,
        offsets: torch.Tensor,
        weights: torch.Tensor,
        attributes: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """λ-free user vectors from histories given as an EmbeddingBag batch, plus the users'
        attribute tokens (same EmbeddingBag form) when the model has user attributes."""
        h = self.encoder(items, offsets, per_sample_weights=weights) + self.encoder_bias
        if self.user_attributes is not None and attributes is not None:
            tokens, token_offsets, token_weights = attributes
            a = self.user_attributes(tokens, token_offsets, per_sample_weights=token_weights)
            # attributes speak loudest for users with little history
            ends = torch.cat([offsets[1:], offsets.new_tensor([items.numel()])])
            h = h + a * torch.rsqrt(1.0 + (ends - offsets).to(a.dtype))[:, None]
        return torch.tanh(h)

    def memory(
        self,
        items: torch.Tensor,
        offsets: torch.Tensor,
        weights: torch.Tensor | None = None,
        columns: torch.Tensor | None = None,
    ) -> torch.Tensor | None:
        """x_u B for a batch of histories (None without the memory part).

        ``weights`` replaces B (training uses out-of-fold weights, see
        :class:`recolab.models.weighted.trainer.WeightedTrainer`); ``columns`` keeps only
        those items' columns, gathered per history item (cost history items × columns).
        """
        if self.item_item is None:
            return None
        matrix = self.item_item if weights is None else weights
        if columns is None:
            return functional.embedding_bag(items, matrix, offsets, mode="sum")
        ends = torch.cat([offsets[1:], offsets.new_tensor([items.numel()])])
        rows = torch.repeat_interleave(
            torch.arange(len(offsets), device=items.device), ends - offsets
        )
        gathered = matrix[items[:, None], columns[None, :]]
        out = torch.zeros((len(offsets), len(columns)), dtype=gathered.dtype, device=items.device)
        return out.index_add_(0, rows, gathered)

    def item_vectors(
        self, columns: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(φ, bias) for every item, or for the items ``columns`` only."""
        phi, bias, text = self.item_embedding, self.item_bias, self.text
        if columns is not None:
            phi, bias = phi[columns], bias[columns]
            text = text[columns] if text is not None else None
        if text is not None:
            phi = phi + self.text_projection(text)
            bias = bias + self.text_bias(text).squeeze(1)
        return phi, bias

    def ratings(
        self,
        base: torch.Tensor,
        phi: torch.Tensor,
        rows: torch.Tensor,
        items: torch.Tensor,
        users: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predicted ratings of (row, item) pairs from λ-free user vectors ``base`` (and item
        vectors ``phi`` when the head has no rating-only item vectors); ``users`` (training
        user indices of the rows, -1 for users without ratings) picks the offsets b_u."""
        vectors = self.rating_item if self.rating_item is not None else phi
        dot = (base[rows] * vectors[items]).sum(dim=1)
        out = self.rating_mu + self.rating_bias[items] + self.rating_w * dot
        if self.rating_item_offset is not None:
            out = out + self.rating_item_offset[items]
            if users is not None:
                known = users >= 0
                out = out + torch.where(
                    known, self.rating_user_offset[users.clamp(min=0)], torch.zeros_like(out)
                )
        return out

    def film_params(self, lam: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(γ, δ, memory scale, popularity weight) for each row of per-objective λ (users × J).

        The modulation is FiLM(λ) − FiLM(0), so λ = 0 (no secondary objective) leaves the
        relevance model untouched: γ = δ = 0, the memory at its own scale, no popularity
        shift; away from 0 its shape is free (the √λ input lets it rise steeply).
        """
        out = self.film(lambda_features(lam, self.lam_scale)) - self.film(
            lambda_features(torch.zeros_like(lam[:1]), self.lam_scale)
        )
        d = self.dim
        gamma, delta = out[:, :d], out[:, d : 2 * d]
        gate, pop = out[:, 2 * d], out[:, 2 * d + 1]
        scale = (
            torch.exp(self.log_memory_scale + gate)
            if self.log_memory_scale is not None
            else torch.zeros_like(gate)
        )
        return gamma, delta, scale, pop

    def logits(
        self,
        base: torch.Tensor,
        memory: torch.Tensor | None,
        lam: torch.Tensor,
        new_users: torch.Tensor | None = None,
        columns: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Scores (users × items) from λ-free user pieces and per-objective λ (users × J);
        ``new_users`` (bool per user) marks users without history (models with user
        attributes give them their own item bias). ``columns`` scores those items only
        (users × len(columns); ``memory`` must then hold the same columns)."""
        gamma, delta, scale, pop = self.film_params(lam)
        theta = base * (1.0 + gamma) + delta
        phi, bias = self.item_vectors(columns)
        log_pop = self.log_popularity if columns is None else self.log_popularity[columns]
        s = theta @ phi.T + bias[None, :] + pop[:, None] * log_pop[None, :]
        if memory is not None:
            s = s + scale[:, None] * memory
        if new_users is not None and self.new_user_bias is not None:
            user_bias = self.new_user_bias if columns is None else self.new_user_bias[columns]
            s = s + new_users.to(s.dtype)[:, None] * user_bias[None, :]
        return s


def optimiser_groups(net: WeightedObjectiveNet, cfg: TrainConfig) -> list[dict[str, Any]]:
    """AdamW parameter groups of a :class:`WeightedObjectiveNet`.

    * the user and item vector matrices (history encoder, item embeddings, text projection,
      user attribute embeddings): ``lr``, with ``weight_decay``;
    * the other ranking parameters (biases, popularity and text bias weights): ``lr``;
    * the λ network (FiLM) and the memory scale: ``film_lr``;
    * the rating head: ``rating_lr``.

    Weight decay leaves biases and scales alone: shrinking the memory scale, or the rating
    head's mean, towards zero would bias the model rather than regularise it.
    """
    params = [p for p in net.parameters() if p.requires_grad]
    film = list(net.film.parameters())
    if net.log_memory_scale is not None:
        film.append(net.log_memory_scale)
    rating = [
        p for p in (net.rating_mu, net.rating_bias, net.rating_w, net.rating_item) if p is not None
    ]
    vectors = [net.encoder.weight, net.item_embedding]
    vectors += [m.weight for m in (net.text_projection, net.user_attributes) if m is not None]
    own = {id(p) for p in film + rating + vectors}
    return [
        {"params": [p for p in params if id(p) not in own], "lr": cfg.lr, "weight_decay": 0.0},
        {"params": vectors, "lr": cfg.lr, "weight_decay": cfg.weight_decay},
        {"params": film, "lr": cfg.film_lr or cfg.lr, "weight_decay": 0.0},
        {"params": rating, "lr": cfg.rating_lr or cfg.lr, "weight_decay": 0.0},
    ]
