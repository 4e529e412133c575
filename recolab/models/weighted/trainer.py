"""Training of the weighted-objective network: inputs, one batch, one epoch, validation.

:func:`train_network` is the entry point (called by
:meth:`recolab.models.weighted.WeightedObjectiveRecommender.fit`); it reads, in order:

1. :func:`prepare_inputs` derives from the training data everything the steps need
   (histories, popularity, the EASE memory and its out-of-fold copies, ratings, user
   attributes, diversity vectors, the conditioned objectives) → :class:`TrainingInputs`;
2. :func:`build_network` makes the :class:`~recolab.models.weighted.network.WeightedObjectiveNet`;
3. :class:`WeightedTrainer` holds the network, optimiser and weight average and trains one
   epoch at a time (:meth:`~WeightedTrainer.train_epoch` → :meth:`~WeightedTrainer.train_batch`);
4. :class:`Validator` measures recall@k and coverage@k on validation at λ = 0 and at the top of
   the range;
5. the generic :func:`recolab.training.train_loop` runs the epochs with early stopping, the
   time budget, NaN checks and progress events.

Each step takes a batch of users, hides a share (``holdout``) of each history, samples one λ
for the batch, and minimises f (likelihood of the hidden items among all items not in the
input) + λ·g (novelty, exposure and diversity of the predicted lists) + an L1 term. With
``TrainConfig.softmax`` sampled (large catalogues), f and g are computed over the batch's
positives and shared popularity-sampled negatives, logQ-corrected
(:mod:`recolab.models.weighted.sampling`), so a step does not cost batch × items.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from recolab.config import MULTIPLIER_HIGH, TrainConfig, conditioned_objectives
from recolab.data.interactions import InteractionData
from recolab.device import resolve_device
from recolab.errors import Cancelled, DataError, RecolabError, TrainingError
from recolab.features.users import UserAttributeEncoder
from recolab.memory import memory_shortfall
from recolab.metrics import ranking_metrics
from recolab.models.linear import solve_memory_bytes
from recolab.models.weighted.closed_form import ITEM_ITEM_MAX_ITEMS, ease_weights, rating_baseline
from recolab.models.weighted.histories import Histories, bag_tensors, split_histories
from recolab.models.weighted.network import WeightedObjectiveNet, optimiser_groups
from recolab.models.weighted.sampling import (
    NegativeSampler,
    sampled_exposure_term,
    sampled_probabilities,
    sampled_relevance_loss,
    use_sampled_softmax,
)
from recolab.objectives import (
    diversity_term,
    exposure_term,
    l1_term,
    novelty_term,
    relevance_loss,
)
from recolab.training import (
    ProgressCallback,
    StopCallback,
    TrainResult,
    seed_everything,
    train_loop,
)

log = logging.getLogger(__name__)

#: Folds of the out-of-fold item-item memory used during training.
OOF_FOLDS = 2

UserAttributes = tuple[UserAttributeEncoder, sp.csr_matrix]


def _autocast(device: torch.device) -> Any:
    """bf16 autocast on CUDA (mixed precision), a no-op context on CPU."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return torch.autocast(device_type="cpu", enabled=False)


# -- inputs ----------------------------------------------------------------------------------


