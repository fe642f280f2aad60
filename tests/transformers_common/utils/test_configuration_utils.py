# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""`config_common_kwargs` of transformers' `tests/utils/test_configuration_utils.py` (not in the 5.24.0 source
distribution): the generic `PreTrainedConfig` arguments `ConfigTester.check_config_arguments_init` passes to a
config class and reads back. Values as in the transformers v5 test file."""

config_common_kwargs = {
    "return_dict": False,
    "output_hidden_states": True,
    "output_attentions": True,
    "dtype": "float16",
    "chunk_size_feed_forward": 5,
    "architectures": ["BertModel"],
    "id2label": {0: "label"},
    "label2id": {"label": "0"},
    "problem_type": "regression",
}
