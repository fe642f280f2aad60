# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Which SAFE reader: opening the real-metadata fixtures (`tests/data/s1-safe/`) with IFREMER's `xarray-safe-s1`
(`safe_s1.Sentinel1Reader`, the metadata reader behind `xsar`), B-Open's `xarray-sentinel` (`engine="sentinel-1"`)
and ours (`training.data.sentinel1`: annotation, calibration and noise LUTs parsed; its import, torch and
transformers, is already paid by the project), in the same run: import time, time
to open each product and its calibration, and what fails. `xsar` itself needs the GDAL Python bindings (Debian
libgdal-dev plus the matching GDAL source build) and is not measured.

Usage: ``pip install xarray-safe-s1 xarray-sentinel`` (not dependencies of this project), then
``PYTHONPATH=. python benchmarks/compare_safe_readers.py``.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

from tests.training.s1_products import IW_GRD, IW_SLC, WV_MANIFEST, extract
from training.data.sentinel1 import SafeProduct, parse_annotation, parse_calibration, parse_noise


def timed(label: str, function) -> None:
    start = time.perf_counter()
    try:
        result = function()
        print(f"{label:<58} {time.perf_counter() - start:6.2f} s  {result}")
    except Exception as error:  # report what each library does with the fixtures
        print(f"{label:<58} {time.perf_counter() - start:6.2f} s  FAILS: {type(error).__name__}: {str(error)[:90]}")


def main() -> None:
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        grd, slc, wv = (extract(zip_path, Path(tmp)) for zip_path in (IW_GRD, IW_SLC, WV_MANIFEST))

        def ours() -> str:
            """What the reader parses per measurement: annotation, calibration LUT, noise LUT (GRD)."""
            lines = []
            for path, noise in ((grd, True), (slc, False)):
                product = SafeProduct(path)
                xml = {f.name.split("-")[0]: f for f in (path / "annotation").rglob("*.xml")}
                annotation = parse_annotation(product.read(str(xml["s1b" if noise else "s1a"].relative_to(path))))
                parse_calibration(product.read(str(xml["calibration"].relative_to(path))))
                if noise:
                    parse_noise(product.read(str(xml["noise"].relative_to(path))))
                lines.append(annotation.lines)
            return f"lines {lines}"

        timed("ours: IW GRD (annotation, cal, noise) + IW SLC (annotation, cal)", ours)
        timed("xarray-sentinel: import", lambda: __import__("xarray_sentinel") and "ok")
        import xarray as xr

        for path, group in ((grd, "IW/VV"), (grd, "IW/VV/calibration"), (grd, "IW/VV/noise_range")):
            timed(
                f"xarray-sentinel: IW GRD {group}",
                lambda p=path, g=group: dict(xr.open_dataset(p, engine="sentinel-1", group=g).sizes),
            )
        for group in ("IW1/VV", "IW1/VV/calibration"):
            timed(
                f"xarray-sentinel: IW SLC {group}",
                lambda g=group: dict(xr.open_dataset(slc, engine="sentinel-1", group=g).sizes),
            )
        timed(
            "xarray-sentinel: WV product groups",
            lambda: xr.open_dataset(wv, engine="sentinel-1").attrs["subgroups"][:3],
        )
        timed("xarray-safe-s1: import", lambda: __import__("safe_s1") and "ok")
        import safe_s1

        timed("xarray-safe-s1: IW GRD", lambda: safe_s1.Sentinel1Reader(str(grd)).datatree["calibration"])
        timed("xarray-safe-s1: IW SLC subdatasets", lambda: list(safe_s1.Sentinel1Reader(str(slc)).datasets_names)[:1])
        timed(
            "xarray-safe-s1: IW SLC IW1 calibration",
            lambda: safe_s1.Sentinel1Reader(f"SENTINEL1_DS:{slc}:IW1").datatree["calibration"],
        )
        timed("xarray-safe-s1: WV subdatasets", lambda: len(safe_s1.Sentinel1Reader(str(wv)).datasets_names))


if __name__ == "__main__":
    main()