@dataclass
class TrainingInputs:
    """What the training steps read, derived once from the training data.

    Attributes
    ----------
    x:
        Binary users × items training matrix.
    item_users, lengths:
        Users per item and items per user in ``x``.
    n_active:
        Users with a history (at least 2), the novelty term's population.
    log_popularity:
        Normalised log popularity per item, in [-1, 0].
    text:
        Item text embeddings the model uses, or ``None``.
    memory:
        EASE weights B of all training users (kept in the model), or ``None``.
    fold, oof:
        Each user's fold and, per fold, B fitted without that fold's users (the memory used
        during training); ``oof`` is empty without out-of-fold memory.
    ratings, baseline:
        Explicit ratings (users × items) and their baseline predictor, or ``None``.
    diversity_vectors:
        Unit item vectors of the diversity term (on the device), or ``None``.
    user_attributes, token_histories:
        Attribute encoder and users × tokens matrix, and the tokens as histories, or ``None``.
    objectives, weights:
        The conditioned secondary objectives and their trained weights (on the device).
    histories, train_users:
        Histories of ``x`` and the users with ≥ 2 interactions (the ones trained on).
    """

    x: sp.csr_matrix
    item_users: np.ndarray
    lengths: np.ndarray
    n_active: int
    log_popularity: np.ndarray
    text: np.ndarray | None
    memory: np.ndarray | None
    fold: np.ndarray
    oof: list[torch.Tensor]
    ratings: sp.csr_matrix | None
    baseline: tuple[float, np.ndarray, np.ndarray] | None
    diversity_vectors: torch.Tensor | None
    user_attributes: UserAttributes | None
    token_histories: Histories | None
    objectives: list[str]
    weights: torch.Tensor
    histories: Histories
    train_users: np.ndarray

    @property
    def n_items(self) -> int:
        """Catalogue size."""
        return int(self.x.shape[1])


def _use_item_item(n_items: int, cfg: TrainConfig, device: torch.device) -> bool:
    """Whether to build the EASE memory, planned before anything is allocated: the solve
    plus B and its out-of-fold copies (float32). ``auto`` skips it, with a warning, above
    :data:`ITEM_ITEM_MAX_ITEMS` items or when the plan does not fit in memory; ``on`` raises
    :class:`~recolab.errors.DataError` naming the size instead."""
    if cfg.item_item == "off" or (cfg.item_item == "auto" and n_items > ITEM_ITEM_MAX_ITEMS):
        return False
    cpu = torch.device("cpu")
    square = 4 * n_items * n_items  # one float32 items × items matrix
    folds = (OOF_FOLDS if cfg.oof_memory else 0) * square  # out-of-fold B's, on ``device``
    cpu_need = solve_memory_bytes(n_items, cpu) + square + (folds if device.type == "cpu" else 0)
    short = memory_shortfall(cpu_need, cpu)
    if short is None and device.type != "cpu":
        short = memory_shortfall(folds, device)
    if short is None:
        return True
    if cfg.item_item == "on":
        raise DataError(f"item-item memory (item_item='on') for {n_items:,} items {short}")
    log.warning("item-item memory skipped: for %d items it %s", n_items, short)
    return False


def _item_item_memory(
    x: sp.csr_matrix, cfg: TrainConfig, rng: np.random.Generator, device: torch.device
) -> tuple[np.ndarray | None, np.ndarray, list[torch.Tensor]]:
    """(B, fold per user, out-of-fold B per fold): the EASE memory when it is used.

    Out-of-fold memory for training: a user's memory comes from B fitted without that user's
    fold, so the hidden target items are not already baked into B (stacking).
    """
    use_memory = _use_item_item(x.shape[1], cfg, device)
    t0 = time.perf_counter()
    memory = ease_weights(x, cfg.item_item_l2) if use_memory else None
    fold = rng.integers(0, OOF_FOLDS, size=x.shape[0])
    oof: list[torch.Tensor] = []
    if memory is not None and cfg.oof_memory:
        for k in range(OOF_FOLDS):
            keep = sp.diags((fold != k).astype(np.float32)) @ x
            oof.append(torch.as_tensor(ease_weights(keep.tocsr(), cfg.item_item_l2), device=device))
    if memory is not None:
        log.info(
            "item-item memory (EASE, l2=%s) in %.2f s", cfg.item_item_l2, time.perf_counter() - t0
        )
    return memory, fold, oof


