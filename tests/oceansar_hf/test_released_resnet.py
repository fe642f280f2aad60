"""Loading the released OceanSAR-1 format (transformers ResNetModel / ResNetForImageClassification, 1 channel)."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import ResNetConfig, ResNetForImageClassification, ResNetModel

from oceansar_hf import OceanSARForImageClassification, OceanSARModel, from_released_resnet


def randomise_batch_norm(model: torch.nn.Module) -> None:
    """Give BatchNorm non-trivial statistics so that a key mix-up cannot go unnoticed."""
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.5)


def test_resnet50_base_folder_gives_same_outputs(tmp_path):
    original = ResNetModel(ResNetConfig(num_channels=1)).eval()
    randomise_batch_norm(original)
    original.save_pretrained(tmp_path)
    converted = from_released_resnet(tmp_path)
    assert type(converted) is OceanSARModel and converted.config.num_features == 2048
    x = torch.randn(2, 1, 96, 96)
    with torch.no_grad():
        expected = original(x).pooler_output
        got = converted(x).pooler_output
    assert expected.shape == (2, 2048, 1, 1) and got.shape == (2, 2048)
    torch.testing.assert_close(got, expected.flatten(1), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("task", "label"), [("wave", "wave_height"), ("wind", "wind_speed")])
def test_regression_head_folder_gives_same_outputs(tmp_path, task, label):
    config = ResNetConfig(
        num_channels=1,
        embedding_size=16,
        hidden_sizes=[16, 32, 64, 128],
        depths=[1, 1, 1, 1],
        num_labels=1,
        problem_type="regression",
        id2label={0: label},
        label2id={label: 0},
        finetuning_task=task,
    )
    original = ResNetForImageClassification(config).eval()
    randomise_batch_norm(original)
    original.save_pretrained(tmp_path)
    assert "classifier.1.weight" in load_file(tmp_path / "model.safetensors")
    converted = from_released_resnet(tmp_path)
    assert type(converted) is OceanSARForImageClassification
    assert converted.config.problem_type == "regression" and converted.config.id2label == {0: label}
    x = torch.randn(3, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(converted(x).logits, original(x).logits, atol=1e-5, rtol=1e-5)


def test_state_dict_pair_and_mismatch_errors(tmp_path):
    config = ResNetConfig(num_channels=1, embedding_size=16, hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 1, 1])
    state = ResNetModel(config).state_dict()
    model = from_released_resnet((config, state))
    assert model.config.hidden_sizes == [16, 32, 64, 128]
    broken = dict(state)
    broken.pop("embedder.embedder.convolution.weight")
    broken["encoder.stages.0.layers.0.layer.0.normalization.weight"] = torch.ones(3)
    broken["extra.weight"] = torch.ones(1)
    with pytest.raises(ValueError) as error:
        from_released_resnet((config, broken))
    message = str(error.value)
    assert "embedder.embedder.convolution.weight" in message and "extra.weight" in message
    assert "encoder.stages.0.layers.0.layer.0.normalization.weight: checkpoint (3,)" in message


def test_not_a_resnet_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        from_released_resnet(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "vit"}')
    save_file({"a": torch.zeros(1)}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="model_type 'resnet'"):
        from_released_resnet(tmp_path)
