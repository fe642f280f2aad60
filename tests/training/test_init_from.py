"""Continued pretraining (`--init_from`): released OceanSAR-1 format, OceanSAR and native ViT folders, refusals."""

from __future__ import annotations

import pytest
import torch
from transformers import ResNetConfig, ResNetModel, ViTConfig, ViTModel

from oceansar_hf import OceanSARConfig, OceanSARModel
from tests.conversion import randomise
from tests.training.test_trainer import tiny_config
from training.build import build_backbone
from training.config import ModelArguments, parse_config
from training.pretrain import build_callbacks
from training.trainer import Trainer


def released_resnet_tiny(folder) -> ResNetModel:
    """A released-format folder (plain transformers ResNetModel, 1 channel) with resnet_tiny's architecture."""
    config = ResNetConfig(
        num_channels=1, embedding_size=32, hidden_sizes=[32, 64, 128, 256], depths=[1, 1, 1, 1], layer_type="basic"
    )
    model = randomise(ResNetModel(config), 11)
    model.save_pretrained(folder)
    return model


def test_run_from_a_released_folder_starts_from_its_weights(tmp_path):
    source = released_resnet_tiny(tmp_path / "released")
    out = tmp_path / "run"
    config = parse_config(
        [*tiny_config(tmp_path, epochs=1, output_dir=str(out)), "--init_from", str(tmp_path / "released")]
    )
    trainer = Trainer(config, build_callbacks(config))
    x = torch.randn(4, 1, 32, 32)
    with torch.no_grad():
        expected = source(x).pooler_output.flatten(1)
        teacher = trainer.teacher_backbone.eval()(x).pooler_output
        student = trainer.accelerator.unwrap_model(trainer.student).backbone.eval()(x).pooler_output
    torch.testing.assert_close(teacher, expected, rtol=0, atol=1e-5)  # the first step's teacher is the source
    torch.testing.assert_close(student, expected, rtol=0, atol=1e-5)
    trainer.accelerator.unwrap_model(trainer.student).train()
    assert trainer.train() is not None  # and the run trains from there
    with torch.no_grad():
        after = trainer.teacher_backbone.eval()(x).pooler_output
    assert not torch.allclose(after, expected, atol=1e-6)


def test_oceansar_and_native_vit_folders_initialise_the_backbone(tmp_path):
    oceansar = randomise(OceanSARModel(OceanSARConfig(backbone="resnet_tiny", image_size=32)), 4)
    oceansar.save_pretrained(tmp_path / "oceansar")
    vit_config = ViTConfig(
        hidden_size=192, num_hidden_layers=4, num_attention_heads=3, intermediate_size=768, patch_size=8,
        image_size=32, num_channels=1, layer_norm_eps=1e-6,
    )  # fmt: skip
    native = randomise(ViTModel(vit_config), 5)  # with its pooler, which is dropped
    native.save_pretrained(tmp_path / "vit")
    x = torch.randn(2, 1, 32, 32)
    for folder, backbone, reference in (
        ("oceansar", "resnet_tiny", lambda: oceansar(x).pooler_output),
        ("vit", "vit_tiny_patch8", lambda: native(x).last_hidden_state[:, 0]),
    ):
        model = build_backbone(ModelArguments(backbone=backbone, input_size=32, init_from=str(tmp_path / folder)))
        with torch.no_grad():
            torch.testing.assert_close(model.eval()(x).pooler_output, reference(), rtol=0, atol=1e-5)


def test_a_source_of_another_architecture_is_refused_naming_the_fields(tmp_path):
    released_resnet_tiny(tmp_path / "released")
    with pytest.raises(ValueError, match=r"holds a resnet backbone but the run trains a vit"):
        build_backbone(ModelArguments(backbone="vit_tiny_patch8", input_size=32, init_from=str(tmp_path / "released")))
    with pytest.raises(ValueError, match=r"hidden_sizes \[32, 64, 128, 256\] \(run: \[256, 512, 1024, 2048\]\)"):
        build_backbone(ModelArguments(backbone="resnet50", input_size=32, init_from=str(tmp_path / "released")))
    OceanSARModel(OceanSARConfig(backbone="vit_tiny_patch8", image_size=64)).save_pretrained(tmp_path / "vit64")
    with pytest.raises(ValueError, match=r"image_size 64 \(run: 32\).*set --input_size"):
        build_backbone(ModelArguments(backbone="vit_tiny_patch8", input_size=32, init_from=str(tmp_path / "vit64")))
    with pytest.raises(ValueError, match="neither a folder nor a Hub repo id"):
        build_backbone(ModelArguments(backbone="resnet_tiny", input_size=32, init_from=str(tmp_path / "missing")))
