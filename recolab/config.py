"""What defines a training run: :class:`TrainConfig` and the names of the trade-off objectives.

This module imports no model code, so every layer (models, training loop, tuner, pipeline,
CLI, dashboard) can read a configuration without importing the others.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from recolab.errors import RecolabError
from recolab.objectives import EXPOSURE_K, LambdaRange, ObjectiveWeights

#: Each objective's weight can be moved from 0 to this many times its trained value.
MULTIPLIER_HIGH = 2.0
#: The secondary objectives, in the order the model is conditioned on them.
OBJECTIVES = ("novelty", "exposure", "diversity")


#: What ``train --defend`` can do with suspicious profiles (see recolab.data.shilling).
DEFENCES = ("off", "downweight", "remove")

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
        and the λ network are not decayed (see
        :func:`recolab.models.weighted.network.optimiser_groups`).
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
    softmax, n_negatives:
        Relevance softmax of the weighted model: ``"full"`` (every item, batch × items per
        step), ``"sampled"`` (the batch's positives plus ``n_negatives`` draws from smoothed
        popularity, logQ-corrected; see :mod:`recolab.models.weighted.sampling`) or
        ``"auto"`` (full up to 4,000 items, sampled above).
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
    repeat:
        Repeat purchases (consumables): the test report keeps each user's own training
        items among the candidates, so a test item bought again counts as a hit.
    seed, device:
        Random seed; "auto" (CUDA when available, else CPU), "cpu" or "cuda".
    defend:
        Profiles flagged as suspicious (:func:`recolab.data.shilling.detect_shilling`) before
        training: ``"off"`` (default, trained on as they are), ``"downweight"`` (a quarter of
        their interactions kept, seeded) or ``"remove"`` (left out of training); ``"auto"``
        model only, counted in the result's ``defence``.
    nproc:
        Processes on this machine (``"auto"`` model only): above 1 the run is launched through
        torchrun and each process builds the Gram matrix of its share of the users
        (:mod:`recolab.distributed`); with CUDA, one GPU per process.
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
    softmax: str = "auto"
    n_negatives: int = 1024
    oof_memory: bool = True
    use_text: bool = True
    use_user_attributes: bool = True
    cold_user_share: float = 0.1
    rating_weight: float = 1.0
    patience: int = 5
    repeat: bool = False
    seed: int = 0
    device: str = "auto"
    valid_k: int = 20
    defend: str = "off"
    nproc: int = 1

    def __post_init__(self) -> None:
        if self.defend not in DEFENCES:
            raise ValueError(f"defend must be one of {', '.join(DEFENCES)}, got {self.defend!r}")
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
        if self.softmax not in ("auto", "full", "sampled"):
            raise ValueError(f"softmax must be auto, full or sampled, got {self.softmax!r}")
        if self.n_negatives < 1:
            raise ValueError(f"n_negatives must be ≥ 1, got {self.n_negatives}")
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
        if self.nproc < 1 or (self.nproc > 1 and self.model != "auto"):
            raise ValueError(f"nproc must be ≥ 1, and 1 for the weighted model; got {self.nproc}")
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
