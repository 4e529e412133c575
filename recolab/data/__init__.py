"""Loading, validation, vocabularies, splits, samples and synthetic data."""

from recolab.data.interactions import InteractionData, build_interactions
from recolab.data.io import load_interactions, load_items, read_table
from recolab.data.report import DataReport
from recolab.data.samples import SAMPLES, load_ml100k_split, load_sample
from recolab.data.splits import (
    cold_item_split,
    given_files,
    leave_last_n,
    per_user_latest,
    random_holdout,
    temporal_split,
)
from recolab.data.synthetic import random_rating_matrix, synthetic_interactions
from recolab.data.vocab import Vocabulary

__all__ = [
    "SAMPLES",
    "DataReport",
    "InteractionData",
    "Vocabulary",
    "build_interactions",
    "cold_item_split",
    "given_files",
    "leave_last_n",
    "load_interactions",
    "load_items",
    "load_ml100k_split",
    "load_sample",
    "per_user_latest",
    "random_holdout",
    "random_rating_matrix",
    "read_table",
    "synthetic_interactions",
    "temporal_split",
]
