"""Users' histories as EmbeddingBag batches, and the input/target split of a training step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch


@dataclass
class Histories:
    """Users' histories as flat index arrays (CSR rows), for EmbeddingBag batches."""

    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def from_csr(cls, m: sp.csr_matrix) -> Histories:
        """From a binary users × items CSR."""
        return cls(m.indptr.astype(np.int64), m.indices.astype(np.int64))

    def rows(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lengths, items) of the users' histories, items concatenated in user order."""
        starts, ends = self.indptr[users], self.indptr[users + 1]
        lengths = ends - starts
        # position of every item: its row start plus its rank inside the row (no Python loop)
        first = np.cumsum(lengths) - lengths
        pos = np.arange(int(lengths.sum())) - np.repeat(first - starts, lengths)
        return lengths, self.indices[pos]

    def bag(
        self, users: np.ndarray, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(items, offsets, 1/√n weights) of the users' full histories."""
        lengths, items = self.rows(users)
        return bag_tensors(items, lengths, device)


def bag_tensors(
    items: np.ndarray, lengths: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """EmbeddingBag inputs for consecutive bags of ``lengths`` items: (items, offsets,
    1/√n per-item weights)."""
    offsets = (np.cumsum(lengths) - lengths).astype(np.int64)
    w = np.repeat(1.0 / np.sqrt(np.maximum(lengths, 1)), lengths).astype(np.float32)
    return (
        torch.as_tensor(np.asarray(items, dtype=np.int64), device=device),
        torch.as_tensor(offsets, device=device),
        torch.as_tensor(w, device=device),
    )


def split_histories(
    histories: Histories,
    users: np.ndarray,
    holdout: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split each user's history into input and target items (each side non-empty).

    Returns (input_rows, input_items, target_rows, target_items), rows 0..len(users)-1.
    """
    lengths, items = histories.rows(users)
    rows = np.repeat(np.arange(len(users)), lengths)
    is_target = rng.random(len(items)) < holdout
    # guarantee ≥1 input and ≥1 target per user (users here have ≥2 items)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    n_target = np.add.reduceat(is_target.astype(np.int64), first)
    pick = first + (rng.random(len(users)) * lengths).astype(np.int64)
    is_target[pick[n_target == 0]] = True
    is_target[pick[n_target == lengths]] = False
    return rows[~is_target], items[~is_target], rows[is_target], items[is_target]
