"""Loading, validation, vocabularies, splits, samples and synthetic data."""

from recolab.data.interactions import InteractionData, build_interactions
from recolab.data.report import DataReport
from recolab.data.vocab import Vocabulary

__all__ = ["DataReport", "InteractionData", "Vocabulary", "build_interactions"]
