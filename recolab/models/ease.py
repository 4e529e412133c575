"""EASE: embarrassingly shallow autoencoder (Steck, 2019), closed form."""

from __future__ import annotations

import logging
from typing import Self

import numpy as np

from recolab.data.interactions import InteractionData
from recolab.errors import DataError
from recolab.models.base import Recommender
from recolab.models.linear import ease_weights

logger = logging.getLogger(__name__)

#: Above this many items the dense n_items × n_items inverse no longer fits in memory.
MAX_ITEMS = 30_000


class EASERecommender(Recommender):
    """Item–item weights ``B = I − P·diag(1/diag(P))`` with ``P = (XᵀX + λI)⁻¹``, ``diag(B) = 0``.

    ``X`` is the binary train matrix; the inverse is taken in float64 with torch
    (:func:`~recolab.models.linear.ease_weights`, memory checked first) and ``B`` is kept as
    float32. A user's scores are ``X_u B``.

    Parameters
    ----------
    l2:
        The L2 penalty λ (> 0).
    max_items:
        Refuse to fit above this many items: the dense inverse needs ``8 · n_items²`` bytes.

    Attributes
    ----------
    weights_:
        float32 n_items × n_items matrix ``B``.

    Examples
    --------
    >>> import pandas as pd
    >>> from recolab.data import build_interactions
    >>> frame = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "y", "y"], "value": 1.0})
    >>> model = EASERecommender(l2=1.0).fit(build_interactions(frame, kind="implicit"))
    >>> model.weights_.diagonal().tolist()
    [0.0, 0.0]
    """

    def __init__(self, l2: float = 400.0, max_items: int = MAX_ITEMS) -> None:
        self.l2 = l2
        self.max_items = max_items

    def fit(self, train: InteractionData) -> Self:
        """Solve for the item–item weight matrix.

        Parameters
        ----------
        train:
            Training interactions (used as binary).

        Returns
        -------
        EASERecommender
            ``self``, fitted.
        """
        self._check_train(train)
        if not np.isfinite(self.l2) or self.l2 <= 0:
            raise ValueError(f"l2 must be a finite number > 0, got {self.l2!r}")
        if train.n_items > self.max_items:
            gib = 8 * train.n_items**2 / 2**30
            raise DataError(
                f"EASERecommender: {train.n_items:,} items exceed the limit of "
                f"{self.max_items:,}; the dense item × item inverse would need {gib:.1f} GiB. "
                "Use ItemKNNRecommender, or keep fewer items."
            )
        self._remember(train)
        b = ease_weights(self.train_, self.l2, "cpu")
        self.weights_ = b
        logger.info("EASE fitted: %d items, l2=%g", b.shape[0], self.l2)
        return self

    def _score_known(self, users: np.ndarray, lam: float | None) -> np.ndarray:
        scores = self.train_[users] @ self.weights_
        return np.asarray(scores, dtype=np.float32)
