"""Builders shared by the conversion tests: tiny training checkpoints, exported folders and probe results on disk."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from oceansar_hf import (
    TASKS,
    OceanSARConfig,
    OceanSARForImageClassification,
    OceanSARImageProcessor,
    OceanSARModel,
    task_config,
)
from oceansar_hf.probe_results import ProbeResults

TEST_SIZE = 64


def randomise(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Seeded weights everywhere and non-trivial BatchNorm statistics, so that any key mix-up changes the outputs."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif name.endswith(("running_mean", "bias")):
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.1)
            elif tensor.ndim == 1:  # normalisation scales
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            else:
                fan_in = max(1, tensor[0].numel())
                tensor.copy_(torch.randn(tensor.shape, generator=generator) / fan_in**0.5)
    return model.eval()


def make_training_checkpoint(run_dir: Path, backbone: str = "resnet_tiny", step: int = 10) -> tuple[Path, dict]:
    """A checkpoint folder laid out like the trainer's; returns it and {"student": model, "teacher": model}."""
    config = OceanSARConfig(backbone=backbone, image_size=TEST_SIZE)
    models = {"student": randomise(OceanSARModel(config), 1), "teacher": randomise(OceanSARModel(config), 2)}
    checkpoint = run_dir / "checkpoints" / f"checkpoint-{step:08d}"
    checkpoint.mkdir(parents=True)
    for branch, file in (("student", "model.safetensors"), ("teacher", "model_1.safetensors")):
        tensors = {f"backbone.{k}": v.contiguous() for k, v in models[branch].state_dict().items()}
        tensors["head.mlp.0.weight"] = torch.randn(16, config.num_features)
        tensors["head.last_layer.parametrizations.weight.original1"] = torch.randn(32, 16)
        save_file(tensors, str(checkpoint / file))
    (checkpoint / "oceansar_config.json").write_text(config.to_json_string())
    OceanSARImageProcessor(size=TEST_SIZE, image_mean=35.0, image_std=5.0).save_pretrained(checkpoint)
    (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return checkpoint, models


def export_folder(folder: Path, task: str | None = None) -> OceanSARModel | OceanSARForImageClassification:
    """A tiny exported folder: an `OceanSARModel` (task None) or a task head, plus the image processor."""
    if task is None:
        model = OceanSARModel(OceanSARConfig(backbone="resnet_tiny", image_size=TEST_SIZE))
    else:
        model = OceanSARForImageClassification(task_config(task, backbone="resnet_tiny", image_size=TEST_SIZE))
    model = randomise(model, 3)
    model.save_pretrained(folder)
    OceanSARImageProcessor(size=TEST_SIZE).save_pretrained(folder)
    return model


def probe_results(task: str, synthetic: bool = True) -> dict:
    """A valid probe results record for `task`, written by the schema itself (`ProbeResults.to_dict`)."""
    metrics = (
        {"accuracy": 0.625, "knn_accuracy": 0.5} if task == "tengeop" else {"rmse": 0.71, "mae": 0.52, "bias": -0.04}
    )
    results = ProbeResults(
        task, "outputs/demo/export", "synthetic-wv", "test", 320, synthetic, metrics, TASKS[task]["unit"]
    )
    return results.to_dict()


class Payload:
    """An object whose unpickling calls ``function(argument)``: how a malicious checkpoint runs code."""

    def __init__(self, function, argument: str) -> None:
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path
