"""Recommenders: baselines (popularity, item-kNN, EASE) and the weighted-objective model."""

from recolab.models.base import Recommender, top_k
from recolab.models.ease import EASERecommender
from recolab.models.itemknn import ItemKNNRecommender
from recolab.models.popularity import PopularityRecommender

__all__ = [
    "EASERecommender",
    "ItemKNNRecommender",
    "PopularityRecommender",
    "Recommender",
    "top_k",
]