def _diversity_vectors(
    cfg: TrainConfig,
    item_vectors: np.ndarray | None,
    text: np.ndarray | None,
    device: torch.device,
) -> torch.Tensor | None:
    """Item vectors of the diversity term (``item_vectors``, else the text), when it counts."""
    vectors = item_vectors if item_vectors is not None else text
    if cfg.diversity > 0 and vectors is None:
        log.warning(
            "diversity weight %s ignored: no item texts or genres to compare", cfg.diversity
        )
    if cfg.diversity > 0 and vectors is not None:
        return torch.as_tensor(vectors, dtype=torch.float32, device=device)
    return None


def _user_attributes(
    train: InteractionData, cfg: TrainConfig, lengths: np.ndarray
) -> UserAttributes | None:
    """Attribute encoder (fitted on users with a history) and every user's tokens, when the
    data have user attributes and the config uses them."""
    if not (
        cfg.use_user_attributes and train.user_meta is not None and len(train.user_meta.columns)
    ):
        return None
    active = [train.users.ids[u] for u in np.flatnonzero(lengths > 0)]
    encoder = UserAttributeEncoder.fit(train.user_meta.reindex(pd.Index(active)))
    tokens = encoder.encode(train.user_meta, train.users.ids)
    if encoder.n_tokens == 0 or tokens.nnz == 0:
        return None
    log.info(
        "user attributes: %d columns, %d tokens, %d of %d users have some",
        len(encoder.columns),
        encoder.n_tokens,
        int((tokens.getnnz(axis=1) > 0).sum()),
        tokens.shape[0],
    )
    return encoder, tokens


def uses_ratings(train: InteractionData, cfg: TrainConfig) -> bool:
    """Whether the rating head is trained: explicit data with ratings and a rating weight."""
    return cfg.rating_weight > 0 and train.kind == "explicit" and "rating" in train.frame


def prepare_inputs(
    train: InteractionData,
    cfg: TrainConfig,
    rng: np.random.Generator,
    device: torch.device,
    *,
    item_text: np.ndarray | None = None,
    item_vectors: np.ndarray | None = None,
) -> TrainingInputs:
    """Everything the training steps read, derived from ``train`` (see :class:`TrainingInputs`).

    Draws each user's out-of-fold memory fold from ``rng``.
    """
    x = train.matrix(binary=True)
    n_items = x.shape[1]
    item_users = np.asarray(x.getnnz(axis=0))
    lengths = np.diff(x.indptr)
    n_active = max(int((lengths > 0).sum()), 2)
    log_pop = np.log(np.maximum(item_users, 1) / n_active) / np.log(n_active)
    text = item_text if (cfg.use_text and item_text is not None) else None
    if text is not None and text.shape[0] != n_items:
        raise RecolabError(f"item_text has {text.shape[0]} rows but the data have {n_items} items")
    memory, fold, oof = _item_item_memory(x, cfg, rng, device)
    ratings = train.matrix("rating") if uses_ratings(train, cfg) else None
    div_t = _diversity_vectors(cfg, item_vectors, text, device)
    user_attributes = _user_attributes(train, cfg, lengths)
    # the secondary objectives the model is conditioned on, each with its own λ_j = λ·w_j·m_j
    objectives = conditioned_objectives(cfg, has_diversity_vectors=div_t is not None)
    train_users = np.flatnonzero(lengths >= 2)
    if len(train_users) == 0:
        raise TrainingError("no user has two or more training interactions: nothing to learn")
    return TrainingInputs(
        x=x,
        item_users=item_users,
        lengths=lengths,
        n_active=n_active,
        log_popularity=log_pop,
        text=text,
        memory=memory,
        fold=fold,
        oof=oof,
        ratings=ratings,
        baseline=rating_baseline(ratings) if ratings is not None else None,
        diversity_vectors=div_t,
        user_attributes=user_attributes,
        token_histories=Histories.from_csr(user_attributes[1]) if user_attributes else None,
        objectives=objectives,
        weights=torch.tensor([getattr(cfg, o) for o in objectives], device=device),
        histories=Histories.from_csr(x),
        train_users=train_users,
    )


