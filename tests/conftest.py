"""Shared test setup: offline Hub, small thread count, the real Sentinel-1 WV quicklooks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
QUICKLOOK_DIR = REPO_ROOT / "tests" / "data" / "s1-wv-quicklooks"  # copied from ../shared/data (see its README)


@pytest.fixture(scope="session")
def quicklook_paths() -> list[Path]:
    """The 15 real Sentinel-1 WV quicklooks (8-bit PNG) shipped in ../shared/data."""
    paths = sorted(QUICKLOOK_DIR.glob("*.png"))
    assert len(paths) == 15, f"expected the 15 real quicklooks in {QUICKLOOK_DIR}, found {len(paths)}"
    return paths
