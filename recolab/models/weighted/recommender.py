"""The weighted-objective recommender: one fitted network, cached for scoring at any λ.

:class:`WeightedObjectiveRecommender` fits a
:class:`~recolab.models.weighted.network.WeightedObjectiveNet` with
:func:`~recolab.models.weighted.trainer.train_network`, keeps it (``net_``) and the λ-free
user and item arrays derived from it, and scores at a new λ with one small matrix product.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch

from recolab.config import TrainConfig
from recolab.data.interactions import InteractionData, data_fingerprint, item_titles
from recolab.features.users import UserAttributeEncoder
from recolab.models.base import Recommender
from recolab.models.weighted.histories import Histories, bag_tensors
from recolab.models.weighted.network import WeightedObjectiveNet
from recolab.models.weighted.trainer import train_network

log = logging.getLogger(__name__)


class WeightedObjectiveRecommender(Recommender):
    """One model for every λ: the product's weighted-objective recommender.

    Parameters
    ----------
    config:
        A :class:`recolab.config.TrainConfig` (size, epochs, λ range, objective weights,
        device, seed …). ``None`` → defaults.

    Examples
    --------
    >>> model = WeightedObjectiveRecommender(TrainConfig(epochs=5)).fit(train)  # doctest: +SKIP
    >>> ids, scores = model.recommend([0, 1], k=10, lam=0.5)                      # doctest: +SKIP
    """

    conditioned = True

    def __init__(self, config: TrainConfig | None = None) -> None:
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
            Callbacks of :func:`recolab.models.weighted.trainer.train_network`.
        """
        self._check_train(train)
        trained = train_network(
            self.config,
            train,
            valid=valid,
            item_text=item_text,
            item_vectors=item_vectors,
            on_progress=on_progress,
            should_stop=should_stop,
        )
        self._attach(
            trained.net, train, has_text=trained.has_text, user_attributes=trained.user_attributes
        )
        self.objectives_ = trained.objectives
        self.objective_weights_ = trained.objective_weights
        self.train_result_ = trained.result
        if trained.rating_range is not None:
            self.rating_range_ = trained.rating_range
        return self

    # -- fitted state, and the cached scorer ---------------------------------------------
    def _attach(
        self,
        net: WeightedObjectiveNet,
        train: InteractionData,
        has_text: np.ndarray | None,
        user_attributes: tuple[UserAttributeEncoder, sp.csr_matrix] | None = None,
    ) -> None:
        """Keep the trained network and derive the cached scoring arrays."""
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
