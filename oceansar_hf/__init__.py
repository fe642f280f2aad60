# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""OceanSAR single-channel SAR foundation models for Hugging Face Transformers.

Importing this package registers the OceanSAR classes with `AutoConfig`, `AutoModel`,
`AutoModelForImageClassification`, `AutoBackbone` and `AutoImageProcessor`.
"""

from transformers import AutoBackbone, AutoConfig, AutoImageProcessor, AutoModel, AutoModelForImageClassification

from .configuration_oceansar import BACKBONE_PRESETS, OceanSARConfig
from .image_processing_oceansar import OceanSARImageProcessor
from .modeling_oceansar import (
    OceanSARBackbone,
    OceanSARForImageClassification,
    OceanSARModel,
    OceanSARPreTrainedModel,
)
from .released_resnet import from_released_resnet
from .tasks import TASKS, TENGEOP_CLASSES, task_config

AutoConfig.register(OceanSARConfig.model_type, OceanSARConfig, exist_ok=True)
AutoModel.register(OceanSARConfig, OceanSARModel, exist_ok=True)
AutoModelForImageClassification.register(OceanSARConfig, OceanSARForImageClassification, exist_ok=True)
AutoBackbone.register(OceanSARConfig, OceanSARBackbone, exist_ok=True)
AutoImageProcessor.register(OceanSARConfig, image_processor_classes={"pil": OceanSARImageProcessor}, exist_ok=True)

__version__ = "0.1.0"
__all__ = [
    "BACKBONE_PRESETS",
    "TASKS",
    "TENGEOP_CLASSES",
    "OceanSARBackbone",
    "OceanSARConfig",
    "OceanSARForImageClassification",
    "OceanSARImageProcessor",
    "OceanSARModel",
    "OceanSARPreTrainedModel",
    "from_released_resnet",
    "task_config",
]
