"""Calibrated recommendations (Steck, 2018): lists that match the user's category profile."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from recolab.data.interactions import InteractionData
from recolab.rerank.base import (
    Candidates,
    PenaltyFn,
    ReRanker,
    base_order,
    greedy_in_batches,
)

logger = logging.getLogger(__name__)


class Calibration(ReRanker):
    """Greedy: each position takes argmax ``rel_i − λ·KL(p_u ‖ q̃(list + i))``.

    ``q(c|i)`` is item ``i``'s non-negative category vector normalised to sum 1 (e.g. a
    genre multi-hot). The user profile ``p(c|u)`` is the mean of ``q`` over the user's
    training items and ``q(c|list)`` the mean over the list; items whose vector is all zero
    contribute nothing (to the sum nor to the count). Following Steck (2018),
    ``q̃ = (1 − α)·q(·|list) + α·p_u`` and ``KL(p ‖ q̃) = Σ_c p_c log(p_c / q̃_c)`` over
    the categories with ``p_c > 0``. Users without training items or without category mass
    have penalty 0 (their lists keep the base order).

    Parameters
    ----------
    alpha:
        Smoothing ``α`` in ``(0, 1)``, Steck's 0.01 by default.

    Attributes
    ----------
    categories_:
        float64 ``(n_items, n_categories)``: ``q(c|i)`` (zero rows for items without mass).
    profiles_:
        float64 ``(n_users, n_categories)``: ``p(c|u)`` (zero rows for users without mass).

    Examples
    --------
    >>> import numpy as np
    >>> from recolab.rerank.base import Candidates
    >>> reranker = Calibration()
    >>> reranker.categories_ = np.array([[1.0, 0], [1, 0], [0, 1]]); reranker.n_items_ = 3
    >>> reranker.profiles_ = np.array([[0.5, 0.5]])
    >>> cand = Candidates(np.array([0]), np.array([[0, 1, 2]]), np.array([[3.0, 2.0, 1.0]]))
    >>> reranker.rerank(cand, 2, lam=0.0).tolist(), reranker.rerank(cand, 2, lam=1.0).tolist()
    ([[0, 1]], [[0, 2]])
    """

    name: ClassVar[str] = "calibration"
    objective: ClassVar[str] = "calibration"
    needs_vectors: ClassVar[bool] = True

    categories_: np.ndarray
    profiles_: np.ndarray

    def __init__(self, alpha: float = 0.01) -> None:
        self.alpha = alpha

    def _options(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def fit(self, train: InteractionData, item_vectors: np.ndarray | None = None) -> Self:
        """Item category distributions and user profiles from ``train``.

        Parameters
        ----------
        train:
            Training interactions (used as binary).
        item_vectors:
            Non-negative ``n_items × n_categories`` category weights (required).

        Returns
        -------
        Calibration
            ``self``, fitted.
        """
        if not 0 < float(self.alpha) < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha!r}")
        super().fit(train, item_vectors)
        vectors = np.asarray(item_vectors, dtype=np.float64)
        if np.any(vectors < 0):
            raise ValueError(
                "Calibration needs non-negative category vectors (e.g. genre multi-hot); "
                "item_vectors has negative entries"
            )
        mass = vectors.sum(axis=1, keepdims=True)
        self.categories_ = np.where(mass > 0, vectors / np.where(mass > 0, mass, 1.0), 0.0)
        x = train.matrix(binary=True)
        weight = np.asarray(x @ (mass[:, 0] > 0).astype(np.float64)).reshape(-1, 1)
        total = np.asarray(x @ self.categories_)
        self.profiles_ = np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), 0.0)
        logger.info(
            "calibration fitted: %d categories, %d users with a profile",
            vectors.shape[1],
            int((weight > 0).sum()),
        )
        return self

    def rerank(self, cand: Candidates, k: int, lam: float) -> np.ndarray:
        """Greedy calibrated re-ordering (see :meth:`ReRanker.rerank`)."""
        lam = self._begin(cand, k, lam)
        if lam == 0:
            return base_order(cand, k)
        per_user = cand.n_candidates * self.categories_.shape[1]
        return greedy_in_batches(cand, k, lam, per_user, lambda part, _: self._penalty(part))

    def _user_profiles(self, users: np.ndarray) -> np.ndarray:
        """``p(c|u)`` rows; zero for users unknown to the training data."""
        known = (users >= 0) & (users < self.profiles_.shape[0])
        out = np.zeros((users.size, self.profiles_.shape[1]))
        out[known] = self.profiles_[users[known]]
        return out

    def _penalty(self, cand: Candidates) -> PenaltyFn:
        """KL(p_u ‖ q̃) of the list so far plus each candidate.

        With ``T`` the category sum and ``N`` the count of the list so far, a candidate
        with mass has ``q̃_c = b_c + (1 − α)·q_ic / (N + 1)``, ``b_c = (1 − α)·T_c / (N + 1)
        + α·p_c``, so ``Σ_c p_c log q̃_c = Σ_c p_c log b_c + Σ_{c: q_ic > 0} p_c
        log1p((1 − α)·q_ic / ((N + 1)·b_c))``: the per-candidate part runs over the
        candidate's categories only (sparse), the rest once per user.
        """
        alpha = float(self.alpha)
        n, width = cand.items.shape
        p = self._user_profiles(cand.users)  # (n, G)
        on = p > 0
        plogp = (p * np.log(np.where(on, p, 1.0))).sum(axis=1)
        cell, at, scaled, has = self._nonzeros(cand, on)
        p_nz, scaled = p.ravel()[at], (1 - alpha) * scaled
        rows = np.arange(n)
        total = np.zeros_like(p)  # Σ q over the list so far
        count = np.zeros(n)  # items with mass in the list so far

        def smoothed(size: np.ndarray) -> np.ndarray:
            """``b_c`` for lists of ``size`` items with mass; 1 where ``p_c = 0``."""
            b = (1 - alpha) * total / np.maximum(size, 1.0)[:, None] + alpha * p
            return np.where(on, b, 1.0)

        def penalty(last: np.ndarray | None) -> np.ndarray | float:
            if last is not None:
                ok = last >= 0
                picked = self.categories_[cand.items[rows[ok], last[ok]]]
                total[ok] += picked
                count[ok] += picked.sum(axis=1) > 0
            b = smoothed(count + 1)
            denom = ((count + 1)[:, None] * b).ravel()[at]
            extra = np.bincount(cell, weights=p_nz * np.log1p(scaled / denom), minlength=n * width)
            kl = (plogp - (p * np.log(b)).sum(axis=1))[:, None] - extra.reshape(n, width)
            if has.all():
                return kl
            kl_without = plogp - (p * np.log(smoothed(count))).sum(axis=1)
            return np.where(has, kl, kl_without[:, None])

        return penalty

    def _nonzeros(
        self, cand: Candidates, on: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The candidates' category weights as flat nonzeros, where the user's ``p_c > 0``.

        Returns ``cell`` (flat candidate index), ``at`` (flat (user, category) index),
        ``q_ic`` of each kept nonzero, and ``has`` (bool ``(n, C)``: candidate has mass).
        """
        n, width = cand.items.shape
        flat_items = np.where(cand.valid, cand.items, 0).ravel()
        sub = sp.csr_matrix(self.categories_)[flat_items]  # (n·C, G)
        sizes = np.diff(sub.indptr)
        cell = np.repeat(np.arange(n * width), sizes)
        at = (cell // width) * on.shape[1] + sub.indices
        keep = on.ravel()[at]
        return cell[keep], at[keep], sub.data[keep], (sizes > 0).reshape(n, width)
