"""Unit tests of the loop's small parts: the data order, callback state and the per-resolution forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from training.callbacks import CallbackList, TrainerCallback
from training.dino import DINOModel
from training.sampler import epoch_order, process_indices
from training.seeding import derive_seed


def test_process_indices_deal_each_epoch_once_and_resume_mid_epoch():
    active = np.arange(100, 150)
    parts = [process_indices(active, 7, 3, micro_batches=5, batch_size=4, rank=r, world_size=2) for r in range(2)]
    together = sorted(parts[0] + parts[1])
    assert len(together) == 40 == len(set(together)) and set(together) <= set(active.tolist())
    order = epoch_order(active, 40, 7, 3)
    assert parts[0] == order[0::2].tolist() and parts[1] == order[1::2].tolist()
    resumed = process_indices(active, 7, 3, micro_batches=5, batch_size=4, rank=1, world_size=2, start_micro_batch=2)
    assert resumed == parts[1][8:]  # micro-batches 2..4 of the same order
    assert process_indices(active, 7, 4, 5, 4, 0, 2) != parts[0]  # a new epoch, a new order
    small = epoch_order(np.arange(3), 7, 0, 0)  # a pool smaller than the epoch is re-permuted and continued
    assert sorted(small[:3].tolist()) == [0, 1, 2] and len(small) == 7
    with pytest.raises(ValueError, match="no active indices"):
        epoch_order(np.arange(0), 4, 0, 0)


def test_derive_seed_is_stable_and_distinct():
    assert (
        derive_seed(0, 1, 2) == derive_seed(0, 1, 2) == 1535930435702422785
    )  # SeedSequence is stable across platforms
    assert len({derive_seed(0, step, rank) for step in range(50) for rank in range(4)}) == 200


class _Counter(TrainerCallback):
    def __init__(self) -> None:
        self.calls, self.selection = 0, np.arange(3)

    def on_epoch_begin(self, trainer) -> None:
        self.calls += 1

    def state_dict(self) -> dict:
        return {"calls": self.calls, "selection": self.selection}

    def load_state_dict(self, state: dict) -> None:
        self.calls, self.selection = state["calls"], state["selection"]


def test_callback_list_calls_in_order_and_round_trips_state():
    first = _Counter()
    callbacks = CallbackList([first, TrainerCallback()])
    callbacks("on_epoch_begin", None)
    state = callbacks.state_dict()
    restored = CallbackList([_Counter(), TrainerCallback()])
    restored.load_state_dict(state)
    assert restored.callbacks[0].calls == 1 and restored.callbacks[0].selection.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="distinct classes"):
        CallbackList([_Counter(), _Counter()])


class _Recorder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[tuple[int, ...]] = []

    def forward(self, x: torch.Tensor):
        self.sizes.append(tuple(x.shape))
        return type("Out", (), {"pooler_output": x.mean(dim=(2, 3))})()


def test_dino_model_forwards_each_resolution_once_in_crop_order():
    backbone = _Recorder()
    model = DINOModel(backbone, nn.Identity())
    crops = [torch.full((2, 1, 8, 8), float(i)) for i in range(2)] + [
        torch.full((2, 1, 4, 4), float(i)) for i in (2, 3, 4)
    ]
    out = model(crops)
    assert backbone.sizes == [(4, 1, 8, 8), (6, 1, 4, 4)]  # one forward per resolution
    assert out[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]  # crop-major order kept
