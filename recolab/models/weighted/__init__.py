"""The weighted-objective model: one network conditioned on the trade-off λ.

Read in this order; each module imports only the ones above it:

* :mod:`~recolab.models.weighted.closed_form`: the fixed starting points (EASE memory B,
  baseline rating predictor);
* :mod:`~recolab.models.weighted.histories`: users' histories as EmbeddingBag batches;
* :mod:`~recolab.models.weighted.network`: the torch network and its score formula
  s(u, i; λ), and its optimiser groups;
* :mod:`~recolab.models.weighted.trainer`: inputs, one batch, one epoch, validation, run by
  the generic loop :func:`recolab.training.train_loop`;
* :mod:`~recolab.models.weighted.recommender`: :class:`WeightedObjectiveRecommender`, which
  fits the network and scores from cached arrays at any λ.

The configuration is :class:`recolab.config.TrainConfig`.

Examples
--------
>>> from recolab.config import TrainConfig                                   # doctest: +SKIP
>>> model = WeightedObjectiveRecommender(TrainConfig(epochs=5)).fit(train)  # doctest: +SKIP
>>> ids, scores = model.recommend([0, 1], k=10, lam=0.5)                      # doctest: +SKIP
"""

from recolab.models.weighted.closed_form import (
    ITEM_ITEM_MAX_ITEMS,
    ease_weights,
    rating_baseline,
)
from recolab.models.weighted.histories import Histories, bag_tensors, split_histories
from recolab.models.weighted.network import (
    WeightedObjectiveNet,
    lambda_features,
    optimiser_groups,
)
from recolab.models.weighted.recommender import WeightedObjectiveRecommender
from recolab.models.weighted.trainer import TrainedNetwork, WeightedTrainer, train_network

__all__ = [
    "ITEM_ITEM_MAX_ITEMS",
    "Histories",
    "TrainedNetwork",
    "WeightedObjectiveNet",
    "WeightedObjectiveRecommender",
    "WeightedTrainer",
    "bag_tensors",
    "ease_weights",
    "lambda_features",
    "optimiser_groups",
    "rating_baseline",
    "split_histories",
    "train_network",
]
