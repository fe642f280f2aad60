"""transformers' own common tests (`ModelTesterMixin`, `ConfigTester`, vendored from the 5.24.0 sdist in
`tests/transformers_common/`) on the tiny ResNet and ViT presets, with the flags transformers' `tests/models/resnet`
and `tests/models/vit` set. Tests that do not apply are skipped below, each with its reason."""

from __future__ import annotations

import unittest
from unittest.mock import patch

import torch
from torch import nn
from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES, MODEL_MAPPING_NAMES

from oceansar_hf import OceanSARConfig, OceanSARForImageClassification, OceanSARModel
from tests.transformers_common.test_configuration_common import ConfigTester
from tests.transformers_common.test_modeling_common import ModelTesterMixin, floats_tensor, ids_tensor

IMAGE_SIZE = 32
TINY = {
    "resnet_tiny": {"embedding_size": 8, "hidden_sizes": [8, 16, 24, 32], "depths": [1, 1, 1, 1]},
    "vit_tiny_patch8": {
        "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37,
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
    },
}  # fmt: skip
"""Sizes of transformers' ResNetModelTester / ViTModelTester (1 channel, 32 px)."""


class OceanSARModelTester:
    """The `ResNetModelTester` / `ViTModelTester` of transformers, for an OceanSAR preset."""

    def __init__(self, parent: unittest.TestCase, backbone: str, batch_size: int = 3, num_labels: int = 3) -> None:
        self.parent, self.backbone, self.batch_size, self.num_labels = parent, backbone, batch_size, num_labels
        self.image_size, self.num_channels, self.is_training = IMAGE_SIZE, 1, True
        fields = TINY[backbone]
        self.hidden_size = fields.get("hidden_size")
        self.num_hidden_layers = fields.get("num_hidden_layers")
        self.num_attention_heads = fields.get("num_attention_heads")
        if backbone.startswith("vit"):
            self.mask_length = (IMAGE_SIZE // 8) ** 2  # patches
            self.seq_length = self.mask_length + 1  # + CLS
            self.num_masks = int(0.5 * self.seq_length)  # ViTModelTester's mask_ratio
        self.num_stages = len(fields.get("depths", ()))

    def get_config(self) -> OceanSARConfig:
        return OceanSARConfig(
            backbone=self.backbone, image_size=self.image_size, num_labels=self.num_labels, **TINY[self.backbone]
        )

    def prepare_config_and_inputs(self):
        pixel_values = floats_tensor([self.batch_size, self.num_channels, self.image_size, self.image_size])
        return self.get_config(), pixel_values, ids_tensor([self.batch_size], self.num_labels)

    def prepare_config_and_inputs_for_common(self):
        config, pixel_values, _ = self.prepare_config_and_inputs()
        return config, {"pixel_values": pixel_values}


class _OceanSARCommonTests(ModelTesterMixin):
    all_model_classes = (OceanSARModel, OceanSARForImageClassification)
    backbone: str
    test_resize_embeddings = False  # as transformers' ResNet and ViT tests: no token embeddings to resize

    @classmethod
    def setUpClass(cls) -> None:
        # The mixin finds what a class is by its name in transformers' mappings (base models have no loss, image
        # classifiers get labels); OceanSAR's classes join them for these tests, as an in-library model would.
        cls._mappings = [
            patch.dict(MODEL_MAPPING_NAMES, {"oceansar": "OceanSARModel"}),
            patch.dict(MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES, {"oceansar": "OceanSARForImageClassification"}),
        ]
        for mapping in cls._mappings:
            mapping.start()
        cls.addClassCleanup(lambda: [mapping.stop() for mapping in cls._mappings])

    def setUp(self) -> None:
        self.model_tester = OceanSARModelTester(self, self.backbone)
        self.config_tester = ConfigTester(self, config_class=OceanSARConfig, has_text_modality=False)

    def test_config(self) -> None:
        self.config_tester.run_common_tests()

    @unittest.skip(reason="images only: no inputs_embeds (skipped by transformers' ResNet and ViT tests too)")
    def test_inputs_embeds(self) -> None:
        pass

    def test_model_get_set_embeddings(self) -> None:  # transformers' ViT version of it: an nn.Module, no output one
        config, _ = self.model_tester.prepare_config_and_inputs_for_common()
        for model_class in self.all_model_classes:
            model = model_class(config)
            self.assertIsInstance(model.get_input_embeddings(), nn.Module)
            self.assertTrue(model.get_output_embeddings() is None)


class OceanSARResNetCommonTest(_OceanSARCommonTests, unittest.TestCase):
    """Flags of transformers' `ResNetModelTest`."""

    backbone = "resnet_tiny"
    has_attentions = False

    def test_hidden_states_output(self) -> None:  # transformers' ResNet override: (B, C, H, W) stage maps
        config, inputs = self.model_tester.prepare_config_and_inputs_for_common()
        for model_class in self.all_model_classes:
            for layer_type in ("basic", "bottleneck"):
                config.layer_type = layer_type
                model = model_class(config).eval()
                with torch.no_grad():
                    hidden = model(**inputs, output_hidden_states=True).hidden_states
                self.assertEqual(len(hidden), self.model_tester.num_stages + 1)
                self.assertListEqual(list(hidden[0].shape[-2:]), [IMAGE_SIZE // 4, IMAGE_SIZE // 4])


def _refused_for_resnet(name: str):
    @unittest.skip(
        reason="gradient checkpointing is refused for ResNet: recomputing a stage would update BatchNorm statistics "
        "twice (transformers' ResNetModel does not support it either)"
    )
    def test(self) -> None:
        pass

    test.__name__ = name
    return test


for _name in (
    "test_training_gradient_checkpointing",
    "test_training_gradient_checkpointing_use_reentrant_false",
    "test_training_gradient_checkpointing_use_reentrant_true",
    "test_gradient_checkpointing_backward_compatibility",
    "test_gradient_checkpointing_enable_disable",
    "test_peft_gradient_checkpointing_enable_disable",
):
    setattr(OceanSARResNetCommonTest, _name, _refused_for_resnet(_name))


class OceanSARViTCommonTest(_OceanSARCommonTests, unittest.TestCase):
    """Flags of transformers' `ViTModelTest`."""

    backbone = "vit_tiny_patch8"
    test_torch_exportable = True
