"""Most-popular baseline: every user gets the items most training users interacted with."""

from __future__ import annotations

import logging
from typing import Self

import numpy as np

from recolab.data.interactions import InteractionData
from recolab.models.base import Recommender

logger = logging.getLogger(__name__)


class PopularityRecommender(Recommender):
    """Scores each item by the number of distinct training users who interacted with it.

    The same ranking for everyone (minus each user's own training items). It is the yardstick
    the protocol shows beside every model.

    Attributes
    ----------
    item_users_:
        float32, length n_items: training users per item.

    Examples
    --------
    >>> import pandas as pd
    >>> from recolab.data import build_interactions
    >>> frame = pd.DataFrame({"user": ["a", "a", "b"], "item": ["x", "y", "y"], "value": 1.0})
    >>> model = PopularityRecommender().fit(build_interactions(frame, kind="implicit"))
    >>> model.item_users_.tolist()
    [1.0, 2.0]
    """

    def fit(self, train: InteractionData) -> Self:
        """Count training users per item.

        Parameters
        ----------
        train:
            Training interactions.

        Returns
        -------
        PopularityRecommender
            ``self``, fitted.
        """
        self._check_train(train)
        self._remember(train)
        self.item_users_ = np.asarray(self.train_.getnnz(axis=0), dtype=np.float32)
        logger.info("popularity fitted: %d users, %d items", self.train_.shape[0], self.n_items)
        return self

    def _score_known(self, users: np.ndarray, lam: float | None) -> np.ndarray:
        return np.tile(self.item_users_, (len(users), 1))
