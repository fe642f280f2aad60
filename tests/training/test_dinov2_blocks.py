"""The DINOv2 recipe's non-loss blocks: block-wise masking, layer-wise learning-rate decay, drop path, the model."""

import math

import numpy as np
import pytest
import torch

from oceansar_hf import OceanSARConfig, OceanSARModel
from training.dino import (
    LR_SCALE_KEY,
    BlockMaskGenerator,
    DINOHead,
    DINOModel,
    DINOv2Model,
    MaskingConfig,
    StochasticDepth,
    apply_to_optimizer,
    drop_path_rates,
    param_groups,
    vit_lr_scale,
)


def _grid(mask: torch.Tensor, side: int) -> np.ndarray:
    return mask.view(side, side).numpy()


def test_masks_follow_share_and_stratified_ratios():
    config = MaskingConfig(ratio=[0.1, 0.5], probability=0.5)
    generator = BlockMaskGenerator(config, (14, 14))
    masks = generator(64, np.random.default_rng(0))
    assert masks.shape == (64, 196) and masks.dtype == torch.bool
    counts = masks.sum(dim=1)
    assert int((counts > 0).sum()) == 32  # int(64 · 0.5) images masked
    masked = counts[counts > 0].float() / 196
    assert masked.max() <= 0.5 and masked.min() >= 0.05
    # stratified: sorted ratios fill the range, one per bin of width 0.4/32 (blocks may fall a little short)
    targets = np.linspace(0.1, 0.5, 33)
    ratios = np.sort(masked.numpy())
    assert np.mean(ratios <= targets[1:]) == 1.0
    assert np.mean(ratios >= targets[:-1] - 0.03) >= 0.9
    again = generator(64, np.random.default_rng(0))
    assert torch.equal(masks, again)  # the seed reproduces the masks
    assert not torch.equal(masks, generator(64, np.random.default_rng(1)))


def test_blocks_follow_the_aspect_range():
    # target 40 patches, blocks of >= 40: the first block is the whole mask unless rounding h·w overshoots the target
    config = MaskingConfig(ratio=[0.1, 0.1], probability=1.0, min_block_patches=40, min_aspect=0.5, max_aspect=2.0)
    generator = BlockMaskGenerator(config, (20, 20))
    aspects = []
    for mask in generator(200, np.random.default_rng(3)):
        grid = _grid(mask, 20)
        assert 0 < grid.sum() <= 40
        rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
        height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        if grid.sum() == height * width:  # a single block
            aspects.append(height / width)
    assert len(aspects) >= 50
    # h and w are rounded to integers, which widens the range a little around [0.5, 2]
    assert min(aspects) >= 0.5 * 5 / 7 and max(aspects) <= 2.0 * 7 / 5
    assert min(aspects) < 0.8 and max(aspects) > 1.25  # both orientations occur
    square = BlockMaskGenerator(
        MaskingConfig(ratio=[0.09, 0.09], probability=1.0, min_block_patches=36, min_aspect=1.0), (20, 20)
    )
    for mask in square(20, np.random.default_rng(0)):
        grid = _grid(mask, 20)
        assert grid.sum() == 36 and grid.any(axis=0).sum() == grid.any(axis=1).sum() == 6


def test_masking_config_rejects_bad_values():
    with pytest.raises(ValueError, match="lo <= hi"):
        MaskingConfig(ratio=[0.5, 0.1])
    with pytest.raises(ValueError, match="min_aspect <= max_aspect"):
        MaskingConfig(min_aspect=2.0, max_aspect=1.0)


def _vit(**kwargs) -> OceanSARModel:
    return OceanSARModel(OceanSARConfig(backbone="vit_tiny_patch8", image_size=32), **kwargs)


def test_layer_decay_factors_per_layer():
    backbone = _vit(use_mask_token=True)
    layers = backbone.config.num_hidden_layers
    student = DINOModel(backbone, DINOHead(backbone.config.num_features, 16, 16, 8, 2, False, True))
    scale = vit_lr_scale(layers, layer_decay=0.8, patch_embed_lr_mult=0.2)
    expected = {
        "backbone.embeddings.cls_token": 0.8 ** (layers + 1),
        "backbone.embeddings.mask_token": 0.8 ** (layers + 1),
        "backbone.embeddings.position_embeddings": 0.8 ** (layers + 1),
        "backbone.embeddings.patch_embeddings.projection.weight": 0.2 * 0.8 ** (layers + 1),
        "backbone.layers.0.attention.q_proj.weight": 0.8**layers,
        f"backbone.layers.{layers - 1}.mlp.fc1.bias": 0.8,
        "backbone.layernorm.weight": 1.0,
        "head.mlp.0.weight": 1.0,
    }
    for name, factor in expected.items():
        assert scale(name) == pytest.approx(factor), name
    groups = param_groups(student, weight_decay=0.04, lr_scale=scale)
    owner = {id(p): n for n, p in student.named_parameters()}
    for group in groups:
        for param in group["params"]:
            assert group[LR_SCALE_KEY] == pytest.approx(scale(owner[id(param)]))
    assert sum(len(g["params"]) for g in groups) == sum(1 for p in student.parameters() if p.requires_grad)
    optimizer = torch.optim.AdamW(groups, lr=0.0)
    apply_to_optimizer(optimizer, lr=1e-3, weight_decay=0.1)
    assert sorted({round(g["lr"] / 1e-3, 9) for g in optimizer.param_groups}) == sorted(
        {round(v, 9) for v in (*[0.8**k for k in range(layers + 2)], 0.2 * 0.8 ** (layers + 1))}
    )
    plain = param_groups(student, weight_decay=0.04)
    assert len(plain) == 2 and all(LR_SCALE_KEY not in g for g in plain)


