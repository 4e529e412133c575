"""Exposure-aware greedy re-ranking: spread recommendations over the catalogue (coverage)."""

from __future__ import annotations

import logging
from typing import ClassVar, Self

import numpy as np

from recolab.data.interactions import InteractionData
from recolab.rerank.base import (
    Candidates,
    PenaltyFn,
    ReRanker,
    base_order,
    columns_to_items,
    greedy_columns,
    standardised_relevance,
)

logger = logging.getLogger(__name__)


class ExposureGreedy(ReRanker):
    """Aggregate diversity: items already shown in many lists are penalised.

    Lists are filled position-major: position 1 for every user, then position 2, and so
    on. At each position every user picks argmax ``rel_i − λ·log1p(count_i · N / max(1, P))``
    among its candidates not yet chosen, where ``count_i`` is how many lists hold item ``i``
    from earlier positions, ``P`` the picks made so far (all users, earlier positions) and
    ``N`` the number of items with at least one training interaction: ``count_i · N / P`` is
    item ``i``'s exposure relative to an even spread. All users of a position decide
    simultaneously, against the counts of the earlier positions; the counts are updated
    after the position is filled.

    The counts start from a prior when there is one (:meth:`observe_base`, which
    :class:`~recolab.rerank.ReRankedRecommender` calls at fit time): the exposure of each item
    in the base's top-20 lists of all training users. ``count_i`` and ``P`` then add the
    prior's counts and picks, so a single user re-ranked alone still moves away from what
    the base already shows everyone; without a prior the counts span the users of one
    :meth:`rerank` call only.

    Attributes
    ----------
    n_train_items_:
        Items with at least one training interaction (``N``).
    prior_:
        float64 ``(n_items,)`` exposure counts of the base's lists, or ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> from recolab.rerank.base import Candidates
    >>> reranker = ExposureGreedy()
    >>> reranker.n_train_items_ = 3; reranker.n_items_ = 3
    >>> items, scores = np.array([[0, 1, 2], [1, 0, 2]]), np.array([[3.0, 2, 1], [3, 2, 1]])
    >>> cand = Candidates(np.array([0, 1]), items, scores)
    >>> reranker.rerank(cand, 3, lam=0.0).tolist()
    [[0, 1, 2], [1, 0, 2]]
    >>> reranker.rerank(cand, 3, lam=2.0).tolist()  # items 0 and 1 are each in a list already
    [[0, 2, 1], [1, 2, 0]]
    """

    name: ClassVar[str] = "exposure"
    objective: ClassVar[str] = "coverage"

    n_train_items_: int

    def fit(self, train: InteractionData, item_vectors: np.ndarray | None = None) -> Self:
        """Count the items with training interactions (``item_vectors`` unused).

        Returns
        -------
        ExposureGreedy
            ``self``, fitted.
        """
        super().fit(train, item_vectors)
        self.n_train_items_ = int((train.matrix(binary=True).getnnz(axis=0) > 0).sum())
        self.prior_: np.ndarray | None = None
        logger.info("exposure greedy fitted: %d training items", self.n_train_items_)
        return self

    def observe_base(self, lists: np.ndarray) -> None:
        """Take the base's lists of all training users (item indices, ``-1`` padding) as the
        prior exposure."""
        shown = lists[lists >= 0]
        self.prior_ = np.bincount(shown, minlength=self.n_items_).astype(np.float64)

    def rerank(self, cand: Candidates, k: int, lam: float) -> np.ndarray:
        """Position-major exposure-aware re-ordering (see :meth:`ReRanker.rerank`)."""
        lam = self._begin(cand, k, lam)
        if lam == 0:
            return base_order(cand, k)
        penalty = self._penalty(cand)
        cols = greedy_columns(standardised_relevance(cand), cand.valid, k, lam, penalty)
        return columns_to_items(cand, cols)

    def _penalty(self, cand: Candidates) -> PenaltyFn:
        """log1p of each candidate's exposure relative to an even spread, so far."""
        prior = getattr(self, "prior_", None)
        counts = np.zeros(self.n_items_) if prior is None else prior.copy()
        items = np.where(cand.valid, cand.items, 0)
        rows = np.arange(items.shape[0])
        picks = float(counts.sum())

        def penalty(last: np.ndarray | None) -> np.ndarray | float:
            nonlocal picks
            if last is None:
                if picks == 0:
                    return 0.0
            else:
                chosen = items[rows[last >= 0], last[last >= 0]]
                counts[:] += np.bincount(chosen, minlength=self.n_items_)
                picks += chosen.size
            # per item, then gathered: log1p over the catalogue, not over users × candidates
            return np.log1p(counts * (self.n_train_items_ / max(1, picks)))[items]

        return penalty
