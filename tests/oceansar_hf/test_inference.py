"""Inference options: each one's features against float32 on the real WV quicklooks, BatchNorm folding exact,
`auto` resolving to what the hardware computes natively."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from oceansar_hf import OceanSARConfig, OceanSARImageProcessor, OceanSARModel
from oceansar_hf.inference import (
    InferenceOptions,
    fuse_batchnorms,
    native_bf16,
    prepare_for_inference,
    resolve_dtype,
)

SIDE = 64


@pytest.fixture(scope="module")
def quicklooks(quicklook_paths) -> torch.Tensor:
    """The 15 real quicklooks through the processor (zero first row = no-data, dB, fixed mean/std fitted on them)."""
    arrays = [np.asarray(Image.open(path).convert("L")) for path in quicklook_paths]
    processor = OceanSARImageProcessor(nodata_value=0, size=SIDE).fit_normalization(arrays)
    return processor(arrays, return_tensors="pt")["pixel_values"]


def _model(backbone: str) -> OceanSARModel:
    torch.manual_seed(0)
    model = OceanSARModel(OceanSARConfig(backbone=backbone, image_size=SIDE)).eval()
    for module in model.modules():  # non-trivial running statistics, so that folding them is tested
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model


OPTIONS = [
    ("resnet_tiny", InferenceOptions(dtype="float32", channels_last=False)),
    ("resnet_tiny", InferenceOptions(dtype="float32", fuse=True)),
    ("resnet_tiny", InferenceOptions(dtype="bfloat16")),
    ("resnet_tiny", InferenceOptions(dtype="bfloat16", fuse=True)),
    ("resnet_tiny", InferenceOptions(dtype="bfloat16", autocast=False, fuse=True)),
    ("resnet_tiny", InferenceOptions(dtype="float16")),
    ("resnet_tiny", InferenceOptions()),
    ("vit_tiny_patch8", InferenceOptions(dtype="bfloat16")),
    ("vit_tiny_patch8", InferenceOptions(dtype="bfloat16", autocast=False)),
    ("vit_tiny_patch8", InferenceOptions(dtype="float16")),
    ("vit_tiny_patch8", InferenceOptions()),
]


def _name(value: object) -> str:
    if isinstance(value, InferenceOptions):
        return f"{value.dtype}-{'autocast' if value.autocast else 'cast'}{'-fuse' if value.fuse else ''}"
    return str(value)


@pytest.mark.parametrize(("backbone", "options"), OPTIONS, ids=_name)
def test_every_option_stays_within_cosine_0999_of_float32_on_real_quicklooks(quicklooks, backbone, options):
    model = _model(backbone)
    with torch.inference_mode():
        reference = model(pixel_values=quicklooks).pooler_output
        fast = prepare_for_inference(model, options)
        features = fast(pixel_values=quicklooks).pooler_output
    assert features.dtype == torch.float32 and features.shape == reference.shape
    cosine = torch.nn.functional.cosine_similarity(features, reference)
    assert float(cosine.min()) > 0.999, f"{options}: cosine {float(cosine.min()):.6f}"
    if fast.compute_dtype == torch.float32:
        torch.testing.assert_close(features, reference, rtol=1e-5, atol=1e-5)


def test_casting_works_on_a_copy():
    model = _model("vit_tiny_patch8")
    fast = prepare_for_inference(model, InferenceOptions(dtype="bfloat16", autocast=False))
    assert fast.backbone.dtype == torch.bfloat16 and model.dtype == torch.float32


def test_fusing_folds_every_batchnorm_and_leaves_the_model_trainable(quicklooks):
    model = _model("resnet_tiny")
    norms = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    fast = prepare_for_inference(model, InferenceOptions(dtype="float32", fuse=True))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.backbone.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == norms  # a copy was fused
    with torch.inference_mode():
        torch.testing.assert_close(
            fast(pixel_values=quicklooks).last_hidden_state,
            model(pixel_values=quicklooks).last_hidden_state,
            rtol=1e-5,
            atol=1e-5,
        )
    with pytest.raises(ValueError, match="eval"):
        fuse_batchnorms(_model("resnet_tiny").train())
    with pytest.raises(ValueError, match="ResNet"):
        prepare_for_inference(_model("vit_tiny_patch8"), InferenceOptions(fuse=True))


def test_auto_follows_the_hardware():
    assert resolve_dtype("auto", "cpu") == (torch.bfloat16 if native_bf16("cpu") else torch.float32)
    assert resolve_dtype("float16", "cpu") == torch.float16
    with pytest.raises(ValueError, match="dtype"):
        InferenceOptions(dtype="int8")
