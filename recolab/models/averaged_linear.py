"""The average of several closed-form linear autoencoders: a hyperparameter ensemble.

A linear autoencoder scores a user as ``x_u W``, so the mean of the members' weight matrices
``W̄ = (W_1 + … + W_m) / m`` scores every user with the mean of the members' scores. recolab's
tuner serves the mean of the trials whose validation scores are within 0.5 % of the best
(:func:`recolab.tuning.select.near_best_trials`): which of several equally accurate trials
comes out best on validation is partly chance (the winner's curse of a 30-trial study), and
their mean is steadier on data not seen (``benchmarks/RESULTS.md``, "Averaging the near-best
trials": the single best trial 0.987–1.039 × tuned EASE on test over 13 runs, the mean of
the near-best 0.995–1.042).

The members are solved one after another on the same data, each exactly as a
:class:`~recolab.models.linear.LinearAutoencoder` with its options; only their sum is kept,
so the memory is one solve plus one items × items float32 accumulator. ``top_k`` prunes the
mean, not the members.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Self

import numpy as np
import scipy.sparse as sp
import torch

from recolab.data.interactions import InteractionData
from recolab.models.linear import (
    LinearAutoencoder,
    LinearParams,
    build_gram,
    prune_top_k,
    solve_weights,
)
from recolab.models.sparse_linear import dense_fits, make_linear_base

logger = logging.getLogger(__name__)


class AveragedLinearAutoencoder(LinearAutoencoder):
    """The mean of the weight matrices of several :class:`LinearAutoencoder` members.

    Parameters
    ----------
    members:
        Each member's options (their own ``top_k`` is ignored: the mean is pruned).
    top_k:
        Weights kept per item in the mean (0: dense).
    device:
        ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Attributes
    ----------
    params:
        The first member's options with ``top_k``: what a single-model reader of the bundle
        shows (the first member is the most accurate trial).
    members:
        Every member's options, the first included.
    weights_:
        float32 n_items × n_items mean weight matrix.

    Examples
    --------
    >>> import pandas as pd
    >>> from recolab.data import build_interactions
    >>> frame = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "y", "y"], "value": 1.0})
    >>> data = build_interactions(frame, kind="implicit")
    >>> members = [LinearParams(l2=1.0), LinearParams(l2=4.0, dropout=0.5)]
    >>> AveragedLinearAutoencoder(members).fit(data).weights_.shape
    (2, 2)
    """

    def __init__(
        self, members: Sequence[LinearParams], *, top_k: int = 0, device: str = "auto"
    ) -> None:
        if not members:
            raise ValueError("an averaged linear autoencoder needs at least one member")
        super().__init__(replace(members[0], top_k=top_k), device=device)
        self.members = tuple(replace(m, top_k=0) for m in members)

    @classmethod
    def _unfitted(cls, params: LinearParams, members: tuple[LinearParams, ...] = ()) -> Self:
        return cls(members or [params], top_k=params.top_k, device="cpu")

    def _members(self) -> tuple[LinearParams, ...]:
        return self.members

    def _kept_bytes(self, n_items: int) -> int:
        return 4 * n_items * n_items  # the float32 sum beside each member's solve

    def _solve(self, x: sp.csr_matrix, device: torch.device) -> np.ndarray:
        counts = np.asarray(x.getnnz(axis=0), dtype=np.float64)
        total = np.zeros((x.shape[1], x.shape[1]), dtype=np.float32)
        for params in self.members:
            total += solve_weights(build_gram(x, params.user_norm), counts, params, device)
        total /= len(self.members)
        logger.info("averaged %d linear autoencoders", len(self.members))
        return prune_top_k(total, self.params.top_k) if self.params.top_k else total

    @classmethod
    def from_weights(  # type: ignore[override]
        cls,
        weights: np.ndarray,
        train: InteractionData,
        params: LinearParams,
        members: Sequence[LinearParams] = (),
    ) -> Self:
        """A fitted model from stored weights and its members' options (as a bundle holds
        them; ``params`` carries ``top_k``)."""
        model = cls(members or [params], top_k=params.top_k, device="cpu")
        model._remember(train)
        if weights.shape != (train.n_items, train.n_items):
            raise ValueError(f"weights of shape {weights.shape} do not match {train.n_items} items")
        model.weights_ = np.asarray(weights, dtype=np.float32)
        return model


def make_base(
    members: Sequence[LinearParams],
    n_items: int,
    top_k: int = 0,
    device: str = "auto",
    n_users: int = 0,
    neighbours: int | None = None,
) -> LinearAutoencoder:
    """The closed-form base of ``members``' options for ``n_users`` × ``n_items``: one
    member, or a catalogue served by the sparse neighbourhood base
    (:func:`~recolab.models.sparse_linear.make_linear_base`, with ``neighbours`` per item),
    gives the first member alone; several members on a dense catalogue give their mean."""
    if len(members) == 1 or not dense_fits(n_items, device, n_users):
        first = replace(members[0], top_k=top_k)
        return make_linear_base(first, n_items, device, n_users, neighbours)
    return AveragedLinearAutoencoder(members, top_k=top_k, device=device)
