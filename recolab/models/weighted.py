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

Training (see :mod:`recolab.training` and :mod:`recolab.objectives`) samples λ per batch and
minimises f + λ·g, so one trained network serves every λ in its range: a new λ costs one
small matrix product over cached user and item vectors, not a retraining.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional

from recolab.data.interactions import InteractionData, item_titles
from recolab.features.users import UserAttributeEncoder
from recolab.models.base import Recommender

log = logging.getLogger(__name__)

#: Item-item memory is used only up to this many items (it costs items² floats).
ITEM_ITEM_MAX_ITEMS = 20_000


def ease_weights(x: sp.csr_matrix, l2: float) -> np.ndarray:
    """EASE closed form B (items × items, zero diagonal) of a binary user × item matrix."""
    g = (x.T @ x).toarray().astype(np.float64)
    g[np.diag_indices_from(g)] += l2
    p = np.linalg.inv(g)
    b = -p / np.diag(p)[None, :]
    b[np.diag_indices_from(b)] = 0.0
    return b.astype(np.float32)


def rating_baseline(
    ratings: sp.csr_matrix, *, reg: float = 5.0, iterations: int = 3
) -> tuple[float, np.ndarray, np.ndarray]:
    """The classic baseline predictor r̂ = μ + b_u + b_i of an explicit users × items rating
    matrix (zero = not rated), by a few rounds of shrunk means:
    b_i = Σ_u (r − μ − b_u) / (n_i + reg), then b_u = Σ_i (r − μ − b_i) / (n_u + reg).

    Returns (μ, b_u per user, b_i per item); users and items without ratings get 0.
    """
    coo = ratings.tocoo()
    rows, cols, r = coo.row, coo.col, coo.data.astype(np.float64)
    n_users, n_items = ratings.shape
    if len(r) == 0:
        return 0.0, np.zeros(n_users, np.float32), np.zeros(n_items, np.float32)
    mu = float(r.mean())
    n_u = np.bincount(rows, minlength=n_users)
    n_i = np.bincount(cols, minlength=n_items)
    b_u = np.zeros(n_users)
    b_i = np.zeros(n_items)
    for _ in range(iterations):
        b_i = np.bincount(cols, r - mu - b_u[rows], minlength=n_items) / (n_i + reg)
        b_u = np.bincount(rows, r - mu - b_i[cols], minlength=n_users) / (n_u + reg)
    return mu, b_u.astype(np.float32), b_i.astype(np.float32)


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
        n_obj = int(self.lam_scale.numel())
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
        self.item_embedding = nn.Parameter(torch.randn(n_items, dim) * 0.01)
        self.item_bias = nn.Parameter(torch.zeros(n_items))
        # rating head (explicit data), not λ-conditioned:
        # r̂ = μ + b_u + b_i (fixed baseline) + rb_i + w · (base_u · q_i) (learned residual)
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
        self.register_buffer("log_popularity", torch.as_tensor(log_popularity, dtype=torch.float32))
        if text is not None:
            t = torch.as_tensor(text, dtype=torch.float32)
            self.register_buffer("text", t)
            self.text_projection = nn.Linear(t.shape[1], dim, bias=False)
            nn.init.normal_(self.text_projection.weight, std=0.01)
            self.text_bias = nn.Linear(t.shape[1], 1, bias=False)
            nn.init.zeros_(self.text_bias.weight)
        else:
            self.text = None
            self.text_projection = None
            self.text_bias = None
        if item_item is not None:
            self.register_buffer("item_item", torch.as_tensor(item_item, dtype=torch.float32))
            # scale of the memory part in logits (learned, log-parametrised)
            self.log_memory_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        else:
            self.item_item = None
            self.log_memory_scale = None
        # FiLM: per-objective λ → (γ, δ, memory gate, popularity weight); zero last layer =
        # identity at start
        self.film = nn.Sequential(
            nn.Linear(3 * n_obj, film_hidden), nn.Tanh(), nn.Linear(film_hidden, 2 * dim + 2)
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
    ) -> torch.Tensor | None:
        """x_u B for a batch of histories (None without the memory part).

        ``weights`` replaces B (training uses out-of-fold weights, see
        :func:`recolab.training.fit_weighted`).
        """
        if self.item_item is None:
            return None
        matrix = self.item_item if weights is None else weights
        return functional.embedding_bag(items, matrix, offsets, mode="sum")

    def item_vectors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(φ, bias) for every item."""
        phi = self.item_embedding
        bias = self.item_bias
        if self.text is not None:
            phi = phi + self.text_projection(self.text)
            bias = bias + self.text_bias(self.text).squeeze(1)
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
    ) -> torch.Tensor:
        """Scores (users × items) from λ-free user pieces and per-objective λ (users × J);
        ``new_users`` (bool per user) marks users without history (models with user
        attributes give them their own item bias)."""
        gamma, delta, scale, pop = self.film_params(lam)
        theta = base * (1.0 + gamma) + delta
        phi, bias = self.item_vectors()
        s = theta @ phi.T + bias[None, :] + pop[:, None] * self.log_popularity[None, :]
        if memory is not None:
            s = s + scale[:, None] * memory
        if new_users is not None and self.new_user_bias is not None:
            s = s + new_users.to(s.dtype)[:, None] * self.new_user_bias[None, :]
        return s


@dataclass
class Histories:
    """Users' histories as flat index arrays (CSR rows), for EmbeddingBag batches."""

    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def from_csr(cls, m: sp.csr_matrix) -> Histories:
        """From a binary users × items CSR."""
        return cls(m.indptr.astype(np.int64), m.indices.astype(np.int64))

    def rows(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lengths, items) of the users' histories, items concatenated in user order."""
        starts, ends = self.indptr[users], self.indptr[users + 1]
        lengths = ends - starts
        # position of every item: its row start plus its rank inside the row (no Python loop)
        first = np.cumsum(lengths) - lengths
        pos = np.arange(int(lengths.sum())) - np.repeat(first - starts, lengths)
        return lengths, self.indices[pos]

    def bag(
        self, users: np.ndarray, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(items, offsets, 1/√n weights) of the users' full histories."""
        lengths, items = self.rows(users)
        return bag_tensors(items, lengths, device)


def bag_tensors(
    items: np.ndarray, lengths: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """EmbeddingBag inputs for consecutive bags of ``lengths`` items: (items, offsets,
    1/√n per-item weights)."""
    offsets = (np.cumsum(lengths) - lengths).astype(np.int64)
    w = np.repeat(1.0 / np.sqrt(np.maximum(lengths, 1)), lengths).astype(np.float32)
    return (
        torch.as_tensor(np.asarray(items, dtype=np.int64), device=device),
        torch.as_tensor(offsets, device=device),
        torch.as_tensor(w, device=device),
    )


class WeightedObjectiveRecommender(Recommender):
    """One model for every λ: the product's weighted-objective recommender.

    Parameters
    ----------
    config:
        A :class:`recolab.training.TrainConfig` (size, epochs, λ range, objective weights,
        device, seed …). ``None`` → defaults.

    Examples
    --------
    >>> model = WeightedObjectiveRecommender(TrainConfig(epochs=5)).fit(train)  # doctest: +SKIP
    >>> ids, scores = model.recommend([0, 1], k=10, lam=0.5)                      # doctest: +SKIP
    """

    conditioned = True

    def __init__(self, config: Any = None) -> None:
        from recolab.training import TrainConfig

        self.config = config if config is not None else TrainConfig()

    # -- fitting -----------------------------------------------------------------------
    def fit(
        self,
        train: InteractionData,
        *,
        valid: InteractionData | None = None,
        item_text: np.ndarray | None = None,
        item_vectors: np.ndarray | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Self:
        """Train on ``train`` (λ sampled per batch of users) and return ``self``.

        Parameters
        ----------
        train, valid:
            Training data and optional validation data (same vocabularies). Without
            ``valid`` the loop runs the configured number of epochs (or until the budget).
        item_text:
            Item text embeddings (n_items × dim, unit or zero rows), or ``None``.
        item_vectors:
            Unit item vectors for the diversity term (text embeddings or genres); defaults
            to ``item_text``.
        on_progress, should_stop:
            Callbacks of :func:`recolab.training.fit_weighted`.
        """
        from recolab.training import fit_weighted

        self._check_train(train)
        fit_weighted(
            self,
            train,
            valid=valid,
            item_text=item_text,
            item_vectors=item_vectors,
            on_progress=on_progress,
            should_stop=should_stop,
        )
        return self

    # -- state the trainer sets, and the cached scorer -----------------------------------
    def _attach(
        self,
        net: WeightedObjectiveNet,
        train: InteractionData,
        has_text: np.ndarray | None,
        user_attributes: tuple[UserAttributeEncoder, sp.csr_matrix] | None = None,
    ) -> None:
        """Keep the trained network and derive the cached scoring arrays."""
        from recolab.data.interactions import data_fingerprint

        self._set_user_attributes(user_attributes)
        self._remember(train)
        if has_text is not None:
            self.candidates_ = self.candidates_ | np.asarray(has_text, bool)
        self.users_ = train.users
        self.items_ = train.items
        self.item_titles_ = item_titles(train)
        self.data_fingerprint_ = data_fingerprint(train)
        self.net_ = net.to("cpu").eval()
        self.histories_ = Histories.from_csr(self.train_)
        self.refresh_cache()

    @classmethod
    def from_state(
        cls,
        config: dict[str, Any],
        state: dict[str, np.ndarray],
        *,
        train: sp.csr_matrix,
        candidates: np.ndarray,
        users: Any,
        items: Any,
        item_titles: list[str] | None = None,
        objectives: list[str] | None = None,
        user_attributes: tuple[UserAttributeEncoder, sp.csr_matrix] | None = None,
    ) -> WeightedObjectiveRecommender:
        """Rebuild a fitted model from its config, weights and training histories (bundles).

        ``objectives`` names the secondary objectives the model is conditioned on, in order;
        ``user_attributes`` is the attribute encoder and the users × tokens matrix of the
        training users, for models trained with user attributes.
        """
        from recolab.training import TrainConfig

        cfg = TrainConfig.from_dict(config)
        n_items = train.shape[1]
        objectives = list(objectives or ["novelty"])
        net = WeightedObjectiveNet(
            n_items,
            cfg.dim,
            text=state.get("text"),
            log_popularity=state["log_popularity"],
            item_item=state.get("item_item"),
            lam_scale=state["lam_scale"],
            rating_baseline=(
                (0.0, state["rating_user_offset"], state["rating_item_offset"])
                if "rating_user_offset" in state
                else None
            ),
            n_user_tokens=(
                int(state["user_attributes.weight"].shape[0])
                if "user_attributes.weight" in state
                else 0
            ),
        )
        net.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
        model = cls(cfg)
        model.train_ = train
        model.candidates_ = np.asarray(candidates, bool)
        model.users_ = users
        model.items_ = items
        model.item_titles_ = item_titles
        model.data_fingerprint_ = None
        model.objectives_ = objectives
        model.objective_weights_ = np.array([getattr(cfg, o) for o in objectives], np.float32)
        model._set_user_attributes(user_attributes)
        model.net_ = net.eval()
        model.histories_ = Histories.from_csr(train)
        model.refresh_cache()
        return model

    def _set_user_attributes(
        self, user_attributes: tuple[UserAttributeEncoder, sp.csr_matrix] | None
    ) -> None:
        if user_attributes is None:
            self.user_encoder_, self.user_tokens_ = None, None
        else:
            encoder, tokens = user_attributes
            self.user_encoder_ = encoder
            self.user_tokens_ = tokens
            self._token_histories = Histories.from_csr(tokens)

    def attribute_bag(
        self, users: np.ndarray, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """EmbeddingBag inputs of the users' attribute tokens (``None`` without attributes)."""
        if getattr(self, "user_tokens_", None) is None:
            return None
        return self._token_histories.bag(users, device)

    def refresh_cache(self) -> None:
        """Recompute the λ-free user and item arrays (after training or pruning)."""
        net = self.net_
        users = np.arange(self.train_.shape[0])
        with torch.inference_mode():
            phi, bias = net.item_vectors()
            self.phi_ = phi.numpy().astype(np.float32)
            self.bias_ = bias.numpy().astype(np.float32)
            self.log_popularity_ = net.log_popularity.numpy()
            bases, mems = [], []
            for start in range(0, len(users), 4096):
                b = users[start : start + 4096]
                items, offsets, w = self.histories_.bag(b, torch.device("cpu"))
                attrs = self.attribute_bag(b, torch.device("cpu"))
                bases.append(net.user_base(items, offsets, w, attrs).numpy())
                m = net.memory(items, offsets)
                if m is not None:
                    mems.append(m.numpy())
            self.user_base_ = np.vstack(bases).astype(np.float32)
            self.new_users_ = np.diff(self.histories_.indptr) == 0
            self.new_user_bias_ = (
                None if net.new_user_bias is None else net.new_user_bias.numpy().copy()
            )
            self.memory_ = np.vstack(mems).astype(np.float32) if mems else None

    def lambda_vector(self, lam: float | Mapping[str, float] | None) -> np.ndarray:
        """Per-objective λ (one per entry of ``objectives_``) for a ``lam`` given as

        * ``None``: 0 (the relevance model alone);
        * a number λ: the trade-off λ with the trained weights, λ_j = λ · w_j;
        * a mapping ``{objective: λ_j}``: each objective's own λ (missing ones 0); the
          dashboard's per-objective sliders give λ_j = λ · weight_j.
        """
        if lam is None:
            return np.zeros(len(self.objectives_), np.float32)
        if isinstance(lam, Mapping):
            unknown = sorted(set(lam) - set(self.objectives_))
            if unknown:
                raise ValueError(
                    f"the model is conditioned on {self.objectives_}, not on {unknown}"
                )
            return np.array([float(lam.get(o, 0.0)) for o in self.objectives_], np.float32)
        return (float(lam) * self.objective_weights_).astype(np.float32)

    def film(
        self, lam: float | Mapping[str, float] | None
    ) -> tuple[np.ndarray, np.ndarray, float, float]:
        """(γ, δ, memory scale, popularity weight) at ``lam`` (see :meth:`lambda_vector`)."""
        vec = torch.as_tensor(self.lambda_vector(lam))[None, :]
        with torch.inference_mode():
            g, d, s, p = self.net_.film_params(vec)
        return g[0].numpy(), d[0].numpy(), float(s[0]), float(p[0])

    def _score_known(
        self, users: np.ndarray, lam: float | Mapping[str, float] | None
    ) -> np.ndarray:
        gamma, delta, scale, pop = self.film(lam)
        theta = self.user_base_[users] * (1.0 + gamma) + delta
        s = theta @ self.phi_.T
        s += self.bias_ + pop * self.log_popularity_
        if self.memory_ is not None:
            s += scale * self.memory_[users]
        if self.new_user_bias_ is not None:
            new = self.new_users_[users]
            s[new] += self.new_user_bias_
        return s.astype(np.float32, copy=False)

    def score_text_items(
        self,
        users: np.ndarray,
        text_vectors: np.ndarray,
        lam: float | Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """Scores (users × new items) of items known only by their text embeddings: the
        text path φ = P t, bias w·t, the lowest popularity, no collaborative memory."""
        net = self.net_
        if net.text is None:
            raise ValueError("the model was trained without item texts")
        gamma, delta, _, pop = self.film(lam)
        with torch.inference_mode():
            t = torch.as_tensor(text_vectors, dtype=torch.float32)
            phi = net.text_projection(t).numpy()
            bias = net.text_bias(t).squeeze(1).numpy()
        theta = self.user_base_[users] * (1.0 + gamma) + delta
        return (theta @ phi.T + bias - pop).astype(np.float32)

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings of (user, item) index pairs; NaN for unknown users or items, and
        everywhere when the model was not trained on ratings."""
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        out = np.full(len(users), np.nan, dtype=np.float64)
        if not getattr(self, "rating_range_", None):
            return out
        ok = (users >= 0) & (users < len(self.user_base_)) & (items >= 0) & (items < self.n_items)
        u, i = users[ok], items[ok]
        with torch.inference_mode():
            pred = self.net_.ratings(
                torch.as_tensor(self.user_base_),
                torch.as_tensor(self.phi_),
                torch.as_tensor(u),
                torch.as_tensor(i),
                users=torch.as_tensor(u),
            ).numpy()
        lo, hi = self.rating_range_
        out[ok] = np.clip(pred, lo, hi)
        return out

    def fold_in(
        self,
        item_indices: list[int] | np.ndarray,
        lam: float | Mapping[str, float] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> np.ndarray:
        """Scores (n_items,) for a new user given the indices of items they interacted with
        (may be empty) and, for models trained with user attributes, their attributes
        (column → value; unknown columns and values are ignored)."""
        idx = np.asarray([i for i in item_indices if 0 <= i < self.n_items], dtype=np.int64)
        lam_t = torch.as_tensor(self.lambda_vector(lam))[None, :]
        attrs = None
        encoder = getattr(self, "user_encoder_", None)
        if attributes and encoder is not None:
            tokens = encoder.encode_one(attributes)
            attrs = bag_tensors(tokens, np.array([len(tokens)]), torch.device("cpu"))
        with torch.inference_mode():
            items = torch.as_tensor(idx)
            offsets = torch.zeros(1, dtype=torch.int64)
            w = torch.full((len(idx),), 1.0 / math.sqrt(max(len(idx), 1)))
            base = self.net_.user_base(items, offsets, w, attrs)
            mem = self.net_.memory(items, offsets)
            new = torch.tensor([len(idx) == 0])
            return self.net_.logits(base, mem, lam_t, new)[0].numpy()

    # -- sparsity ------------------------------------------------------------------------
    def weight_arrays(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer of the exported model, by name (CPU numpy views)."""
        return {k: v.detach().numpy() for k, v in self.net_.state_dict().items()}

    def sparsity(self) -> float:
        """Fraction of exactly-zero numbers among the model's learned and stored weights
        (text embeddings, which are inputs, excluded)."""
        arrays = [v for k, v in self.weight_arrays().items() if k not in ("text",)]
        total = sum(a.size for a in arrays)
        zeros = sum(int((a == 0).sum()) for a in arrays)
        return zeros / total if total else 0.0

    def prune(self, target: float) -> WeightedObjectiveRecommender:
        """A copy with each weight matrix magnitude-pruned to ``target`` zeros (0 ≤ target < 1).

        Matrices with ≥ 1,000 entries are pruned (biases and the small FiLM network are
        kept); the cached scoring arrays are recomputed.
        """
        if not 0.0 <= target < 1.0:
            raise ValueError(f"prune target must be in [0, 1), got {target}")
        import copy

        out = copy.copy(self)
        out.net_ = copy.deepcopy(self.net_)
        with torch.no_grad():
            for name, t in out.net_.state_dict().items():
                if name == "text" or t.ndim < 2 or t.numel() < 1000:
                    continue
                k = int(target * t.numel())
                if k == 0:
                    continue
                threshold = t.abs().flatten().kthvalue(k).values
                t[t.abs() <= threshold] = 0.0
        out.refresh_cache()
        return out