def build_network(
    cfg: TrainConfig, inputs: TrainingInputs, device: torch.device
) -> WeightedObjectiveNet:
    """The untrained network for ``inputs``, on ``device`` (draws its initial weights from
    torch's global generator)."""
    net = WeightedObjectiveNet(
        inputs.n_items,
        cfg.dim,
        text=inputs.text,
        log_popularity=inputs.log_popularity,
        item_item=inputs.memory,
        lam_scale=(cfg.lam_high * inputs.weights * MULTIPLIER_HIGH).cpu().numpy(),
        rating_baseline=inputs.baseline,
        n_user_tokens=inputs.user_attributes[0].n_tokens if inputs.user_attributes else 0,
    ).to(device)
    unseen = inputs.item_users == 0
    with torch.no_grad():  # items without training data have no collaborative embedding
        net.item_embedding[torch.as_tensor(unseen, device=device)] = 0.0
        if net.new_user_bias is not None:  # new users start from popularity
            net.new_user_bias.copy_(torch.as_tensor(np.log1p(inputs.item_users), device=device))
    return net


# -- one training step ----------------------------------------------------------------------


@dataclass
class Batch:
    """One step's users with their input histories (EmbeddingBag form) and targets.

    Rows are positions in ``users``; ``target_rows``/``target_items`` are the hidden items
    (with user attributes, also the whole history of the users made "new" for this step);
    ``input_rows`` is the row of each entry of ``items``.
    """

    users: np.ndarray
    input_lengths: np.ndarray
    target_rows: np.ndarray
    target_items: np.ndarray
    items: torch.Tensor
    offsets: torch.Tensor
    weights: torch.Tensor
    attributes: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None
    input_rows: torch.Tensor

    def dense(
        self, n_items: int, columns: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(input mask, 0/1 targets), users × items, or users × ``columns`` (which must hold
        every target item) for the sampled softmax."""
        device = self.items.device
        in_rows, in_items = self.input_rows, self.items
        tg_rows = torch.as_tensor(self.target_rows, device=device)
        tg_items = torch.as_tensor(self.target_items, device=device)
        width = n_items
        if columns is not None:
            width = len(columns)
            position = torch.full((n_items,), -1, dtype=torch.long, device=device)
            position[columns] = torch.arange(width, device=device)
            in_items, tg_items = position[in_items], position[tg_items]
            keep = in_items >= 0
            in_rows, in_items = in_rows[keep], in_items[keep]
        b = len(self.users)
        input_mask = torch.zeros((b, width), dtype=torch.bool, device=device)
        input_mask[in_rows, in_items] = True
        targets = torch.zeros((b, width), device=device)
        targets[tg_rows, tg_items] = 1.0
        return input_mask, targets


class WeightedTrainer:
    """One training run of a :class:`WeightedObjectiveNet`: optimiser, weight average, RNGs.

    Parameters
    ----------
    net:
        The network to train (see :func:`build_network`).
    inputs:
        What the steps read (see :func:`prepare_inputs`).
    cfg:
        The run's configuration.
    device:
        Where ``net`` and the tensors of ``inputs`` live.
    generator:
        Torch generator of the λ and weight-multiplier draws.
    rng:
        NumPy generator of the batches, input/target splits and "new" users.
    should_stop:
        Polled before every batch; ``True`` cancels the run.

    Attributes
    ----------
    kept:
        The weights that are validated, snapshotted and kept: the exponential moving average
        of the trained ones (``cfg.ema > 0``) or the network itself.
    """

    def __init__(
        self,
        net: WeightedObjectiveNet,
        inputs: TrainingInputs,
        cfg: TrainConfig,
        device: torch.device,
        *,
        generator: torch.Generator,
        rng: np.random.Generator,
        should_stop: StopCallback | None = None,
    ) -> None:
        self.net = net
        self.inputs = inputs
        self.cfg = cfg
        self.device = device
        self.generator = generator
        self.rng = rng
        self.should_stop = should_stop
        self.blocked = torch.as_tensor(inputs.item_users == 0, device=device)
        self.lam_range = cfg.lambda_range
        self.optimiser = torch.optim.AdamW(optimiser_groups(net, cfg), lr=cfg.lr, weight_decay=0.0)
        # the weights kept: an exponential moving average of the trained ones (less seed noise)
        self.averaged = (
            AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema)) if cfg.ema > 0 else None
        )
        self.kept: WeightedObjectiveNet = net if self.averaged is None else self.averaged.module
        self.l1_params = [net.encoder.weight, net.item_embedding]
        if net.text_projection is not None:
            self.l1_params.append(net.text_projection.weight)
        #: the sampled softmax's candidate sampler, or ``None`` for the full softmax
        self.sampler = (
            NegativeSampler(inputs.item_users, cfg.n_negatives, device)
            if use_sampled_softmax(cfg.softmax, inputs.n_items)
            else None
        )
        log.info(
            "relevance softmax: %s over %d items",
            "full" if self.sampler is None else f"sampled ({cfg.n_negatives} draws)",
            inputs.n_items,
        )

    # -- epoch ------------------------------------------------------------------------------
    def batches(self) -> list[np.ndarray]:
        """Shuffled user batches, each within one fold (for the out-of-fold memory)."""
        inputs, rng = self.inputs, self.rng
        users = inputs.train_users
        groups = (
            [users[inputs.fold[users] == k] for k in range(OOF_FOLDS)] if inputs.oof else [users]
        )
        out = []
        for g in groups:
            g = rng.permutation(g)
            out += [g[i : i + self.cfg.batch_size] for i in range(0, len(g), self.cfg.batch_size)]
        return [out[i] for i in rng.permutation(len(out))]

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """Train one pass over the batches; mean loss parts (``loss``, ``f``, ``g`` and, on
        explicit data, ``rating_mse``) and, with the sampled softmax, the mean candidate set
        size (``candidates``)."""
        self.net.train()
        # summed on the device and read once per epoch: a read per step would make the host
        # wait for the GPU every step
        zero = torch.zeros((), device=self.device)
        totals = {"loss": zero, "f": zero, "g": zero}
        n_batches = 0
        for users in self.batches():
            if self.should_stop is not None and self.should_stop():
                raise Cancelled(f"training cancelled during epoch {epoch}")
            for name, value in self.train_batch(users).items():
                totals[name] = totals.get(name, zero) + value
            n_batches += 1
        return {k: float(v) / max(n_batches, 1) for k, v in totals.items()}

    # -- batch ------------------------------------------------------------------------------
    def make_batch(self, users: np.ndarray) -> Batch:
        """Split the users' histories into inputs and hidden targets (draws from ``rng``)."""
        inputs, device, rng = self.inputs, self.device, self.rng
        in_rows, in_items, tg_rows, tg_items = split_histories(
            inputs.histories, users, self.cfg.holdout, rng
        )
        b = len(users)
        attrs = None
        if inputs.token_histories is not None:
            attrs = inputs.token_histories.bag(users, device)
            # some users become "new": their whole history is to be predicted
            cold = (rng.random(b) < self.cfg.cold_user_share)[in_rows]
            tg_rows = np.concatenate([tg_rows, in_rows[cold]])
            tg_items = np.concatenate([tg_items, in_items[cold]])
            in_rows, in_items = in_rows[~cold], in_items[~cold]
        in_lengths = np.bincount(in_rows, minlength=b)
        items_t, offsets, w = bag_tensors(in_items, in_lengths, device)
        in_rows_t = torch.as_tensor(in_rows, device=device)
        return Batch(users, in_lengths, tg_rows, tg_items, items_t, offsets, w, attrs, in_rows_t)

    def multipliers(self, j: int) -> torch.Tensor:
        """One batch's per-objective multipliers of the trained weights (1 × j): U(0,
        MULTIPLIER_HIGH) each for a share ``weight_jitter`` of the batches, so each objective's
        weight can be moved on its own at inference, else 1 (the trained mix); all 1 for a
        fixed-λ model."""
        if self.cfg.lam_fixed is not None or j == 0:
            return torch.ones((1, j), device=self.device)
        m = torch.rand((1, j), generator=self.generator) * MULTIPLIER_HIGH
        keep = torch.rand((1, 1), generator=self.generator) >= self.cfg.weight_jitter
        return torch.where(keep, torch.ones_like(m), m).to(self.device)

    def batch_lambdas(self, b: int) -> torch.Tensor:
        """Per-objective λ of a batch of ``b`` users (b × J).

        One λ per batch: the exposure term is a property of the batch's lists together, so
        every user in it shares the λ it is weighed with (as in a fixed-λ run).
        """
        weights = self.inputs.weights
        lam = self.lam_range.sample(1, self.generator, self.device)
        lam_vec = lam[:, None] * weights[None, :] * self.multipliers(len(self.inputs.objectives))
        return lam_vec.expand(b, -1)

    def secondary(
        self,
        name: str,
        probs: torch.Tensor,
        logits: torch.Tensor,
        candidates: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """One secondary objective's term g_j per user, over every item or over the sampled
        softmax's ``candidates`` (columns, log π) (see
        :mod:`recolab.models.weighted.sampling`)."""
        columns = None if candidates is None else candidates[0]
        if name == "novelty":
            log_pop = self.net.log_popularity
            log_pop = log_pop if columns is None else log_pop[columns]
            return novelty_term(probs, log_pop, self.inputs.n_active)
        if name == "exposure":
            if candidates is None:
                return exposure_term(logits, self.cfg.exposure_k)
            return sampled_exposure_term(
                logits, candidates[1], self.inputs.n_items, self.cfg.exposure_k
            )
        vectors = self.inputs.diversity_vectors
        assert vectors is not None  # diversity is conditioned on only with item vectors
        return diversity_term(probs, vectors if columns is None else vectors[columns])

    def candidates(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The sampled softmax's (columns, log π) for ``batch``; ``None`` with the full one."""
        if self.sampler is None:
            return None
        positives = torch.as_tensor(np.unique(batch.target_items), device=self.device)
        return self.sampler.candidates(positives, self.generator)

    def objective_terms(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        candidates: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(f, g per objective) per user from masked scores over all items or candidates."""
        if candidates is None:
            f = relevance_loss(logits, targets)
            probs = torch.softmax(logits, dim=1)
        else:
            f = sampled_relevance_loss(logits, targets, candidates[1])
            probs = sampled_probabilities(logits, candidates[1])
        g_vec = torch.stack(
            [self.secondary(o, probs, logits, candidates) for o in self.inputs.objectives], dim=1
        )
        return f, g_vec

    def rating_mse(self, batch: Batch, base: torch.Tensor) -> torch.Tensor:
        """Mean squared error of the rating head on the batch's hidden (user, item) pairs."""
        device, net = self.device, self.net
        users = batch.users
        target_r = torch.as_tensor(
            np.asarray(self.inputs.ratings[users[batch.target_rows], batch.target_items]).ravel(),
            device=device,
        )
        phi, _ = net.item_vectors()
        pred_r = net.ratings(
            base.float(),
            phi,
            torch.as_tensor(batch.target_rows, device=device),
            torch.as_tensor(batch.target_items, device=device),
            users=torch.as_tensor(users[batch.target_rows], device=device),
        )
        return ((pred_r - target_r) ** 2).mean()

    def train_batch(self, users: np.ndarray) -> dict[str, torch.Tensor]:
        """One optimiser step on ``users``; the step's loss parts (detached, on the device)."""
        cfg, net, inputs, device = self.cfg, self.net, self.inputs, self.device
        batch = self.make_batch(users)
        lam_vec = self.batch_lambdas(len(users))
        oof = inputs.oof[inputs.fold[users[0]]] if inputs.oof else None
        candidates = self.candidates(batch)
        columns = None if candidates is None else candidates[0]
        with _autocast(device):
            base = net.user_base(batch.items, batch.offsets, batch.weights, batch.attributes)
            mem = net.memory(batch.items, batch.offsets, oof, columns=columns)
            new_users = torch.as_tensor(batch.input_lengths == 0, device=device)
            logits = net.logits(base, mem, lam_vec, new_users, columns=columns)
        input_mask, targets = batch.dense(inputs.n_items, columns)
        blocked = self.blocked if columns is None else self.blocked[columns]
        logits = logits.float().masked_fill(input_mask | blocked[None, :], -math.inf)
        f, g_vec = self.objective_terms(logits, targets, candidates)
        g = (inputs.weights[None, :] * g_vec).sum(dim=1)  # at the trained mix, for reporting
        loss = (f + (lam_vec * g_vec).sum(dim=1)).mean()
        mse = self.rating_mse(batch, base) if inputs.ratings is not None else None
        if mse is not None:
            loss = loss + cfg.rating_weight * mse
        if cfg.l1 > 0:
            loss = loss + cfg.l1 * l1_term(self.l1_params)
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()
        if self.averaged is not None:
            self.averaged.update_parameters(net)
        parts = {"loss": loss.detach(), "f": f.detach().mean(), "g": g.detach().mean()}
        if mse is not None:
            parts["rating_mse"] = mse.detach()
        if columns is not None:
            parts["candidates"] = torch.tensor(float(len(columns)), device=device)
        return parts

    # -- best-epoch snapshot ----------------------------------------------------------------
    def state(self) -> dict[str, torch.Tensor]:
        """A copy of the kept weights (the best epoch's snapshot)."""
        return {k: v.detach().clone() for k, v in self.kept.state_dict().items()}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restore the kept weights from :meth:`state`."""
        self.kept.load_state_dict(state)


# -- validation -----------------------------------------------------------------------------


class Validator:
    """Recall@k and coverage@k of a network on validation data, at λ = 0 and the top of the
    range (``val_recall``, ``val_coverage``, ``val_recall_high``, ``val_coverage_high``); a
    fixed-λ model at the one λ it is trained for (``val_recall``, ``val_coverage``).

    Validation users' training items are excluded from their lists, as in evaluation.
    """

    def __init__(
        self,
        valid: InteractionData,
        inputs: TrainingInputs,
        cfg: TrainConfig,
        device: torch.device,
    ) -> None:
        v_matrix = valid.matrix(binary=True)
        self.users = np.flatnonzero(v_matrix.getnnz(axis=1) > 0)
        self.truth = v_matrix[self.users]
        self.seen = inputs.x[self.users].tocoo()
        self.new_users = torch.as_tensor(inputs.lengths[self.users] == 0, device=device)
        self.inputs = inputs
        self.device = device
        self.k = cfg.valid_k
        self.blocked = torch.as_tensor(inputs.item_users == 0, device=device)
        # a conditioned model is validated (and early-stopped) at λ = 0 and reports the top of
        # its range; a fixed-λ model at the one λ it is trained for
        self.points = (
            (("", cfg.lam_fixed),)
            if cfg.lam_fixed is not None
            else (("", 0.0), ("_high", cfg.lam_high))
        )

    def _top_k(self, scores: torch.Tensor) -> np.ndarray:
        """Top-k item indices per validation user, blocked and seen items left out."""
        scores[:, self.blocked] = -math.inf
        scores[
            torch.as_tensor(self.seen.row, device=self.device),
            torch.as_tensor(self.seen.col, device=self.device),
        ] = -math.inf
        return torch.topk(scores, self.k, dim=1).indices.cpu().numpy()

    def __call__(self, net: WeightedObjectiveNet) -> dict[str, float]:
        """Validation metrics of ``net`` (put in eval mode)."""
        inputs, users, k = self.inputs, self.users, self.k
        net.eval()
        out: dict[str, float] = {}
        with torch.inference_mode():
            items_t, offsets, w = inputs.histories.bag(users, self.device)
            tokens = inputs.token_histories
            attrs = tokens.bag(users, self.device) if tokens else None
            base = net.user_base(items_t, offsets, w, attrs)
            mem = net.memory(items_t, offsets)
            for tag, lam_value in self.points:
                lam = (lam_value * inputs.weights)[None, :].expand(len(users), -1)
                top = self._top_k(net.logits(base, mem, lam, self.new_users).float())
                m = ranking_metrics(top, self.truth, ks=(k,), item_users=inputs.item_users)
                out[f"val_recall{tag}"] = m[f"recall@{k}"]
                out[f"val_coverage{tag}"] = m[f"coverage@{k}"]
        return out


# -- the whole run --------------------------------------------------------------------------


@dataclass
class TrainedNetwork:
    """What :func:`train_network` hands to the recommender.

    Attributes
    ----------
    net:
        The kept (best-epoch, averaged) network, on the training device.
    result:
        Epochs, best epoch, time, device, stop reason, history, peak memory.
    objectives, objective_weights:
        The conditioned secondary objectives and their trained weights.
    has_text:
        Per item, whether it has a non-zero text embedding (``None`` without text).
    user_attributes:
        Attribute encoder and users × tokens matrix, or ``None``.
    rating_range:
        (lowest, highest) training rating when the rating head was trained, else ``None``.
    """

    net: WeightedObjectiveNet
    result: TrainResult
    objectives: list[str]
    objective_weights: np.ndarray
    has_text: np.ndarray | None
    user_attributes: UserAttributes | None
    rating_range: tuple[float, float] | None


def train_network(
    cfg: TrainConfig,
    train: InteractionData,
    *,
    valid: InteractionData | None = None,
    item_text: np.ndarray | None = None,
    item_vectors: np.ndarray | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> TrainedNetwork:
    """Train the weighted-objective network on ``train`` (seeded by ``cfg.seed``).

    Validation (when ``valid`` is given) reports recall@k and coverage@k at λ = 0 and at the
    top of the range each epoch (a fixed-λ model: at its λ), and early-stops on the first
    recall. ``on_progress`` gets one event per epoch; ``should_stop`` returning ``True``
    raises :class:`~recolab.errors.Cancelled`.
    """
    generator = seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = resolve_device(cfg.device)
    inputs = prepare_inputs(train, cfg, rng, device, item_text=item_text, item_vectors=item_vectors)
    net = build_network(cfg, inputs, device)
    trainer = WeightedTrainer(
        net, inputs, cfg, device, generator=generator, rng=rng, should_stop=should_stop
    )
    validate: Callable[[], dict[str, float]] | None = None
    if valid is not None:
        validator = Validator(valid, inputs, cfg, device)

        def validate() -> dict[str, float]:
            return validator(trainer.kept)

    result = train_loop(
        parameters=[p for p in net.parameters() if p.requires_grad],
        step=trainer.train_epoch,
        validate=validate,
        snapshot=trainer.state,
        restore=trainer.load_state,
        config=cfg,
        device=device,
        on_progress=on_progress,
        should_stop=should_stop,
    )
    log.info(
        "trained %d epochs in %.1f s on %s (%s)",
        result.epochs_run,
        result.seconds,
        result.device,
        result.stopped_by,
    )
    rating_range = None
    if inputs.ratings is not None:
        r = train.frame["rating"]
        rating_range = (float(r.min()), float(r.max()))
    return TrainedNetwork(
        net=trainer.kept,
        result=result,
        objectives=inputs.objectives,
        objective_weights=inputs.weights.cpu().numpy().astype(np.float32),
        has_text=None if inputs.text is None else np.abs(inputs.text).sum(axis=1) > 0,
        user_attributes=inputs.user_attributes,
        rating_range=rating_range,
    )
