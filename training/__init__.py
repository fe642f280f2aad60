# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""DINO pretraining with dynamic dataset pruning, readers, evaluation and probes (see ARCHITECTURE.md for the rooms).
Installed from the wheel as `oceansar_training`."""
