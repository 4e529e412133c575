"""Recommenders: baselines (popularity, item-kNN, EASE) and the weighted-objective model."""

from recolab.models.base import Recommender, top_k

__all__ = ["Recommender", "top_k"]
