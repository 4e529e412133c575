"""The Gram matrix of a distributed run: each rank's shard of users, summed by all-reduce.

``Xᵀ D_U^{-β} X = Σ_shards X_sᵀ D_{U,s}^{-β} X_s``: the user weights ``n_u^{-β}`` depend on
the user's own row only, so a contiguous shard of users gives its exact share of the DAN
weighting, and the EDLAE emphasis and the item normalisation, read from the summed matrix and
the item counts, are the same as in one process. Every rank then solves the same summed matrix
itself (:func:`recolab.models.linear.solve_weights`): every rank needs ``W`` to evaluate the
same trials, and broadcasting it from rank 0 would move a second items × items matrix, as
large as the all-reduce, to spare computation the other ranks would spend waiting.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist

from recolab.distributed.runtime import check_same, rank, world_size
from recolab.errors import DataError
from recolab.memory import memory_shortfall
from recolab.models.linear import gram_matrix, gram_strategy, solve_memory_bytes

__all__ = ["distributed_gram", "shard_bounds", "sharded_gram"]

log = logging.getLogger(__name__)


def shard_bounds(n_users: int, n_ranks: int, which: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of rank ``which``'s contiguous shard of ``n_users`` users.

    >>> [shard_bounds(5, 2, r) for r in range(2)]
    [(0, 2), (2, 5)]
    """
    edges = np.linspace(0, n_users, n_ranks + 1).astype(np.int64)
    return int(edges[which]), int(edges[which + 1])


def _check_memory(n_items: int, device: torch.device) -> None:
    """Refuse, naming the size, a Gram matrix whose solves would not fit: the ranks of one
    machine solve at once on CPU, so each needs its share of the machine's memory; on GPUs
    each rank has a device of its own."""
    per_rank = solve_memory_bytes(n_items, device) + 4 * n_items * n_items
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if device.type == "cpu" else 1
    short = memory_shortfall(local * per_rank, device)
    if short is not None:
        raise DataError(
            f"the distributed item × item solve for {n_items:,} items on {local} rank(s) of "
            f"this machine {short}; start fewer processes per machine or keep fewer items"
        )


def sharded_gram(x: sp.csr_matrix, user_norm: float) -> np.ndarray:
    """``Xᵀ D_U^{-β} X`` of the whole users × items matrix ``x``, built from this rank's shard
    of users and summed over the ranks (float32; a collective: every rank calls it with the
    same ``x``, checked first). With one process it is :func:`gram_matrix`."""
    n = world_size()
    if n == 1:
        return gram_matrix(x, user_norm)
    check_same(
        (tuple(x.shape), int(x.nnz), float(user_norm)),
        "the Gram matrix's input (users × items, interactions, user_norm)",
    )
    device = torch.device("cuda") if dist.get_backend() == "nccl" else torch.device("cpu")
    _check_memory(x.shape[1], device)
    start, stop = shard_bounds(x.shape[0], n, rank())
    total = torch.from_numpy(gram_matrix(x[start:stop], user_norm)).to(device)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    log.debug("rank %d: Gram of users %d–%d summed over %d ranks", rank(), start, stop, n)
    return total.cpu().numpy()


@contextmanager
def distributed_gram() -> Iterator[None]:
    """Within the block, linear models of a distributed run build their Gram matrix with
    :func:`sharded_gram`; in one process the block changes nothing."""
    if world_size() == 1:
        yield
        return
    with gram_strategy(sharded_gram):
        yield
