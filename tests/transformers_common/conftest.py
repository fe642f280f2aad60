# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The vendored transformers test modules hold mixins, not tests of their own: pytest does not collect them."""

collect_ignore_glob = ["*.py", "*/*.py"]
