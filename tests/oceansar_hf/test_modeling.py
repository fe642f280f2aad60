"""OceanSARModel / OceanSARForImageClassification: shapes, parameter counts, heads, bad input."""

from __future__ import annotations

import pytest
import torch

from oceansar_hf import OceanSARConfig, OceanSARForImageClassification, OceanSARModel, task_config

torch.manual_seed(0)


@pytest.mark.parametrize(
    ("backbone", "dim", "last_shape"),
    [
        ("resnet50", 2048, (2048, 2, 2)),
        ("resnet_tiny", 256, (256, 2, 2)),
        ("vit_small_patch16", 384, (1 + 16, 384)),
        ("vit_small_patch8", 384, (1 + 64, 384)),
        ("vit_base_patch8", 768, (1 + 64, 768)),
        ("vit_tiny_patch8", 192, (1 + 64, 192)),
    ],
)
def test_preset_output_shapes(backbone, dim, last_shape):
    overrides = {"num_hidden_layers": 2} if backbone.startswith("vit") else {}
    model = OceanSARModel(OceanSARConfig(backbone=backbone, image_size=64, **overrides)).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, 64, 64), output_hidden_states=True)
    assert out.pooler_output.shape == (2, dim)
    assert out.last_hidden_state.shape == (2, *last_shape)
    assert torch.isfinite(out.pooler_output).all()
    assert len(out.hidden_states) == (5 if backbone.startswith("resnet") else 3)


def test_resnet50_parameter_count():
    model = OceanSARModel(OceanSARConfig(backbone="resnet50"))
    assert sum(p.numel() for p in model.parameters()) == 23_501_760


def test_resnet_pooler_is_flat_global_average():
    model = OceanSARModel(OceanSARConfig(backbone="resnet_tiny")).eval()
    with torch.no_grad():
        out = model(torch.randn(3, 1, 64, 64))
    torch.testing.assert_close(out.pooler_output, out.last_hidden_state.mean(dim=(2, 3)))


def test_vit_pooler_is_normed_cls_and_other_sizes_interpolate():
    model = OceanSARModel(OceanSARConfig(backbone="vit_tiny_patch8", image_size=64, num_hidden_layers=2)).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, 64, 64))
        other = model(torch.randn(2, 1, 96, 80))
    torch.testing.assert_close(out.pooler_output, out.last_hidden_state[:, 0])
    assert not hasattr(model, "pooler")
    assert other.last_hidden_state.shape == (2, 1 + 12 * 10, 192)


def test_channels_last_does_not_change_outputs():
    config = OceanSARConfig(backbone="resnet_tiny", channels_last=False)
    model = OceanSARModel(config).eval()
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        reference = model(x).pooler_output
        model.config.channels_last = True
        fast = model(x).pooler_output
    torch.testing.assert_close(fast, reference, atol=1e-5, rtol=1e-5)


def test_classification_head_loss():
    model = OceanSARForImageClassification(task_config("tengeop", backbone="resnet_tiny"))
    out = model(torch.randn(4, 1, 64, 64), labels=torch.tensor([0, 3, 9, 2]))
    assert out.logits.shape == (4, 10)
    expected = torch.nn.functional.cross_entropy(out.logits, torch.tensor([0, 3, 9, 2]))
    torch.testing.assert_close(out.loss, expected)
    out.loss.backward()
    assert model.classifier.weight.grad is not None


@pytest.mark.parametrize("task", ["wave", "wind"])
def test_regression_heads(task):
    model = OceanSARForImageClassification(task_config(task, backbone="vit_tiny_patch8", image_size=64))
    targets = torch.tensor([1.5, 3.0])
    out = model(torch.randn(2, 1, 64, 64), labels=targets)
    assert out.logits.shape == (2, 1)
    torch.testing.assert_close(out.loss, torch.nn.functional.mse_loss(out.logits.squeeze(-1), targets))


def test_three_channel_input_is_refused():
    model = OceanSARModel(OceanSARConfig(backbone="resnet_tiny"))
    with pytest.raises(ValueError, match="1-channel input.*3 channels"):
        model(torch.randn(1, 3, 64, 64))


def test_two_d_input_is_refused():
    model = OceanSARModel(OceanSARConfig(backbone="vit_tiny_patch8", image_size=64))
    with pytest.raises(ValueError, match="4-D tensor.*OceanSARImageProcessor"):
        model(torch.randn(64, 64))


def test_vit_input_not_a_multiple_of_the_patch_size_is_refused_not_cropped():
    """Issue 12: a 250-px input to a patch-16 ViT used to lose its last 10 px silently."""
    model = OceanSARModel(OceanSARConfig(backbone="vit_tiny_patch8", image_size=64, num_hidden_layers=1))
    with pytest.raises(ValueError, match=r"8 x 8 patches, but pixel_values is 60 x 64.*size=64"):
        model(torch.randn(1, 1, 60, 64))
    with pytest.raises(ValueError, match="not a multiple of 8"):
        model(torch.randn(1, 1, 4, 4))  # smaller than one patch
    with pytest.raises(ValueError, match="no image"):
        model(torch.randn(0, 1, 64, 64))


def test_tuple_outputs():
    model = OceanSARModel(OceanSARConfig(backbone="resnet_tiny")).eval()
    with torch.no_grad():
        last, pooled = model(torch.randn(1, 1, 64, 64), return_dict=False)
    assert pooled.shape == (1, 256) and last.ndim == 4


def test_vit_mask_token_replaces_only_masked_patches():
    config = OceanSARConfig(backbone="vit_tiny_patch8", image_size=32, num_hidden_layers=1)
    model = OceanSARModel(config, use_mask_token=True).eval()
    assert model.embeddings.mask_token.shape == (1, 1, 192) and not model.embeddings.mask_token.any()
    torch.nn.init.normal_(model.embeddings.mask_token)
    x = torch.randn(2, 1, 32, 32)
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[0, 3] = True
    with torch.no_grad():
        plain = model.embeddings(x)
        masked = model.embeddings(x, bool_masked_pos=mask)
        out = model(x, bool_masked_pos=mask)
    changed = (plain - masked).abs().sum(-1) > 0  # (B, 1 + N): CLS first
    assert changed[0, 4] and changed.sum() == 1
    assert out.last_hidden_state.shape == (2, 17, 192)
    with pytest.raises(ValueError, match="shape"):
        model(x, bool_masked_pos=mask[:, :8])
    with pytest.raises(ValueError, match="use_mask_token=True"):
        OceanSARModel(config)(x, bool_masked_pos=mask)
    with pytest.raises(ValueError, match="ViT backbones only"):
        OceanSARModel(OceanSARConfig(backbone="resnet_tiny"), use_mask_token=True)
