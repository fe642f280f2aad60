"""Gathering embedded shards and agreeing on a selection across processes (training/distributed.py)."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from training.distributed import broadcast_selection, gather_features
from training.pruning.sampling import SelectionConfig, draw_subset, select_from_archive

ARCHIVE_SIZE = 5000
SUBSET_SIZE = 301
CONFIG = SelectionConfig(rho=0.03, clusters=(12, 3), kmeans_iters=5, resampling_steps=(1, 1), sample_size=(6, 2))


def archive_features() -> torch.Tensor:
    """(ARCHIVE_SIZE, 8) embeddings of the whole archive, identical in every process (three separated groups)."""
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 8, generator=gen) * 6
    return centres[torch.arange(ARCHIVE_SIZE) % 3] + torch.randn(ARCHIVE_SIZE, 8, generator=gen)


def shard(rank: int, subset: np.ndarray) -> np.ndarray:
    """Archive indices embedded by ``rank``: an interleaved shard, rank 1 padded with a repeated tail (uneven sizes)."""
    own = subset[rank::2]
    return np.concatenate([own, subset[:3]]) if rank == 1 else own


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        subset = draw_subset(ARCHIVE_SIZE, SUBSET_SIZE, np.random.default_rng(0))
        local = shard(rank, subset)
        features, indices = gather_features(archive_features()[local], torch.from_numpy(local))
        selection = select_from_archive(features, indices.numpy(), ARCHIVE_SIZE, CONFIG, seed=4).indices
        # Rank 1 proposes something else: the broadcast must replace it by rank 0's selection.
        mine = selection if rank == 0 else selection[::-1][:5]
        agreed = broadcast_selection(mine if rank == 0 else None)
        agreed_again = broadcast_selection(mine)
        np.savez(
            Path(out_dir) / f"rank{rank}.npz",
            features=features.numpy(),
            indices=indices.numpy(),
            selection=selection,
            agreed=agreed,
            agreed_again=agreed_again,
        )
    finally:
        dist.destroy_process_group()


def test_two_processes_gather_identical_matrices_and_agree(tmp_path):
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    subset = draw_subset(ARCHIVE_SIZE, SUBSET_SIZE, np.random.default_rng(0))
    expected = archive_features()[subset].numpy()
    for result in ranks:
        assert np.array_equal(result["indices"], subset)
        assert np.array_equal(result["features"], expected)
        assert result["selection"].size == round(CONFIG.rho * ARCHIVE_SIZE)
        assert np.array_equal(result["agreed"], ranks[0]["selection"])
        assert np.array_equal(result["agreed_again"], ranks[0]["selection"])
    assert np.array_equal(ranks[0]["selection"], ranks[1]["selection"])


def test_single_process_gather_deduplicates_and_sorts():
    features = torch.tensor([[3.0], [1.0], [2.0], [1.5], [3.5]])
    indices = torch.tensor([30, 10, 20, 10, 30])
    gathered, unique = gather_features(features, indices)
    assert unique.tolist() == [10, 20, 30]
    assert gathered[:, 0].tolist() == [1.0, 2.0, 3.0]  # the first copy of a repeated index wins


def test_single_process_broadcast_and_errors():
    assert broadcast_selection(np.array([4, 2])).tolist() == [4, 2]
    with pytest.raises(ValueError, match="single process"):
        broadcast_selection(None)
    with pytest.raises(ValueError, match="expected features"):
        gather_features(torch.zeros(3, 2), torch.zeros(2, dtype=torch.long))
