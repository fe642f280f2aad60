# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Stand-in for transformers' `tests/generation/test_utils.py` (not in the 5.24.0 source distribution).

`test_modeling_common.py` uses `GenerationTesterMixin` only in `test_generation_tester_mixin_inheritance`, which
asserts that a model that cannot `generate` (OceanSAR's backbones and heads) does not inherit it.
"""


class GenerationTesterMixin:
    """Marker class: OceanSAR testers must not inherit it (OceanSAR models do not generate)."""
