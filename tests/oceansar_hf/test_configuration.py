"""OceanSARConfig: presets at the published shapes, overrides, and clear errors."""

from __future__ import annotations

import pytest

from oceansar_hf import BACKBONE_PRESETS, OceanSARConfig, task_config


@pytest.mark.parametrize(
    ("backbone", "features", "layers", "heads", "patch"),
    [
        ("resnet50", 2048, None, None, None),
        ("vit_small_patch16", 384, 12, 6, 16),
        ("vit_small_patch8", 384, 12, 6, 8),
        ("vit_base_patch8", 768, 12, 12, 8),
    ],
)
def test_published_presets(backbone, features, layers, heads, patch):
    config = OceanSARConfig(backbone=backbone)
    assert config.num_features == features
    assert config.num_channels == 1 and config.image_size == 256
    if layers is not None:
        assert (config.num_hidden_layers, config.num_attention_heads, config.patch_size) == (layers, heads, patch)
        assert config.layer_norm_eps == 1e-6
        assert config.hidden_sizes is None
    else:
        assert config.hidden_sizes == [256, 512, 1024, 2048] and config.depths == [3, 4, 6, 3]
        assert config.hidden_size is None


def test_overrides_and_round_trip(tmp_path):
    config = OceanSARConfig(backbone="vit_small_patch16", num_hidden_layers=2, image_size=128)
    assert config.num_hidden_layers == 2 and config.hidden_size == 384
    config.save_pretrained(tmp_path)
    loaded = OceanSARConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()


def test_small_presets_exist():
    assert {"resnet_tiny", "vit_tiny_patch8"} <= set(BACKBONE_PRESETS)
    assert 2 <= OceanSARConfig(backbone="vit_tiny_patch8").num_hidden_layers <= 4


def test_unknown_backbone_names_valid_choices():
    with pytest.raises(ValueError, match="resnet50.*vit_base_patch8|vit_base_patch8.*resnet50"):
        OceanSARConfig(backbone="resnet51")


def test_bad_channels_and_patch_size():
    with pytest.raises(ValueError, match="num_channels"):
        OceanSARConfig(num_channels=0)
    with pytest.raises(ValueError, match="patch_size 16 does not divide image_size 250"):
        OceanSARConfig(backbone="vit_small_patch16", image_size=250)


def test_task_configs():
    tengeop = task_config("tengeop", backbone="resnet_tiny")
    assert tengeop.num_labels == 10 and tengeop.problem_type == "single_label_classification"
    assert tengeop.id2label[0] == "pure ocean waves" and tengeop.id2label[9] == "oceanic front"
    wave = task_config("wave", backbone=OceanSARConfig(backbone="vit_tiny_patch8", num_hidden_layers=2))
    assert wave.num_labels == 1 and wave.problem_type == "regression" and wave.id2label == {0: "wave_height"}
    assert wave.num_hidden_layers == 2
    assert task_config("wind").id2label == {0: "wind_speed"}
    with pytest.raises(ValueError, match="valid tasks"):
        task_config("salinity")
