# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Multi-process helpers shared by feature extraction, pruning and the trainer (torch.distributed, set up by
Accelerate).

Each process embeds its shard of a set of indices. A distributed sampler pads the last shard with repeated samples so
all ranks run the same number of batches; :func:`gather_features` all-gathers the shards (variable lengths handled
with counts and padding), drops the repeats by dataset index (the copy from the lowest rank wins) and sorts by index,
so that every rank holds the same (N, D) matrix in the same order.

Clustering then needs the same result everywhere. On CPU it is: same inputs, same seeded generator and the same
deterministic ops (for an equal thread count) give bit-identical centroids on every rank. On GPUs, matmul and
``index_add_`` reductions are not guaranteed to round identically across devices or runs, so a tie can flip one
assignment and the selections can diverge. The safe protocol is therefore: cluster and select on rank 0 (or on every
rank), then :func:`broadcast_selection` makes rank 0's selection authoritative. :func:`broadcast_buffers` does the
same for a module's buffers (the teacher's BatchNorm statistics when SyncBatchNorm is off).

Without an initialised process group (single process), the helpers work locally: gather only de-duplicates and sorts,
the broadcasts return their input.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """Whether a process group with more than one rank is running."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _comm_device() -> torch.device:
    """Device collectives must use: the current CUDA device under NCCL, else the CPU (gloo)."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _all_gather_padded(tensor: torch.Tensor, counts: list[int]) -> torch.Tensor:
    """All-gather tensors whose first dimension differs per rank (given by ``counts``); concatenated in rank order."""
    longest = max(counts)
    padded = tensor.new_zeros((longest, *tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor
    pieces = [torch.empty_like(padded) for _ in counts]
    dist.all_gather(pieces, padded)
    return torch.cat([piece[:count] for piece, count in zip(pieces, counts, strict=True)])


def deduplicate_by_index(features: torch.Tensor, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the first row for every distinct index and sort rows by index.

    Args:
        features: (M, D). indices: (M,) integer dataset indices, possibly repeated.

    Returns:
        (N, D) features and (N,) int64 sorted unique indices.
    """
    indices = indices.to(torch.long)
    order = torch.argsort(indices, stable=True)
    ordered = indices[order]
    first = torch.ones_like(ordered, dtype=torch.bool)
    first[1:] = ordered[1:] != ordered[:-1]
    keep = order[first]
    return features[keep], indices[keep]


def gather_features(features: torch.Tensor, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather every rank's embedded shard into one matrix, identical on all ranks.

    Args:
        features: (n_local, D) this rank's embeddings (any length per rank, possibly 0).
        indices: (n_local,) archive index of every row; repeats within or across ranks are allowed.

    Returns:
        (N, D) features and (N,) int64 indices, de-duplicated by index and sorted by index, on ``features.device``.
    """
    if features.ndim != 2 or indices.ndim != 1 or features.shape[0] != indices.shape[0]:
        raise ValueError(
            f"expected features (n, D) and indices (n,), got {tuple(features.shape)} and {tuple(indices.shape)}"
        )
    if is_distributed():
        home = features.device
        device = _comm_device()
        count = torch.tensor([features.shape[0]], device=device)
        counts = [torch.zeros_like(count) for _ in range(dist.get_world_size())]
        dist.all_gather(counts, count)
        sizes = [int(c) for c in counts]
        features = _all_gather_padded(features.to(device), sizes).to(home)
        indices = _all_gather_padded(indices.to(device=device, dtype=torch.long), sizes).to(home)
    return deduplicate_by_index(features, indices)


def broadcast_selection(indices: np.ndarray | None, src: int = 0) -> np.ndarray:
    """Make rank ``src``'s selection authoritative: every rank returns a copy of it.

    Args:
        indices: 1-D integer archive indices on rank ``src``; ignored (may be None) on the other ranks.
        src: the rank whose selection wins.

    Returns:
        The int64 selection of rank ``src``.
    """
    if not is_distributed():
        if indices is None:
            raise ValueError("broadcast_selection needs the indices when running in a single process")
        return np.asarray(indices, dtype=np.int64)
    device = _comm_device()
    if dist.get_rank() == src:
        if indices is None:
            raise ValueError(f"rank {src} is the source of broadcast_selection and must pass its indices")
        payload = torch.as_tensor(np.asarray(indices, dtype=np.int64), device=device)
        length = torch.tensor([payload.shape[0]], device=device)
    else:
        length = torch.zeros(1, dtype=torch.long, device=device)
    dist.broadcast(length, src)
    if dist.get_rank() != src:
        payload = torch.empty(int(length), dtype=torch.long, device=device)
    dist.broadcast(payload, src)
    return payload.cpu().numpy()


@torch.no_grad()
def broadcast_buffers(module: torch.nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s floating-point buffers (e.g. BatchNorm running statistics) into every rank's ``module``."""
    if not is_distributed():
        return
    device = _comm_device()
    for buffer in module.buffers():
        if buffer.is_floating_point():
            payload = buffer.to(device)
            dist.broadcast(payload, src)
            buffer.copy_(payload)
