"""Shared test setup: offline Hub, small thread count, the real Sentinel-1 WV quicklooks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under pytest-xdist every worker is a process of its own: one intra-op thread each avoids oversubscribing the
    # cores (the test tensors are tiny; subprocesses the tests start set their own threads).
    torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parents[1]
QUICKLOOK_DIR = REPO_ROOT / "tests" / "data" / "s1-wv-quicklooks"  # copied from ../shared/data (see its README)


@pytest.fixture(scope="session")
def quicklook_paths() -> list[Path]:
    """The 15 real Sentinel-1 WV quicklooks (8-bit PNG) shipped in ../shared/data."""
    paths = sorted(QUICKLOOK_DIR.glob("*.png"))
    assert len(paths) == 15, f"expected the 15 real quicklooks in {QUICKLOOK_DIR}, found {len(paths)}"
    return paths
