# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""A hand-crafted spectral baseline: what a learned backbone has to beat.

Per vignette (amplitude, any calibration): the intensity in dB, 10·log10(A²); its radially averaged power spectrum in
log-spaced frequency bands (texture scale: swell, cells, streaks), the spectrum's anisotropy (how directional the
texture is) and dB statistics (level, spread, percentiles, skewness, excess kurtosis: fronts, slicks, bright targets).
The features then go through the same logistic probe as the backbones' features (`fit_logistic_probe`), so "baseline vs
model" compares features, not classifiers.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

NUM_BANDS = 10
"""Log-spaced radial frequency bands from 1 cycle per frame to 0.5 cycles per pixel."""
_PERCENTILES = (1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0)
_TINY = 1e-6


def spectral_features(image: np.ndarray, bands: int = NUM_BANDS) -> np.ndarray:
    """Hand-crafted features of one amplitude vignette.

    Args:
        image: (H, W) amplitude (digital numbers, √σ0 or an 8-bit quicklook), non-negative, at least 8 x 8.
        bands: number of radial frequency bands.

    Returns:
        (2·bands + 11,) float64: log band power (the dB image's Hann-windowed power spectrum averaged over each band),
        log anisotropy per band (largest over mean power of 8 direction sectors), then dB mean and std, 7 dB
        percentiles, skewness and excess kurtosis.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or min(image.shape) < 8:
        raise ValueError(f"expected a 2-D amplitude image of at least 8 x 8 pixels, got shape {image.shape}")
    if not np.isfinite(image).all() or image.min() < 0:
        raise ValueError("expected finite, non-negative amplitudes")
    db = 10.0 * np.log10(np.maximum(image * image, _TINY))
    centred = db - db.mean()
    window = np.outer(np.hanning(db.shape[0]), np.hanning(db.shape[1]))
    power = np.abs(np.fft.fft2(centred * window)) ** 2
    ky, kx = np.meshgrid(np.fft.fftfreq(db.shape[0]), np.fft.fftfreq(db.shape[1]), indexing="ij")
    radius = np.hypot(kx, ky)
    edges = np.geomspace(1.0 / min(db.shape), 0.5, bands + 1)
    band = np.clip(np.searchsorted(edges, radius, side="right") - 1, -1, bands - 1)
    sector = ((np.arctan2(ky, kx) % np.pi) / (np.pi / 8)).astype(int) % 8
    band_power = np.zeros(bands)
    anisotropy = np.zeros(bands)
    for b in range(bands):
        inside = band == b
        if not inside.any():
            continue
        band_power[b] = power[inside].mean()
        sectors = [power[inside & (sector == s)].mean() for s in range(8) if (inside & (sector == s)).any()]
        anisotropy[b] = max(sectors) / max(np.mean(sectors), _TINY)
    std = db.std()
    z = centred / max(std, _TINY)
    stats = [db.mean(), std, *np.percentile(db, _PERCENTILES), (z**3).mean(), (z**4).mean() - 3.0]
    return np.concatenate([np.log(band_power + _TINY), np.log(anisotropy + _TINY), stats])


def dataset_features(dataset: object, indices: Iterable[int] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Spectral features (N, F) of `dataset[i]["image"]` and the samples' labels (``label``, ``wind_speed``,
    ``wave_height`` where present; NaN / -1 when a sample lacks one)."""
    order = range(len(dataset)) if indices is None else indices  # type: ignore[arg-type]
    rows, targets = [], {"label": [], "wind_speed": [], "wave_height": []}
    for i in order:
        sample = dataset[int(i)]  # type: ignore[index]
        rows.append(spectral_features(sample["image"]))
        targets["label"].append(sample.get("label", -1))
        for key in ("wind_speed", "wave_height"):
            targets[key].append(sample.get(key, np.nan))
    labels = {
        "label": np.asarray(targets["label"], np.int64),
        **{key: np.asarray(targets[key], np.float64) for key in ("wind_speed", "wave_height")},
    }
    return np.stack(rows), labels
