# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""A second, independent renderer of a few SAR ocean phenomena, to test features on images the training generator
did not make.

Written apart from `training/data/synthetic.py` and on purpose with other choices (it imports nothing from it; only
the class vocabulary is the project's, `oceansar_hf.tasks`): wave fields are sums of a few hundred random plane
waves (not filtered Gaussian noise), smooth fields are sums of random Gaussian bumps or repeated box blurs (not
Fourier low-pass), cells are Voronoi tessellations, sea ice is a Voronoi floe mosaic, speckle is the mean of L
exponential intensities (not a Gamma approximation), the backscatter level follows a power law in wind speed with
its own constants, and the pixel spacing is 40 m (not 50 m).

Six classes, named as TenGeoP's so that labels compare: pure ocean waves, wind streaks, micro convective cells, rain
cells, sea ice, low wind area. `IndependentSAR(n, size, seed)[i]` gives ``image`` (H, W) float32 amplitude DN,
``label`` (the TenGeoP class id), ``wind_speed`` (m/s; NaN for sea ice) and ``wave_height`` (m; NaN for sea ice),
deterministic in (seed, i), classes cycling so that the set is class-balanced.
"""

from __future__ import annotations

import math

import numpy as np

from oceansar_hf.tasks import TENGEOP_CLASSES

CLASSES = ("pure ocean waves", "wind streaks", "micro convective cells", "rain cells", "sea ice", "low wind area")
LABELS = tuple(TENGEOP_CLASSES.index(name) for name in CLASSES)
SPACING_M = 40.0
GAIN = 250.0  # amplitude DN per sqrt(linear sigma0)


def _plane_waves(
    rng: np.random.Generator, size: int, wavelength_px: float, direction: float, spread: float, count: int
):
    """Sum of `count` plane waves with wavelengths around `wavelength_px` and directions around `direction` (rad),
    normalised to unit standard deviation."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    field = np.zeros((size, size))
    for _ in range(count):
        k = 2 * math.pi / (wavelength_px * math.exp(0.15 * rng.standard_normal()))
        theta = direction + spread * rng.standard_normal()
        field += np.cos(k * (x * math.cos(theta) + y * math.sin(theta)) + rng.uniform(0, 2 * math.pi))
    return field / field.std()


def _box_smooth(field: np.ndarray, radius: int, passes: int = 3) -> np.ndarray:
    """Repeated periodic box blur (approaches a Gaussian of std ≈ radius·sqrt(passes/3))."""
    out = field
    for _ in range(passes):
        for axis in (0, 1):
            out = sum(np.roll(out, s, axis=axis) for s in range(-radius, radius + 1)) / (2 * radius + 1)
    return out


def _smooth_noise(rng: np.random.Generator, size: int, radius: int) -> np.ndarray:
    field = _box_smooth(rng.standard_normal((size, size)), max(radius, 1))
    return (field - field.mean()) / field.std()


def _voronoi(rng: np.random.Generator, size: int, cell_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the nearest seed and to the second nearest (periodic), for seeds about `cell_px` apart."""
    count = max(int((size / cell_px) ** 2), 2)
    seeds = rng.uniform(0, size, size=(count, 2))
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    dy = np.abs(y[..., None] - seeds[:, 0])
    dx = np.abs(x[..., None] - seeds[:, 1])
    dist = np.hypot(np.minimum(dy, size - dy), np.minimum(dx, size - dx))
    dist.sort(axis=-1)
    return dist[..., 0], dist[..., 1]


class IndependentSAR:
    """A class-balanced set of `n` independently rendered vignettes of `size` px (see module docstring)."""

    def __init__(self, n: int, size: int = 64, seed: int = 0, looks: int = 4) -> None:
        if n < 1 or size < 16 or looks < 1:
            raise ValueError(f"need n >= 1, size >= 16 and looks >= 1, got {n}, {size}, {looks}")
        self.n, self.size, self.seed, self.looks = n, size, seed, looks

    def __len__(self) -> int:
        return self.n

    def labels(self) -> np.ndarray:
        return np.array([LABELS[i % len(LABELS)] for i in range(self.n)], dtype=np.int64)

    def describe(self, index: int) -> str:
        return f"independent-sar(seed={self.seed}, size={self.size})[{index}]"

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.n:
            raise IndexError(f"index {index} out of range for {self.n} samples")
        rng = np.random.default_rng([self.seed, index, 7919])
        name = CLASSES[index % len(CLASSES)]
        size = self.size
        wind = rng.uniform(1.5, 4.0) if name == "low wind area" else rng.uniform(3.0, 18.0)
        swell_hs = rng.uniform(0.5, 5.0)
        wave_height = math.sqrt(swell_hs**2 + (0.02 * wind**2) ** 2)
        wavelength_px = rng.uniform(120.0, 350.0) / SPACING_M
        level_db = 10 * math.log10(0.004 * wind**1.6)  # power law in wind speed, own constants
        waves = _plane_waves(rng, size, max(wavelength_px, 3.0), rng.uniform(0, math.pi), 0.25, 200)
        db = level_db + (0.3 * wave_height) * waves + 0.5 * _smooth_noise(rng, size, size // 6)
        if name == "wind streaks":
            streaks = _plane_waves(rng, size, rng.uniform(800.0, 1600.0) / SPACING_M, rng.uniform(0, math.pi), 0.03, 60)
            db += rng.uniform(0.8, 1.6) * streaks
        elif name == "micro convective cells":
            nearest, second = _voronoi(rng, size, rng.uniform(1200.0, 2500.0) / SPACING_M)
            db += rng.uniform(1.5, 3.0) * (np.tanh((second - nearest) / 2.0) - 0.5)
        elif name == "rain cells":
            y, x = np.mgrid[0:size, 0:size].astype(np.float64)
            for _ in range(int(rng.integers(1, 3))):
                cy, cx = rng.uniform(0, size, 2)
                radius = rng.uniform(0.12, 0.3) * size
                r = np.hypot(y - cy, x - cx) / radius
                db += rng.uniform(3.0, 6.0) * np.exp(-((r - 1.0) ** 2) / 0.08) - rng.uniform(2.0, 5.0) * (r < 0.8)
        elif name == "sea ice":
            nearest, second = _voronoi(rng, size, rng.uniform(600.0, 2000.0) / SPACING_M)
            floe_level = rng.uniform(-19.0, -11.0, size=1)[0]
            db = floe_level + 2.0 * _smooth_noise(rng, size, 2) - 8.0 * (second - nearest < 1.2)
        elif name == "low wind area":
            patch = _smooth_noise(rng, size, size // 5) > rng.uniform(-0.4, 0.4)
            db = np.where(patch, db - rng.uniform(7.0, 12.0) - 0.25 * wave_height * waves, db)
        intensity = 10.0 ** (db / 10.0) + 10.0 ** (-25.0 / 10.0)
        speckle = rng.exponential(1.0, size=(self.looks, size, size)).mean(axis=0)
        image = (GAIN * np.sqrt(intensity * speckle)).astype(np.float32)
        ice = name == "sea ice"
        return {
            "image": image,
            "index": index,
            "label": TENGEOP_CLASSES.index(name),
            "wind_speed": math.nan if ice else wind,
            "wave_height": math.nan if ice else wave_height,
        }
