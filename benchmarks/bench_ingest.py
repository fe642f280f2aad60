# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Benchmark: SAFE ingest throughput per core — one WV SLC imagette → a calibrated 50 m σ0 vignette — against
reading its measurement TIFF alone (tifffile, the floor of any reader), in the same run.

The product is built from the real schemas (`tests/training/s1_products.py`: the fixture annotation, calibration and
noise XML; complex int16 single-look speckle). Assumed imagette size: 20 × 20 km, 4,878 lines × 5,600 samples at
4.1 m azimuth × 1.4 m slant range (WV1, 23°) — the ≈ 4,900 × 5,600 of a WV SLC imagette. One thread
(`torch.set_num_threads(1)`): figures are per core; the ingest job runs one product per process. Each repeat times,
alternating, (a) `tifffile.imread` of the TIFF, (b) the ingest path (`iterate_product`: XML parsing, windowed read,
|DN|² / A² with the bilinear LUT, multilooking to 50 m) without and (c) with thermal-noise removal; best of the
repeats. The cost of the 12 M-image archive is extrapolated from (b) and (c).

Usage: ``python benchmarks/bench_ingest.py [--repeats 3] [--lines 4878 --samples 5600]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import tifffile
import torch

from tests.training.s1_products import Imagette, make_wv_product
from training.data.sentinel1 import ProductReport, Sentinel1Options, iterate_product

ARCHIVE = 12_000_000
"""Sentinel-1 WV imagettes in OceanSAR-1's training archive (model card: "~12 million images")."""


def best_seconds(function, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lines", type=int, default=4878)
    parser.add_argument("--samples", type=int, default=5600)
    args = parser.parse_args()
    torch.set_num_threads(1)
    imagette = Imagette("WV1", lines=args.lines, samples=args.samples, azimuth_spacing=4.1, range_spacing=1.4)
    with tempfile.TemporaryDirectory() as tmp:
        product = make_wv_product(Path(tmp), [imagette], sigma0=0.05)
        (tiff,) = (product / "measurement").glob("*.tiff")
        size_mb = tiff.stat().st_size / 1e6

        def ingest(remove_noise: bool) -> None:
            report = ProductReport(product.name)
            (vignette,) = iterate_product(product, Sentinel1Options(remove_noise=remove_noise), report)
            ingest.shape = vignette.image.shape

        timings = {"tiff": [], "ingest": [], "ingest + noise removal": []}
        for _ in range(args.repeats):
            timings["tiff"].append(best_seconds(lambda: tifffile.imread(tiff), 1))
            timings["ingest"].append(best_seconds(lambda: ingest(False), 1))
            timings["ingest + noise removal"].append(best_seconds(lambda: ingest(True), 1))
    print(f"imagette {args.lines} x {args.samples} CInt16 ({size_mb:.0f} MB) → vignette {ingest.shape} at 50 m")
    reference = min(timings["tiff"])
    print(f"{'path':<24} {'s/imagette':>10} {'imagettes/s/core':>17} {'x TIFF read':>12} {'12 M imagettes':>16}")
    for name, values in timings.items():
        seconds = min(values)
        print(
            f"{name:<24} {seconds:>10.3f} {1 / seconds:>17.2f} {seconds / reference:>12.2f} "
            f"{ARCHIVE * seconds / 3600:>11,.0f} core-h"
        )


if __name__ == "__main__":
    main()
