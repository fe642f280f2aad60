"""PruningCallback in real training runs: schedule, selection, diagnostics, resume, two processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.training.test_trainer import run, tiny_config
from training.pruning.callback import PruningCallback, PruningConfig
from training.pruning.sampling import SelectionConfig

PRUNING = {
    "synthetic_num_samples": 240,
    "epochs": 4,
    "pruning": True,
    "pruning_warmup_epochs": 1,
    "pruning_every_epochs": 2,
    "pruning_rho": 0.25,
    "pruning_clusters": [12, 3],
    "pruning_sample_size": [4, 2],
    "pruning_resampling_steps": [2, 2],
}


def test_schedule_of_rounds():
    callback = PruningCallback(PruningConfig(warmup_epochs=3, every_epochs=2), SelectionConfig(), Path("unused"))
    assert [e for e in range(10) if callback.is_due(e)] == [3, 5, 7, 9]
    with pytest.raises(ValueError, match="pruning_every_epochs"):
        PruningConfig(every_epochs=0)


def test_rounds_select_rho_of_the_archive_and_log_diagnostics(tmp_path):
    out = tmp_path / "run"
    run(tiny_config(tmp_path, output_dir=str(out), **PRUNING))
    records = [json.loads(line) for line in (out / "pruning" / "pruning_log.jsonl").read_text().splitlines()]
    assert [(r["round"], r["epoch"]) for r in records] == [(0, 1), (1, 3)]
    for record in records:
        assert record["selected"] == record["target"] == 60  # rho 0.25 of 240
        assert record["embedded"] == 120  # default subset: 2·rho·N
        assert [level["clusters"] for level in record["levels"]] == [12, 3]
        assert sum(record["selected_class_histogram"]) == 60 and sum(record["archive_class_histogram"]) == 240
        for key in ("embed_s", "clustering_s", "sampling_s", "share_of_epoch", "selected_label_entropy"):
            assert record[key] is not None and np.isfinite(record[key]), key
    assert (out / "pruning" / "round_00.png").stat().st_size > 10_000
    train = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {r["active_images"] for r in train if r["epoch"] == 0} == {240}
    assert {r["active_images"] for r in train if r["epoch"] >= 1} == {60}


def test_pruning_that_never_fires_leaves_training_unchanged(tmp_path):
    plain, late = tmp_path / "plain", tmp_path / "late"
    run(tiny_config(tmp_path, output_dir=str(plain), epochs=2, synthetic_num_samples=PRUNING["synthetic_num_samples"]))
    run(tiny_config(tmp_path, output_dir=str(late), **{**PRUNING, "epochs": 2, "pruning_warmup_epochs": 5}))
    a = load_file(plain / "final_model" / "model.safetensors")
    b = load_file(late / "final_model" / "model.safetensors")
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=0)


def test_resume_restores_the_selection(tmp_path):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    run(tiny_config(tmp_path, output_dir=str(straight), **PRUNING))
    # stop inside epoch 2, after round 0 selected the training set at the start of epoch 1
    argv = tiny_config(tmp_path, output_dir=str(broken), save_every_steps=7, stop_after_steps=7, **PRUNING)
    assert run(argv) is None
    run([*tiny_config(tmp_path, output_dir=str(broken), **PRUNING), "--resume", "latest"])
    for name in ("model.safetensors", "model_1.safetensors"):
        a = load_file(straight / "checkpoints" / "checkpoint-00000012" / name)
        b = load_file(broken / "checkpoints" / "checkpoint-00000012" / name)
        for key in a:
            torch.testing.assert_close(b[key], a[key], rtol=0, atol=0, msg=f"{name}:{key}")
    rounds = [json.loads(line)["round"] for line in (broken / "pruning" / "pruning_log.jsonl").read_text().splitlines()]
    assert rounds == [0, 1]


def test_two_processes_train_on_the_same_selection(tmp_path):
    out = tmp_path / "ddp"
    argv = tiny_config(tmp_path, output_dir=str(out), **{**PRUNING, "epochs": 2})
    config = Path(__file__).resolve().parents[2] / "training" / "configs" / "accelerate" / "multi_cpu.yaml"
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config)]
    launch += ["--main_process_port", str(30500 + os.getpid() % 1000)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [*launch, "-m", "training.pretrain", *argv], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "num_processes=2" in result.stderr
    record = json.loads((out / "pruning" / "pruning_log.jsonl").read_text().splitlines()[0])
    assert record["selected"] == 60 and record["embedded"] == 120  # gathered from both processes, de-duplicated


def test_active_set_epochs_shorten_after_pruning_and_end_at_the_planned_step(tmp_path):
    """epoch_length: active_set — an epoch is one pass over what is trained on: the 240-image archive (8 steps here)
    before T_w, the ρ = 0.25 selection after it (2 steps), planned up front; the run ends at the planned total."""
    out = tmp_path / "run"
    run(tiny_config(tmp_path, output_dir=str(out), epoch_length="active_set", steps_per_epoch=8, **PRUNING))
    train = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps_per_epoch = {e: sum(1 for r in train if r["kind"] == "train" and r["epoch"] == e) for e in range(4)}
    assert steps_per_epoch == {0: 8, 1: 2, 2: 2, 3: 2}  # 8 · 60/240 = 2 steps once pruning selects 60 of 240
    assert train[-1]["step"] == 14
    assert json.loads((out / "final_model" / "config.json").read_text())["oceansar_training"]["global_step"] == 14


def test_resume_under_active_set_epochs_is_exact(tmp_path):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    settings = {**PRUNING, "epoch_length": "active_set", "steps_per_epoch": 8}
    run(tiny_config(tmp_path, output_dir=str(straight), **settings))
    assert (
        run(tiny_config(tmp_path, output_dir=str(broken), save_every_steps=9, stop_after_steps=9, **settings)) is None
    )
    run([*tiny_config(tmp_path, output_dir=str(broken), **settings), "--resume", "latest"])
    a = load_file(straight / "final_model" / "model.safetensors")
    b = load_file(broken / "final_model" / "model.safetensors")
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=0, msg=key)


def test_a_round_embeds_in_the_precision_asked_for(tmp_path):
    out = tmp_path / "run"
    run(tiny_config(tmp_path, output_dir=str(out), **{**PRUNING, "epochs": 2, "pruning_embed_dtype": "bfloat16"}))
    record = json.loads((out / "pruning" / "pruning_log.jsonl").read_text().splitlines()[0])
    assert record["embed_dtype"] == "bfloat16" and record["selected"] == 60
    with pytest.raises(ValueError, match="pruning_embed_dtype"):
        PruningConfig(embed_dtype="int8")
