# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The data order: a pure function of (seed, epoch, active indices), so resuming gives the same order.

An epoch is a planned number of optimisation steps (the trainer's `epoch_length`). Its images are drawn without
replacement from a seeded permutation of the active indices (the whole archive, or the pruning selection),
re-permuted and continued when the pool is smaller than an epoch, and dealt out to the processes in turn.
"""

from __future__ import annotations

import numpy as np


def epoch_order(active: np.ndarray, num_images: int, seed: int, epoch: int) -> np.ndarray:
    """`num_images` dataset indices for one epoch (all processes together), deterministic from (seed, epoch)."""
    if len(active) == 0:
        raise ValueError("no active indices to sample from: the dataset (or the pruning selection) is empty")
    chunks, drawn, repeat = [], 0, 0
    while drawn < num_images:
        rng = np.random.default_rng([seed, epoch, repeat])
        chunks.append(active[rng.permutation(len(active))])
        drawn += len(active)
        repeat += 1
    return np.concatenate(chunks)[:num_images]


def process_indices(
    active: np.ndarray,
    seed: int,
    epoch: int,
    micro_batches: int,
    batch_size: int,
    rank: int,
    world_size: int,
    start_micro_batch: int = 0,
) -> list[int]:
    """This process's indices for micro-batches `start_micro_batch..micro_batches-1` of the epoch.

    Global micro-batch b holds images `order[b·W·B : (b+1)·W·B]`; process r takes every W-th of them.
    """
    order = epoch_order(active, micro_batches * batch_size * world_size, seed, epoch)
    mine = order[rank::world_size]
    return mine[start_micro_batch * batch_size :].tolist()
