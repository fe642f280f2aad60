"""The selection strategies beside the paper's dynamic pruning: oracle (class-balanced), static, random subset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.training.test_pruning_callback import PRUNING
from tests.training.test_trainer import tiny_config
from training.callbacks import TrainerCallback
from training.config import parse_config
from training.pretrain import build_callbacks
from training.pruning import STRATEGIES, SelectionConfig, class_balanced_sample
from training.pruning.callback import PruningCallback, PruningConfig
from training.trainer import Trainer


def test_class_balanced_sample_evens_out_a_heavy_tail() -> None:
    labels = np.repeat(np.arange(5), [500, 200, 60, 12, 3])
    positions = class_balanced_sample(labels, 200, np.random.default_rng(0))
    assert positions.size == np.unique(positions).size == 200
    counts = np.bincount(labels[positions], minlength=5)
    # classes of at most 62 are taken whole (60 + 12 + 3), the two big ones share the remaining 125 evenly
    assert counts[2:].tolist() == [60, 12, 3] and sorted(counts[:2].tolist()) == [62, 63]
    with pytest.raises(ValueError, match="class ids >= 0"):
        class_balanced_sample(np.array([0, -1]), 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="pruning_strategy must be one of"):
        SelectionConfig(strategy="clever")
    assert STRATEGIES[0] == SelectionConfig().strategy == "dynamic"


@pytest.mark.parametrize(("strategy", "rounds"), [("dynamic", [2, 4, 6]), ("oracle", [2, 4, 6]),
                                                  ("static", [2]), ("random_subset", [2])])  # fmt: skip
def test_only_dynamic_and_oracle_select_again(strategy: str, rounds: list[int]) -> None:
    callback = PruningCallback(PruningConfig(warmup_epochs=2), SelectionConfig(strategy=strategy), Path("unused"))
    assert [e for e in range(8) if callback.is_due(e)] == rounds


class ActiveSetRecorder(TrainerCallback):
    """Records, at the start of every epoch (after the pruning callback ran), the indices trained on."""

    def __init__(self) -> None:
        self.per_epoch: list[np.ndarray] = []

    def on_epoch_begin(self, trainer) -> None:
        self.per_epoch.append(np.array(trainer.active_indices))


def _train(tmp_path, strategy: str, **overrides) -> tuple[ActiveSetRecorder, list[dict]]:
    out = tmp_path / strategy
    settings = {**PRUNING, "epochs": 3, "pruning_every_epochs": 1, "pruning_strategy": strategy, **overrides}
    config = parse_config(tiny_config(tmp_path, output_dir=str(out), **settings))
    recorder = ActiveSetRecorder()
    Trainer(config, [*build_callbacks(config), recorder]).train()
    log = (out / "pruning" / "pruning_log.jsonl").read_text().splitlines()
    return recorder, [json.loads(line) for line in log]


def test_oracle_selects_class_balanced_every_round(tmp_path) -> None:
    recorder, records = _train(tmp_path, "oracle")
    assert [r["epoch"] for r in records] == [1, 2] and all(r["embedded"] == 0 for r in records)
    for record in records:
        selected, pool = np.array(record["selected_class_histogram"]), np.array(record["pool_class_histogram"])
        assert selected.sum() == record["target"] == 60 and pool.sum() == 120  # from a random pool U of 2·ρ·N
        cut = selected.max()  # classes with fewer than the cut in U are taken whole, the others get the cut (or -1)
        np.testing.assert_array_equal(selected[pool < cut], pool[pool < cut])
        assert (selected[pool >= cut] >= cut - 1).all()
        assert record["selected_label_entropy"] > record["archive_label_entropy"]
    selections = recorder.per_epoch[1:]
    assert not np.array_equal(selections[0], selections[1])  # a new pool U each round


def test_static_selection_never_changes_after_warmup(tmp_path) -> None:
    recorder, records = _train(tmp_path, "static")
    assert [r["epoch"] for r in records] == [1] and [lv["clusters"] for lv in records[0]["levels"]] == [12, 3]
    assert len(recorder.per_epoch[0]) == 240 and len(recorder.per_epoch) == 3
    for later in recorder.per_epoch[2:]:
        np.testing.assert_array_equal(later, recorder.per_epoch[1])
    assert len(recorder.per_epoch[1]) == 60
