"""The trainer with the DINOv2 recipe on (iBOT, KoLeo, Sinkhorn-Knopp, layer decay, drop path): a tiny ViT run with a
pruning round, exact resume, the exported model, and a 2-process `accelerate launch` whose targets are global."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import REPO_ROOT
from tests.training.test_trainer import run, tiny_config

RECIPE = {
    "backbone": "vit_tiny_patch8",  # 32-px global crops: a 4 × 4 patch grid
    "ibot_loss_weight": 1.0,
    "ibot_teacher_temp": 0.07,
    "koleo_weight": 0.1,
    "layer_decay": 0.9,
    "patch_embed_lr_mult": 0.2,
    "drop_path_rate": 0.1,
    "synthetic_num_samples": 96,
    "epochs": 2,
    "steps_per_epoch": 2,
    "pruning": True,  # one round at the start of epoch 1: the callback embeds with the teacher's CLS output
    "pruning_warmup_epochs": 1,
    "pruning_every_epochs": 2,
    "pruning_rho": 0.5,
    "pruning_clusters": [6, 2],
    "pruning_sample_size": [4, 2],
    "pruning_resampling_steps": [1, 1],
}


def test_recipe_run_logs_each_term_resumes_exactly_and_exports_a_plain_model(tmp_path):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    final = run(tiny_config(tmp_path, output_dir=str(straight), **RECIPE))
    records = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if r.get("kind", "train") == "train"]
    assert [r["step"] for r in train] == [1, 2, 3, 4]
    for r in train:
        for key in ("loss", "dino_loss", "ibot_loss", "koleo_loss", "ibot_teacher_entropy", "ibot_teacher_temp"):
            assert np.isfinite(r[key]), key
        assert r["loss"] == pytest.approx(r["dino_loss"] + r["ibot_loss"] + 0.1 * r["koleo_loss"], rel=1e-5)
    assert {r["active_images"] for r in train if r["epoch"] == 1} == {48}  # the pruning round selected ρ·N
    pruning = json.loads((straight / "pruning" / "pruning_log.jsonl").read_text().splitlines()[0])
    assert pruning["selected"] == 48

    argv = tiny_config(tmp_path, output_dir=str(broken), save_every_steps=3, stop_after_steps=3, **RECIPE)
    assert run(argv) is None
    run([*tiny_config(tmp_path, output_dir=str(broken), **RECIPE), "--resume", "latest"])
    for name in ("model.safetensors", "model_1.safetensors", "trainer_tensors.safetensors"):
        a = load_file(straight / "checkpoints" / "checkpoint-00000004" / name)
        b = load_file(broken / "checkpoints" / "checkpoint-00000004" / name)
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(b[key], a[key], rtol=0, atol=0, msg=f"{name}:{key}")
    tensors = load_file(straight / "checkpoints" / "checkpoint-00000004" / "trainer_tensors.safetensors")
    assert {"state.criterion.dino.center", "state.criterion.ibot.center"} <= set(tensors)
    teacher = load_file(straight / "checkpoints" / "checkpoint-00000004" / "model_1.safetensors")
    assert "backbone.embeddings.mask_token" in teacher  # trained with the mask token

    from transformers import AutoModel

    from conversion.from_training_checkpoint import load_checkpoint_backbone

    assert "embeddings.mask_token" not in load_file(final / "model.safetensors")  # training-only token not exported
    exported = AutoModel.from_pretrained(final).eval()
    converted, _ = load_checkpoint_backbone(straight / "checkpoints" / "checkpoint-00000004")
    pixels = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(exported(pixels).pooler_output, converted(pixels).pooler_output)


def test_vit_only_options_are_refused_for_a_resnet(tmp_path):
    from training.config import parse_config
    from training.trainer import Trainer

    with pytest.raises(ValueError, match="ibot_loss_weight .* ViT backbones only"):
        Trainer(parse_config(tiny_config(tmp_path, ibot_loss_weight=1.0)))
    with pytest.raises(ValueError, match="layer_decay, drop_path_rate apply to ViT"):
        Trainer(parse_config(tiny_config(tmp_path, layer_decay=0.9, drop_path_rate=0.1)))


LAUNCHED = textwrap.dedent(
    """
    import sys, torch
    from training.callbacks import TrainerCallback
    from training.config import parse_config
    from training.pretrain import build_callbacks
    from training.trainer import Trainer

    class SaveTargets(TrainerCallback):
        def on_train_end(self, trainer):  # before the process group is destroyed
            rank = trainer.accelerator.process_index
            logits = torch.randn(5 + 3 * rank, 64, generator=torch.Generator().manual_seed(rank))
            logits[:, 0] += 3.0 * (rank == 0)
            saved = {"logits": logits, "processes": trainer.accelerator.num_processes}
            saved["dino"], _ = trainer.criterion.dino.targets(logits, 0.1)
            saved["ibot"], _ = trainer.criterion.ibot.targets(logits, 0.1)
            saved["student"] = trainer.accelerator.unwrap_model(trainer.student).state_dict()
            torch.save(saved, f"{sys.argv[1]}/rank{rank}.pt")

    config = parse_config(sys.argv[2:])
    Trainer(config, [*build_callbacks(config), SaveTargets()]).train()
    """
)


def test_two_process_launch_makes_sinkhorn_targets_global(tmp_path):
    from training.dino import sinkhorn_knopp

    out = tmp_path / "ddp"
    argv = tiny_config(
        tmp_path, output_dir=str(out), **{**RECIPE, "epochs": 1, "pruning": False}, centering="sinkhorn_knopp"
    )
    script = tmp_path / "launched.py"
    script.write_text(LAUNCHED)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    accelerate_config = REPO_ROOT / "training" / "configs" / "accelerate" / "multi_cpu.yaml"
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_config)]
    launch += ["--main_process_port", str(28500 + os.getpid() % 1000)]
    result = subprocess.run(
        [*launch, str(script), str(tmp_path), *argv], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(2)]
    assert [r["processes"] for r in ranks] == [2, 2]
    union = torch.cat([r["logits"] for r in ranks])
    expected = sinkhorn_knopp(union, 0.1, 3)  # one process over both batches
    for key in ("dino", "ibot"):
        torch.testing.assert_close(torch.cat([r[key] for r in ranks]), expected)
    assert not torch.allclose(ranks[0]["dino"], sinkhorn_knopp(ranks[0]["logits"], 0.1, 3))  # not per-process
    for key, value in ranks[0]["student"].items():  # DDP kept the students identical
        torch.testing.assert_close(ranks[1]["student"][key], value, rtol=0, atol=0, msg=key)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["ibot_loss"]) and np.isfinite(r["koleo_loss"]) for r in records if "ibot_loss" in r)


@pytest.mark.parametrize("name", ["vit_small_patch16_dinov2", "demo_dinov2"])
def test_shipped_recipe_configs_turn_every_option_on(name):
    from training.config import parse_config

    config = parse_config(["--config", name])
    assert config.model.backbone.startswith("vit_") and config.pruning.pruning
    assert config.ibot.loss_weight == 1.0 and config.dinov2.koleo_weight == 0.1
    assert config.dinov2.centering == "sinkhorn_knopp" and config.dinov2.layer_decay == 0.9
    assert config.dinov2.drop_path_rate > 0 and config.masking.ratio == [0.1, 0.5]
