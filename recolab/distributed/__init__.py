"""Training on several processes and machines with :mod:`torch.distributed`.

recolab's default model is a closed-form linear autoencoder: its cost that grows with the data
is the Gram matrix ``Xᵀ D_U^{-β} X`` (users × items → items × items). A distributed run starts
N identical processes (ranks) through ``torchrun`` (:mod:`torch.distributed.run`): every rank
loads the same data and runs the same seeded pipeline, but each builds the Gram matrix of its
own contiguous shard of users and an ``all_reduce`` sums them (:mod:`.gram`); every rank then
solves the same summed matrix. Rank 0 alone writes the study, the bundle and the report.

- :mod:`.runtime`: the rank's view — process group (NCCL on GPUs, gloo on CPU), rank 0's
  decisions shared with every rank (:func:`agree`), divergence checks (:func:`check_same`).
- :mod:`.gram`: the sharded Gram matrix, installed into :mod:`recolab.models.linear` by
  :func:`distributed_gram`.
- :mod:`.launch`: ``recolab train --nproc N`` and jobs with ``nproc`` start ranks through
  torchrun's own launcher and turn a failed rank into one line.
- :mod:`.ranks`: the entry point torchrun starts on each rank (``python -m
  recolab.distributed.ranks``).
"""

from __future__ import annotations

from recolab.distributed.gram import distributed_gram, sharded_gram
from recolab.distributed.launch import LaunchPlan, launch
from recolab.distributed.runtime import (
    agree,
    check_same,
    is_main,
    launched,
    rank,
    rank_session,
    world_size,
)

__all__ = [
    "LaunchPlan",
    "agree",
    "check_same",
    "distributed_gram",
    "is_main",
    "launch",
    "launched",
    "rank",
    "rank_session",
    "sharded_gram",
    "world_size",
]