def test_drop_path_rates_rise_linearly_or_stay_uniform():
    assert drop_path_rates(4, 0.3) == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert drop_path_rates(3, 0.3, uniform=True) == [0.3, 0.3, 0.3]


def _manual_forward(backbone: OceanSARModel, pixels: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """The ViT forward written out with per-sample branch factors (blocks, 2, B)."""
    hidden = backbone.embeddings(pixels)
    for index, layer in enumerate(backbone.layers):
        attention, _ = layer.attention(layer.layernorm_before(hidden))
        hidden = hidden + scales[index, 0].view(-1, 1, 1) * attention
        hidden = hidden + scales[index, 1].view(-1, 1, 1) * layer.mlp(layer.layernorm_after(hidden))
    return backbone.layernorm(hidden)[:, 0]


def test_drop_path_scales_residual_branches_per_sample_in_training_only():
    torch.manual_seed(0)
    backbone = _vit().double()
    pixels = torch.randn(6, 1, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        plain = backbone(pixels).pooler_output
    drop = StochasticDepth(backbone, [0.5] * backbone.config.num_hidden_layers)
    drop.generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        dropped = backbone(pixels).pooler_output
        scales = drop._scales.double()
        assert set(scales.unique().tolist()) == {0.0, 2.0}  # keep / (1 - rate)
        drop.generator = torch.Generator().manual_seed(1)
        torch.testing.assert_close(backbone(pixels).pooler_output, dropped, rtol=0, atol=0)  # reproducible
        backbone.eval()
        torch.testing.assert_close(backbone(pixels).pooler_output, plain, rtol=0, atol=0)  # eval: no drop path
        backbone.train()
        drop.remove()
        torch.testing.assert_close(backbone(pixels).pooler_output, plain, rtol=0, atol=0)
        torch.testing.assert_close(dropped, _manual_forward(backbone, pixels, scales))
    assert backbone.state_dict().keys() == _vit().state_dict().keys()  # no forked layers: same keys


def test_drop_path_drops_at_its_rate():
    backbone = _vit()
    drop = StochasticDepth(backbone, drop_path_rates(backbone.config.num_hidden_layers, 0.3))
    drop.generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        backbone(torch.randn(2000, 1, 16, 16))
    dropped = (drop._scales == 0).float().mean(dim=(1, 2))
    expected = torch.tensor(drop_path_rates(backbone.config.num_hidden_layers, 0.3), dtype=torch.float32)
    torch.testing.assert_close(dropped, expected, atol=0.03, rtol=0)


def test_dinov2_model_masks_student_inputs_and_selects_patches():
    torch.manual_seed(0)
    backbone = _vit(use_mask_token=True)
    head = DINOHead(backbone.config.num_features, 16, 16, 8, 2, False, True)
    model = DINOv2Model(backbone, head).eval()
    crops = [torch.randn(3, 1, 32, 32), torch.randn(3, 1, 32, 32), torch.randn(3, 1, 16, 16)]
    masks = torch.zeros(6, 16, dtype=torch.bool)
    masks[0, :5] = True
    masks[4, 7] = True
    with torch.no_grad():
        student = model(crops, masks)
        teacher = model(crops[:2], masks, mask_inputs=False)
        plain = DINOModel(backbone, head)(crops)
        unmasked = backbone(torch.cat(crops[:2]))
    assert student.cls_logits.shape == (9, 16) and student.patch_logits.shape == (6, 16)
    assert teacher.cls_logits.shape == (6, 16) and teacher.patch_logits.shape == (6, 16)
    torch.testing.assert_close(teacher.cls_logits, plain[:6])  # unmasked global crops: DINO's outputs
    torch.testing.assert_close(teacher.patch_logits, head(unmasked.last_hidden_state[:, 1:][masks]))
    torch.testing.assert_close(student.cls_logits[6:], plain[6:])  # local crops are never masked
    torch.testing.assert_close(student.cls_logits[1:4], plain[1:4])  # images without a mask are unchanged
    assert not torch.allclose(student.cls_logits[0], plain[0])  # the masked image sees the mask token
    assert math.isclose(float(student.cls_features.shape[0]), 6)


def test_drop_path_under_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    pixels, state = torch.randn(4, 1, 32, 32), _vit().state_dict()
    grads, calls = [], []
    for checkpointing in (False, True):
        backbone = _vit()
        backbone.load_state_dict(state)
        if checkpointing:
            backbone.activation_checkpointing_enable({"use_reentrant": False})
        drop = StochasticDepth(backbone, [0.5] * backbone.config.num_hidden_layers)
        drop.generator = torch.Generator().manual_seed(3)
        mlp_forward = backbone.layers[0].mlp.forward
        backbone.layers[0].mlp.forward = lambda x, run=mlp_forward, on=checkpointing: calls.append(on) or run(x)
        backbone(pixels).pooler_output.square().sum().backward()
        grads.append({n: p.grad.clone() for n, p in backbone.named_parameters() if p.grad is not None})
    assert calls.count(True) == 2 * calls.count(False)  # the checkpointed block ran again in backward
    assert grads[0].keys() == grads[1].keys()
    for name, grad in grads[0].items():  # and saw the same keep decisions
        torch.testing.assert_close(grads[1][name], grad, msg=name)
