"""Item features: text embeddings from a pretrained transformer (cached) and genre vectors."""

from recolab.features.tabular import genre_labels, genre_vectors
from recolab.features.text import (
    TextEncoder,
    default_cache_dir,
    default_model_path,
    item_text_embeddings,
    mean_pool,
)

__all__ = [
    "TextEncoder",
    "default_cache_dir",
    "default_model_path",
    "genre_labels",
    "genre_vectors",
    "item_text_embeddings",
    "mean_pool",
]
