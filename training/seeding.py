# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The project's one seeding idiom: every random stream is derived from a tuple of integers (run seed, step, process,
round, ...) with NumPy's `SeedSequence`, which is stable across Python versions and platforms (unlike `hash`)."""

from __future__ import annotations

import numpy as np
import torch


def derive_seed(*keys: int) -> int:
    """A 63-bit integer seed determined by the integer `keys` (e.g. ``derive_seed(seed, step, rank)``)."""
    state = np.random.SeedSequence([int(key) for key in keys]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def torch_generator(*keys: int) -> torch.Generator:
    """A CPU `torch.Generator` seeded with ``derive_seed(*keys)``."""
    return torch.Generator().manual_seed(derive_seed(*keys))
