# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Inference speed options for OceanSAR backbones, each one a choice the user makes and each with a stated cost.

    from oceansar_hf.inference import InferenceOptions, prepare_for_inference

    fast = prepare_for_inference(model, InferenceOptions())  # eval mode; bf16 where computed natively
    features = fast(pixel_values=pixels).pooler_output      # (B, D) float32

Options (`InferenceOptions`):
- `dtype`: the compute precision. `auto` = bfloat16 where the hardware computes it natively (CPUs with AVX512-BF16 or
  AMX, CUDA GPUs that support bf16), float32 elsewhere; float16 is offered for GPUs without bf16.
- `autocast`: how a dtype other than float32 is applied. False (default): a copy of the model cast to it (no casts
  between layers: 2.2× float32 for ResNet50 on an AMX CPU, against 1.5× under autocast). True: `torch.autocast`
  (weights stay float32, normalisations and reductions run in float32; slightly closer to float32). On the real WV
  quicklooks both keep the pooled features within cosine 0.9999 of float32 (`tests/oceansar_hf/test_inference.py`,
  `benchmarks/bench_inference.py`): the default is the fastest setting within cosine 0.999.
- `channels_last`: ResNet convolutions in channels-last memory format (same values, faster on CPU and GPU).
- `fuse`: fold each BatchNorm into the convolution before it (ResNets, eval only; works on a copy, so the model passed
  in stays trainable). Same function up to float rounding (≤ 1e-5 relative).
- `compile`: `torch.compile` the backbone (the first batch of each new shape compiles: minutes on a small CPU; it
  pays on long jobs on GPUs).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

INFERENCE_DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class InferenceOptions:
    """How a frozen backbone runs: precision, memory layout, BatchNorm folding and compilation."""

    dtype: str = field(
        default="auto",
        metadata={
            "help": "auto (bf16 autocast where the CPU/GPU computes bf16 natively, else float32), float32, bfloat16 "
            "or float16 (autocast: weights stay float32)."
        },
    )
    autocast: bool = field(
        default=False,
        metadata={
            "help": "True: torch.autocast (matmuls/convolutions in dtype, normalisations and sums in float32). False: "
            "a copy of the model cast to dtype (faster on CPU: no casts between layers; everything in dtype)."
        },
    )
    channels_last: bool = field(
        default=True, metadata={"help": "ResNets: channels-last memory format (same values, faster convolutions)."}
    )
    fuse: bool = field(
        default=False,
        metadata={"help": "ResNets: fold every BatchNorm into the convolution before it (eval only; a copy)."},
    )
    compile: bool = field(
        default=False, metadata={"help": "torch.compile the backbone (slow first batch; pays on long GPU jobs)."}
    )

    def __post_init__(self) -> None:
        if self.dtype not in INFERENCE_DTYPES:
            raise ValueError(f"dtype must be one of {INFERENCE_DTYPES}, got {self.dtype!r}")


def native_bf16(device: torch.device | str) -> bool:
    """Whether `device` computes bfloat16 matmuls natively: a CUDA GPU with bf16 support, or a CPU with AVX512-BF16
    or AMX tiles (without them CPU bf16 is emulated and slower than float32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    return False


def resolve_dtype(choice: str, device: torch.device | str) -> torch.dtype:
    """The compute dtype of `choice` (one of `INFERENCE_DTYPES`) on `device`; `auto` → bf16 when native, else fp32."""
    if choice not in INFERENCE_DTYPES:
        raise ValueError(f"dtype must be one of {INFERENCE_DTYPES}, got {choice!r}")
    if choice == "auto":
        return torch.bfloat16 if native_bf16(device) else torch.float32
    return getattr(torch, choice)


def fuse_batchnorms(model: nn.Module) -> int:
    """Fold every BatchNorm2d that follows a Conv2d in transformers' ResNet layers (`ResNetConvLayer`,
    `ResNetShortCut`: attributes `convolution` then `normalization`) into that convolution, in place.

    The convolution gets the weight w·γ/√(σ²+ε) and bias β − μ·γ/√(σ²+ε) (running statistics: eval only); the
    BatchNorm becomes `nn.Identity`. Returns the number of pairs folded.
    """
    if model.training:
        raise ValueError("fuse_batchnorms folds running statistics: call model.eval() first")
    folded = 0
    for module in model.modules():
        conv, norm = getattr(module, "convolution", None), getattr(module, "normalization", None)
        if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
            module.convolution = fuse_conv_bn_eval(conv, norm)
            module.normalization = nn.Identity()
            folded += 1
    return folded


class InferenceModel(nn.Module):
    """A frozen backbone run with `InferenceOptions`: `forward` takes the backbone's arguments and returns its output
    (under autocast, or cast to the compute dtype, when it is not float32; `pooler_output` then comes back in float32).

    Attributes:
        backbone: the (possibly fused, compiled) model; `config` is its config.
        compute_dtype: the resolved autocast dtype.
    """

    def __init__(
        self, backbone: nn.Module, compute_dtype: torch.dtype, runner: Any = None, autocast: bool = True
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.compute_dtype = compute_dtype
        self.autocast = autocast
        self._runner = runner if runner is not None else backbone

    @property
    def config(self) -> Any:
        return self.backbone.config

    def forward(self, pixel_values: torch.Tensor, **kwargs: Any) -> Any:
        if self.compute_dtype == torch.float32:
            return self._runner(pixel_values=pixel_values, **kwargs)
        if self.autocast:
            with torch.autocast(pixel_values.device.type, dtype=self.compute_dtype):
                outputs = self._runner(pixel_values=pixel_values, **kwargs)
        else:  # the backbone was cast: its forward casts the input to its dtype
            outputs = self._runner(pixel_values=pixel_values, **kwargs)
        if getattr(outputs, "pooler_output", None) is not None:
            outputs.pooler_output = outputs.pooler_output.float()
        return outputs


def prepare_for_inference(
    model: nn.Module, options: InferenceOptions | None = None, device: torch.device | str | None = None
) -> InferenceModel:
    """`model` (an `OceanSARModel`) set up for inference with `options` (default: `InferenceOptions()`).

    The model is put in eval mode on `device` (default: where its parameters are). `channels_last` sets the
    ResNet's `config.channels_last` and weight layout in place; `fuse` folds BatchNorms into a copy.
    """
    options = options or InferenceOptions()
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.eval().to(device)
    config = getattr(model, "config", None)
    is_resnet = getattr(config, "architecture", None) == "resnet"
    if options.fuse:
        if not is_resnet:
            raise ValueError(f"fuse applies to ResNet backbones (BatchNorm after convolution), not {type(model)}")
        model = copy.deepcopy(model)
        fuse_batchnorms(model)
    if is_resnet:
        config.channels_last = options.channels_last
        model.to(memory_format=torch.channels_last if options.channels_last else torch.contiguous_format)
    dtype = resolve_dtype(options.dtype, device)
    if not options.autocast and dtype != torch.float32:
        model = (model if options.fuse else copy.deepcopy(model)).to(dtype)
    runner = torch.compile(model) if options.compile else None
    return InferenceModel(model, dtype, runner, autocast=options.autocast)
