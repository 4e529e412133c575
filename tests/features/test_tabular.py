"""Genre / category vectors: the diversity fallback when items have no text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recolab.data import Vocabulary
from recolab.features.tabular import genre_labels, genre_vectors

S = 1 / np.sqrt(2)
T = 1 / np.sqrt(3)


def test_known_answer_from_pipe_separated_strings() -> None:
    meta = pd.DataFrame(
        {"genres": ["Animation|Children's|Comedy", "Drama|War", "Comedy", "", None]},
        index=["1", "2", "3", "4", "5"],
    )
    items = Vocabulary.from_ids(["3", "1", "2", "4", "5", "unknown"])
    assert genre_labels(meta) == ["Animation", "Children's", "Comedy", "Drama", "War"]
    got = genre_vectors(meta, items)
    expected = np.array(
        [
            [0, 0, 1, 0, 0],
            [T, T, T, 0, 0],
            [0, 0, 0, S, S],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
        ],
        dtype=np.float32,
    )
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # Cosine similarity is a dot product: Toy Story vs a pure comedy.
    assert abs(float(got[1] @ got[0]) - T) < 1e-6


def test_lists_integer_ids_whitespace_and_duplicates() -> None:
    meta = pd.DataFrame(
        {"genres": [["Action", " Drama "], ("Drama", "Drama"), []]}, index=[10, 20, 30]
    )
    got = genre_vectors(meta, Vocabulary.from_ids(["20", "10", "30"]))
    np.testing.assert_allclose(got, [[0, 1], [S, S], [0, 0]], atol=1e-6)


def test_category_column_is_the_fallback() -> None:
    meta = pd.DataFrame({"category": ["books", "games", "books"]}, index=["a", "b", "c"])
    got = genre_vectors(meta, Vocabulary.from_ids(["a", "b", "c"]))
    np.testing.assert_allclose(got, [[1, 0], [0, 1], [1, 0]])


def test_genres_win_over_category() -> None:
    meta = pd.DataFrame({"category": ["x"], "genres": ["g1|g2"]}, index=["a"])
    assert genre_vectors(meta, Vocabulary.from_ids(["a"])).shape == (1, 2)


def test_no_genre_column_or_no_metadata_gives_zero_width() -> None:
    items = Vocabulary.from_ids(["a", "b"])
    titles_only = pd.DataFrame({"title": ["t", "u"]}, index=["a", "b"])
    assert genre_vectors(titles_only, items).shape == (2, 0)
    assert genre_vectors(None, items).shape == (2, 0)


def test_input_metadata_is_not_modified() -> None:
    meta = pd.DataFrame({"genres": ["A|B"]}, index=pd.Index([7]))
    genre_vectors(meta, Vocabulary.from_ids(["7"]))
    assert meta.index.tolist() == [7]
