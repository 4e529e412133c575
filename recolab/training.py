"""The one training loop: device, seeds, validation, early stopping, progress, budget.

Used alike by the CLI (``python -m recolab train``), the background worker and the tests.
"""

from __future__ import annotations

import logging
import math
import random
import time
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from recolab.data.interactions import InteractionData
from recolab.device import resolve_device
from recolab.errors import Cancelled, RecolabError, TrainingError
from recolab.objectives import (
    EXPOSURE_K,
    LambdaRange,
    ObjectiveWeights,
    diversity_term,
    exposure_term,
    l1_term,
    novelty_term,
    relevance_loss,
)

log = logging.getLogger(__name__)

#: Folds of the out-of-fold item-item memory used during training.
OOF_FOLDS = 2

#: Each objective's weight can be moved from 0 to this many times its trained value.
MULTIPLIER_HIGH = 2.0
#: The secondary objectives, in the order the model is conditioned on them.
OBJECTIVES = ("novelty", "exposure", "diversity")

ProgressCallback = Callable[[dict[str, Any]], None]
StopCallback = Callable[[], bool]


#: What ``train`` can fit: the tuned base + trade-off mechanism, or the conditioned network.
MODELS = ("auto", "weighted")


@dataclass
class TrainConfig:
    """Everything that defines a training run; round-trips to a dict / TOML.

    Parameters
    ----------
    model:
        ``"auto"`` (the default): a closed-form linear base tuned on validation with Optuna,
        plus the serve-time trade-off mechanism whose validation front is best
        (:func:`recolab.tuning.fit_tuned`); ``"weighted"``: the λ-conditioned network below.
    tune_trials, tune_seconds:
        Budget of the ``"auto"`` model's study: at most this many trials and seconds.
    mechanism:
        ``"auto"`` (chosen on validation) or one re-ranker of :data:`recolab.rerank.RERANKERS`.
    dim:
        Width of user and item vectors.
    epochs:
        Maximum epochs (the cost objective: fewer epochs, less time).
    budget_seconds:
        Stop after this many seconds of training (cost objective), ``None`` = no limit.
    batch_size, lr:
        Users per step and AdamW learning rate.
    weight_decay:
        AdamW (decoupled) weight decay of the user and item vector matrices; biases, scales
        and the λ network are not decayed (see :func:`optimiser_groups`).
    film_lr:
        Learning rate of the small λ network (FiLM) and the memory scale; ``None`` = ``lr``.
    rating_lr:
        Learning rate of the rating head (explicit data), a small residual on the baseline
        predictor that overfits at the ranking's rate; ``None`` = ``lr``.
    ema:
        Decay per step of the exponential moving average of the weights; the averaged
        weights are the ones validated and kept (0 = the last step's weights).
    holdout:
        Share of each user's history hidden from the input and predicted during training.
    lam_high, lam_p_zero, lam_fixed:
        λ range of the conditioned model (see :class:`recolab.objectives.LambdaRange`);
        ``lam_fixed`` trains a plain fixed-λ model instead.
    weight_jitter:
        Share of the batches whose objective weights are drawn away from the trained mix
        (each one × U(0, 2)), so that every objective's weight is a live control of its own;
        the other batches train the trained mix, which the λ slider moves along.
    novelty, diversity, exposure, l1:
        Weights of the secondary terms (see :class:`recolab.objectives.ObjectiveWeights`).
    exposure_k:
        List length the exposure term spreads (see :func:`recolab.objectives.exposure_term`);
        set it to the length of the lists you show.
    item_item:
        "auto" (on up to 20,000 items), "on" or "off": the EASE-initialised memory part.
    item_item_l2:
        L2 of the EASE closed form.
    oof_memory:
        Train against out-of-fold item-item weights (each user's memory from weights fitted
        without that user's fold), so the memory does not leak the hidden targets.
    use_text:
        Use item text embeddings when the data have item texts.
    use_user_attributes:
        Use user attributes (``InteractionData.user_meta``: age, gender, occupation …) when
        the data have them.
    cold_user_share:
        With user attributes: the share of users in each step whose whole history is hidden
        and predicted from their attributes alone, so new users with attributes but no
        history get personal lists.
    rating_weight:
        Weight of the rating MSE added to f for explicit data (0 = ranking only); it trains
        the rating head behind ``predict_ratings`` (RMSE / MAE): the baseline predictor
        μ + b_u + b_i plus a learned residual.
    patience:
        Early stopping: epochs without validation improvement before stopping.
    seed, device:
        Random seed; "auto" (CUDA when available, else CPU), "cpu" or "cuda".
    """

    model: str = "auto"
    tune_trials: int = 30
    tune_seconds: float = 60.0
    mechanism: str = "auto"
    dim: int = 64
    epochs: int = 60
    budget_seconds: float | None = None
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 0.0
    film_lr: float | None = 1e-2
    rating_lr: float | None = 3e-4
    ema: float = 0.98
    holdout: float = 0.5
    lam_high: float = 0.2
    lam_p_zero: float = 0.0
    lam_fixed: float | None = None
    weight_jitter: float = 0.25
    novelty: float = 0.1
    diversity: float = 0.0
    exposure: float = 8.0
    exposure_k: int = EXPOSURE_K
    l1: float = 0.0
    item_item: str = "auto"
    item_item_l2: float = 400.0
    oof_memory: bool = True
    use_text: bool = True
    use_user_attributes: bool = True
    cold_user_share: float = 0.1
    rating_weight: float = 1.0
    patience: int = 5
    seed: int = 0
    device: str = "auto"
    valid_k: int = 20

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        from recolab.rerank import RERANKERS

        mechanisms = ("auto", *sorted(RERANKERS))
        if self.mechanism not in mechanisms:
            raise ValueError(
                f"mechanism must be one of {', '.join(mechanisms)}, got {self.mechanism!r}"
            )
        if self.tune_trials < 1 or not self.tune_seconds > 0:
            raise ValueError("tune_trials must be ≥ 1 and tune_seconds > 0")
        if self.item_item not in ("auto", "on", "off"):
            raise ValueError(f"item_item must be auto, on or off, got {self.item_item!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if not 0.0 < self.holdout < 1.0:
            raise ValueError(f"holdout must be in (0, 1), got {self.holdout}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")
        if not 0.0 <= self.weight_jitter <= 1.0:
            raise ValueError(f"weight_jitter must be in [0, 1], got {self.weight_jitter}")
        if not 0.0 <= self.cold_user_share < 1.0:
            raise ValueError(f"cold_user_share must be in [0, 1), got {self.cold_user_share}")
        if self.epochs < 1 or self.dim < 1 or self.batch_size < 1 or self.exposure_k < 1:
            raise ValueError("epochs, dim, batch_size and exposure_k must be ≥ 1")

    @property
    def lambda_range(self) -> LambdaRange:
        """The λ sampling rule."""
        return LambdaRange(high=self.lam_high, p_zero=self.lam_p_zero, fixed=self.lam_fixed)

    @property
    def weights(self) -> ObjectiveWeights:
        """Objective weights (λ = 0) of this run."""
        return ObjectiveWeights(
            novelty=self.novelty,
            diversity=self.diversity,
            exposure=self.exposure,
            sparsity=self.l1,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """From a dict; unknown keys are a clear error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise RecolabError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**d)

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """Read a TOML file (keys at top level or under [train]); ``overrides`` win."""
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        data = data.get("train", data)
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(data)


def conditioned_objectives(cfg: TrainConfig, *, has_diversity_vectors: bool) -> list[str]:
    """Secondary objectives with a weight > 0 (diversity only with item vectors to compare);
    the model gets one λ per objective."""
    out = [o for o in OBJECTIVES if getattr(cfg, o) > 0]
    if not has_diversity_vectors and "diversity" in out:
        out.remove("diversity")
    if not out:
        raise RecolabError(
            "no secondary objective has a weight > 0 (novelty, exposure or diversity): "
            "nothing for λ to trade against accuracy"
        )
    return out


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator for sampling."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


@dataclass
class TrainResult:
    """What a training run did."""

    epochs_run: int = 0
    best_epoch: int = 0
    seconds: float = 0.0
    device: str = "cpu"
    stopped_by: str = "epochs"
    history: list[dict[str, Any]] = field(default_factory=list)
    peak_memory_bytes: int = 0


def _peak_memory(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
    except (ImportError, OSError):  # pragma: no cover - non-POSIX
        return 0


def train_loop(
    *,
    parameters: list[torch.nn.Parameter],
    step: Callable[[int], dict[str, float]],
    validate: Callable[[], dict[str, float]] | None,
    snapshot: Callable[[], Any],
    restore: Callable[[Any], None],
    config: TrainConfig,
    device: torch.device,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
    monitor: str = "val_recall",
) -> TrainResult:
    """Run epochs of ``step`` (which returns mean loss parts of one epoch) with validation,
    early stopping on ``monitor`` (higher is better), a time budget, NaN checks and progress
    events; the best snapshot is restored at the end.
    """
    result = TrainResult(device=str(device))
    start = time.perf_counter()
    best_value, best_state, bad_epochs = -math.inf, None, 0
    for epoch in range(1, config.epochs + 1):
        if should_stop is not None and should_stop():
            raise Cancelled(f"training cancelled before epoch {epoch}")
        losses = step(epoch)
        for name, value in losses.items():
            if not math.isfinite(value):
                raise TrainingError(
                    f"loss term {name!r} became {value} at epoch {epoch}; try a lower learning "
                    f"rate (lr={config.lr}) or smaller λ range (lam_high={config.lam_high})"
                )
        metrics = validate() if validate is not None else {}
        elapsed = time.perf_counter() - start
        eta = elapsed / epoch * (config.epochs - epoch)
        event = {
            "epoch": epoch,
            "epochs": config.epochs,
            **losses,
            **metrics,
            "elapsed_s": round(elapsed, 3),
            "eta_s": round(eta, 3),
            "device": str(device),
        }
        result.history.append(event)
        result.epochs_run = epoch
        if on_progress is not None:
            on_progress(event)
        log.debug("epoch %d %s", epoch, event)
        value = metrics.get(monitor)
        if value is not None:
            if value > best_value:
                best_value, best_state, bad_epochs = value, snapshot(), 0
                result.best_epoch = epoch
            else:
                bad_epochs += 1
                if bad_epochs >= config.patience:
                    result.stopped_by = "early stopping"
                    break
        else:
            result.best_epoch = epoch
        if config.budget_seconds is not None and elapsed >= config.budget_seconds:
            result.stopped_by = "budget"
            break
    if best_state is not None:
        restore(best_state)
    result.seconds = time.perf_counter() - start
    result.peak_memory_bytes = _peak_memory(device)
    return result


def _autocast(device: torch.device) -> Any:
    """bf16 autocast on CUDA (mixed precision), a no-op context on CPU."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return torch.autocast(device_type="cpu", enabled=False)


def _split_histories(
    histories: Any,
    users: np.ndarray,
    holdout: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split each user's history into input and target items (each side non-empty).

    Returns (input_rows, input_items, target_rows, target_items), rows 0..len(users)-1.
    """
    lengths, items = histories.rows(users)
    rows = np.repeat(np.arange(len(users)), lengths)
    is_target = rng.random(len(items)) < holdout
    # guarantee ≥1 input and ≥1 target per user (users here have ≥2 items)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    n_target = np.add.reduceat(is_target.astype(np.int64), first)
    pick = first + (rng.random(len(users)) * lengths).astype(np.int64)
    is_target[pick[n_target == 0]] = True
    is_target[pick[n_target == lengths]] = False
    return rows[~is_target], items[~is_target], rows[is_target], items[is_target]


def optimiser_groups(net: Any, cfg: TrainConfig) -> list[dict[str, Any]]:
    """AdamW parameter groups of a :class:`~recolab.models.weighted.WeightedObjectiveNet`.

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


def fit_weighted(
    model: Any,
    train: InteractionData,
    *,
    valid: InteractionData | None = None,
    item_text: np.ndarray | None = None,
    item_vectors: np.ndarray | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> TrainResult:
    """Train a :class:`~recolab.models.weighted.WeightedObjectiveRecommender` in place.

    Each step takes a batch of users, hides a share (``holdout``) of each history, samples
    one λ for the batch, and minimises f (likelihood of the hidden items among all items not
    in the input) + λ·g (novelty, exposure and diversity of the predicted lists) + an L1 term.
    Validation (when ``valid`` is given) reports recall@k and coverage@k at λ = 0 and at the
    top of the range each epoch (a fixed-λ model: at its λ), and early-stops on the first
    recall.
    """
    from recolab.features.users import UserAttributeEncoder
    from recolab.metrics import ranking_metrics
    from recolab.models.weighted import (
        ITEM_ITEM_MAX_ITEMS,
        Histories,
        WeightedObjectiveNet,
        bag_tensors,
        ease_weights,
        rating_baseline,
    )

    cfg: TrainConfig = model.config
    generator = seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = resolve_device(cfg.device)
    x = train.matrix(binary=True)
    n_items = x.shape[1]
    item_users = np.asarray(x.getnnz(axis=0))
    lengths = np.diff(x.indptr)
    n_active = max(int((lengths > 0).sum()), 2)
    log_pop = np.log(np.maximum(item_users, 1) / n_active) / np.log(n_active)
    text = item_text if (cfg.use_text and item_text is not None) else None
    if text is not None and text.shape[0] != n_items:
        raise RecolabError(f"item_text has {text.shape[0]} rows but the data have {n_items} items")
    use_memory = cfg.item_item == "on" or (
        cfg.item_item == "auto" and n_items <= ITEM_ITEM_MAX_ITEMS
    )
    t0 = time.perf_counter()
    memory = ease_weights(x, cfg.item_item_l2) if use_memory else None
    # Out-of-fold memory for training: a user's memory comes from B fitted without that
    # user's fold, so the hidden target items are not already baked into B (stacking).
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
    use_ratings = cfg.rating_weight > 0 and train.kind == "explicit" and "rating" in train.frame
    ratings = train.matrix("rating") if use_ratings else None
    baseline = rating_baseline(ratings) if ratings is not None else None
    div_vectors = item_vectors if item_vectors is not None else text
    if cfg.diversity > 0 and div_vectors is None:
        log.warning(
            "diversity weight %s ignored: no item texts or genres to compare", cfg.diversity
        )
    div_t = (
        torch.as_tensor(div_vectors, dtype=torch.float32, device=device)
        if cfg.diversity > 0 and div_vectors is not None
        else None
    )
    user_attributes = None
    if cfg.use_user_attributes and train.user_meta is not None and len(train.user_meta.columns):
        active = [train.users.ids[u] for u in np.flatnonzero(lengths > 0)]
        encoder = UserAttributeEncoder.fit(train.user_meta.reindex(pd.Index(active)))
        tokens = encoder.encode(train.user_meta, train.users.ids)
        if encoder.n_tokens > 0 and tokens.nnz > 0:
            user_attributes = (encoder, tokens)
            log.info(
                "user attributes: %d columns, %d tokens, %d of %d users have some",
                len(encoder.columns),
                encoder.n_tokens,
                int((tokens.getnnz(axis=1) > 0).sum()),
                tokens.shape[0],
            )
    token_histories = Histories.from_csr(user_attributes[1]) if user_attributes else None
    # the secondary objectives the model is conditioned on, each with its own λ_j = λ·w_j·m_j
    objectives = conditioned_objectives(cfg, has_diversity_vectors=div_t is not None)
    weights = torch.tensor([getattr(cfg, o) for o in objectives], device=device)
    net = WeightedObjectiveNet(
        n_items,
        cfg.dim,
        text=text,
        log_popularity=log_pop,
        item_item=memory,
        lam_scale=(cfg.lam_high * weights * MULTIPLIER_HIGH).cpu().numpy(),
        rating_baseline=baseline,
        n_user_tokens=user_attributes[0].n_tokens if user_attributes else 0,
    ).to(device)
    with torch.no_grad():  # items without training data have no collaborative embedding
        net.item_embedding[torch.as_tensor(item_users == 0, device=device)] = 0.0
        if net.new_user_bias is not None:  # new users start from popularity
            net.new_user_bias.copy_(torch.as_tensor(np.log1p(item_users), device=device))
    blocked = torch.as_tensor(item_users == 0, device=device)
    histories = Histories.from_csr(x)
    train_users = np.flatnonzero(lengths >= 2)
    if len(train_users) == 0:
        raise TrainingError("no user has two or more training interactions: nothing to learn")
    lam_range = cfg.lambda_range

    def secondary(name: str, probs: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """One secondary objective's term g_j per user."""
        if name == "novelty":
            return novelty_term(probs, net.log_popularity, n_active)
        if name == "exposure":
            return exposure_term(logits, cfg.exposure_k)
        return diversity_term(probs, div_t)

    def _multipliers(j: int) -> torch.Tensor:
        """One batch's per-objective multipliers of the trained weights (1 × j): U(0,
        MULTIPLIER_HIGH) each for a share ``weight_jitter`` of the batches, so each objective's
        weight can be moved on its own at inference, else 1 (the trained mix); all 1 for a
        fixed-λ model."""
        if cfg.lam_fixed is not None or j == 0:
            return torch.ones((1, j), device=device)
        m = torch.rand((1, j), generator=generator) * MULTIPLIER_HIGH
        keep = torch.rand((1, 1), generator=generator) >= cfg.weight_jitter
        return torch.where(keep, torch.ones_like(m), m).to(device)

    params = [p for p in net.parameters() if p.requires_grad]
    groups = optimiser_groups(net, cfg)
    optimiser = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=0.0)
    # the weights kept: an exponential moving average of the trained ones (less seed noise)
    averaged = (
        AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema)) if cfg.ema > 0 else None
    )
    kept = net if averaged is None else averaged.module
    l1_params = [net.encoder.weight, net.item_embedding]
    if net.text_projection is not None:
        l1_params.append(net.text_projection.weight)

    def batches() -> list[np.ndarray]:
        """Shuffled user batches, each within one fold (for the out-of-fold memory)."""
        groups = (
            [train_users[fold[train_users] == k] for k in range(OOF_FOLDS)]
            if oof
            else [train_users]
        )
        out = []
        for g in groups:
            g = rng.permutation(g)
            out += [g[i : i + cfg.batch_size] for i in range(0, len(g), cfg.batch_size)]
        return [out[i] for i in rng.permutation(len(out))]

    def step(epoch: int) -> dict[str, float]:
        net.train()
        # summed on the device and read once per epoch: a read per step would make the host
        # wait for the GPU every step
        zero = torch.zeros((), device=device)
        totals = {"loss": zero, "f": zero, "g": zero}
        n_batches = 0
        for users in batches():
            if should_stop is not None and should_stop():
                raise Cancelled(f"training cancelled during epoch {epoch}")
            in_rows, in_items, tg_rows, tg_items = _split_histories(
                histories, users, cfg.holdout, rng
            )
            b = len(users)
            attrs = None
            if token_histories is not None:
                attrs = token_histories.bag(users, device)
                # some users become "new": their whole history is to be predicted
                cold = (rng.random(b) < cfg.cold_user_share)[in_rows]
                tg_rows = np.concatenate([tg_rows, in_rows[cold]])
                tg_items = np.concatenate([tg_items, in_items[cold]])
                in_rows, in_items = in_rows[~cold], in_items[~cold]
            in_lengths = np.bincount(in_rows, minlength=b)
            items_t, offsets, w = bag_tensors(in_items, in_lengths, device)
            input_mask = torch.zeros((b, n_items), dtype=torch.bool, device=device)
            input_mask[torch.as_tensor(in_rows, device=device), items_t] = True
            targets = torch.zeros((b, n_items), device=device)
            targets[
                torch.as_tensor(tg_rows, device=device), torch.as_tensor(tg_items, device=device)
            ] = 1.0
            # one λ per batch: the exposure term is a property of the batch's lists together,
            # so every user in it shares the λ it is weighed with (as in a fixed-λ run)
            lam = lam_range.sample(1, generator, device)
            lam_vec = lam[:, None] * weights[None, :] * _multipliers(len(objectives))
            lam_vec = lam_vec.expand(b, -1)
            with _autocast(device):
                base = net.user_base(items_t, offsets, w, attrs)
                mem = net.memory(items_t, offsets, oof[fold[users[0]]] if oof else None)
                logits = net.logits(
                    base, mem, lam_vec, torch.as_tensor(in_lengths == 0, device=device)
                )
            logits = logits.float().masked_fill(input_mask | blocked[None, :], -math.inf)
            f = relevance_loss(logits, targets)
            probs = torch.softmax(logits, dim=1)
            g_vec = torch.stack([secondary(o, probs, logits) for o in objectives], dim=1)
            g = (weights[None, :] * g_vec).sum(dim=1)  # at the trained mix, for reporting
            loss = (f + (lam_vec * g_vec).sum(dim=1)).mean()
            if ratings is not None:
                target_r = torch.as_tensor(
                    np.asarray(ratings[users[tg_rows], tg_items]).ravel(), device=device
                )
                phi, _ = net.item_vectors()
                pred_r = net.ratings(
                    base.float(),
                    phi,
                    torch.as_tensor(tg_rows, device=device),
                    torch.as_tensor(tg_items, device=device),
                    users=torch.as_tensor(users[tg_rows], device=device),
                )
                mse = ((pred_r - target_r) ** 2).mean()
                loss = loss + cfg.rating_weight * mse
                totals["rating_mse"] = totals.get("rating_mse", zero) + mse.detach()
            if cfg.l1 > 0:
                loss = loss + cfg.l1 * l1_term(l1_params)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            if averaged is not None:
                averaged.update_parameters(net)
            totals["loss"] = totals["loss"] + loss.detach()
            totals["f"] = totals["f"] + f.detach().mean()
            totals["g"] = totals["g"] + g.detach().mean()
            n_batches += 1
        return {k: float(v) / max(n_batches, 1) for k, v in totals.items()}

    validate = None
    if valid is not None:
        v_matrix = valid.matrix(binary=True)
        v_users = np.flatnonzero(v_matrix.getnnz(axis=1) > 0)
        v_test = v_matrix[v_users]
        seen = x[v_users].tocoo()
        v_new = torch.as_tensor(lengths[v_users] == 0, device=device)
        k = cfg.valid_k
        # a conditioned model is validated (and early-stopped) at λ = 0 and reports the top of
        # its range; a fixed-λ model at the one λ it is trained for
        points = (
            (("", cfg.lam_fixed),)
            if cfg.lam_fixed is not None
            else (("", 0.0), ("_high", cfg.lam_high))
        )

        def validate() -> dict[str, float]:
            kept.eval()
            out: dict[str, float] = {}
            with torch.inference_mode():
                items_t, offsets, w = histories.bag(v_users, device)
                attrs = token_histories.bag(v_users, device) if token_histories else None
                base = kept.user_base(items_t, offsets, w, attrs)
                mem = kept.memory(items_t, offsets)
                for tag, lam_value in points:
                    lam = (lam_value * weights)[None, :].expand(len(v_users), -1)
                    s = kept.logits(base, mem, lam, v_new).float()
                    s[:, blocked] = -math.inf
                    s[
                        torch.as_tensor(seen.row, device=device),
                        torch.as_tensor(seen.col, device=device),
                    ] = -math.inf
                    top = torch.topk(s, k, dim=1).indices.cpu().numpy()
                    m = ranking_metrics(top, v_test, ks=(k,), item_users=item_users)
                    out[f"val_recall{tag}"] = m[f"recall@{k}"]
                    out[f"val_coverage{tag}"] = m[f"coverage@{k}"]
            return out

    def snapshot() -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in kept.state_dict().items()}

    result = train_loop(
        parameters=params,
        step=step,
        validate=validate,
        snapshot=snapshot,
        restore=kept.load_state_dict,
        config=cfg,
        device=device,
        on_progress=on_progress,
        should_stop=should_stop,
    )
    model._attach(
        kept,
        train,
        has_text=None if text is None else np.abs(text).sum(axis=1) > 0,
        user_attributes=user_attributes,
    )
    model.objectives_ = objectives
    model.objective_weights_ = weights.cpu().numpy().astype(np.float32)
    model.train_result_ = result
    if use_ratings:
        r = train.frame["rating"]
        model.rating_range_ = (float(r.min()), float(r.max()))
    log.info(
        "trained %d epochs in %.1f s on %s (%s)",
        result.epochs_run,
        result.seconds,
        result.device,
        result.stopped_by,
    )
    return result


def run_training_job(spec: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Worker task: train, evaluate over λ and export a bundle into the job's folder.

    ``spec`` keys: ``sample`` (a built-in sample name) or ``train`` (path) with optional
    ``test``, ``valid``, ``items`` paths and ``mapping``; ``config`` (a :class:`TrainConfig`
    dict); ``prune_to`` (share of weights to prune after training). ``ctx`` is a
    :class:`recolab.jobs.worker.JobContext`.
    """
    import json

    from recolab.data.interactions import build_interactions
    from recolab.data.io import load_interactions
    from recolab.pipeline import split_from_spec, train_and_export

    config = TrainConfig.from_dict(dict(spec.get("config") or {}))
    if config.device == "auto":
        config.device = ctx.device
    if config.device == "cpu" and not torch.cuda.is_available():
        ctx.note("no GPU found: training on CPU")
    ctx.note("loading data")
    train, test = split_from_spec(spec, config.seed)
    valid = None
    if spec.get("valid"):
        v = load_interactions(spec["valid"], spec.get("mapping"))
        known = (train.users.index(v.frame["user"]) >= 0) & (
            train.items.index(v.frame["item"]) >= 0
        )
        if not known.all():
            ctx.note(
                f"validation: {int((~known).sum())} of {len(known)} rows name a user or item "
                "absent from training and cannot be scored; they are left out of validation"
            )
        valid = build_interactions(
            v.frame[known][["user", "item", "value"]],
            kind=train.kind,
            users=train.users,
            items=train.items,
            name="valid",
        )
    ctx.check_cancelled()
    # export_bundle writes the zip atomically (temporary name, then rename)
    result = train_and_export(
        train,
        test,
        config,
        ctx.artifact_path("model.zip"),
        valid=valid,
        on_progress=ctx.progress,
        should_stop=ctx.should_stop,
        note=ctx.note,
        prune_to=float(spec.get("prune_to", 0.0)),
    )
    result["bundle"] = str(ctx.artifact_path("model.zip"))
    with ctx.atomic_artifact("result.json") as tmp:
        tmp.write_text(json.dumps(result, default=str))
    return {k: result[k] for k in ("bundle", "device", "train_seconds", "metrics", "model_bytes")}
