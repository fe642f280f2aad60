# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""A Sentinel-1 SAFE product, as a folder or a `.zip`: its measurements and the metadata files of each.

A SAFE product holds `manifest.safe`, one `measurement/<stem>.tiff` per swath × polarisation (per imagette in Wave
Mode), and for each the annotation `annotation/<stem>.xml`, the calibration LUTs
`annotation/calibration/calibration-<stem>.xml` and the noise LUTs `annotation/calibration/noise-<stem>.xml`.
Measurements are paired with their metadata by that naming rule; a measurement whose annotation or calibration is
missing is an error naming the product and the file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import CorruptSampleError
from ..listing import ListingReport, scan_files


@dataclass(frozen=True)
class Measurement:
    """One measurement TIFF of a product and its metadata files (paths relative to the product root)."""

    product: str
    tiff: str
    annotation: str
    calibration: str
    noise: str | None

    @property
    def stem(self) -> str:
        return Path(self.tiff).stem

    @property
    def polarisation(self) -> str:
        """From the file name (`s1a-iw-grd-vv-...`): upper case, e.g. "VV"."""
        return self.stem.split("-")[3].upper()


class SafeProduct:
    """Read access to the files of one SAFE product, a folder (``*.SAFE``, holding ``manifest.safe``) or a ``.zip``.

    Attributes:
        path: the folder or zip. name: the product id (``S1B_WV_SLC__1SSV_...``, without ``.SAFE``).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._zip_root: str | None = None
        if self.path.is_dir():
            if not (self.path / "manifest.safe").is_file():
                raise CorruptSampleError(str(self.path), "not a SAFE product: no manifest.safe")
            self._files = sorted(str(p.relative_to(self.path)) for p in self.path.rglob("*") if p.is_file())
        else:
            try:
                with zipfile.ZipFile(self.path) as archive:
                    names = archive.namelist()
            except (OSError, zipfile.BadZipFile) as error:
                raise CorruptSampleError(str(self.path), f"unreadable zip ({error})") from error
            manifests = [n for n in names if n.endswith("manifest.safe") and n.count("/") <= 1]
            if not manifests:
                raise CorruptSampleError(str(self.path), "not a SAFE product: no manifest.safe in the zip")
            self._zip_root = manifests[0][: -len("manifest.safe")]
            self._files = sorted(n[len(self._zip_root) :] for n in names if n.startswith(self._zip_root))
        root = Path(self._zip_root.rstrip("/")) if self._zip_root else self.path
        self.name = root.name.removesuffix(".zip").removesuffix(".SAFE") or self.path.stem

    def __repr__(self) -> str:
        return f"SafeProduct({str(self.path)!r})"

    def describe(self, member: str) -> str:
        return f"{self.path}/{member}" if self._zip_root is None else f"{self.path}!{self._zip_root}{member}"

    @contextmanager
    def open(self, member: str) -> Iterator[IO[bytes]]:
        """A binary, seekable handle on one file of the product (a context manager)."""
        if self._zip_root is None:
            with open(self.path / member, "rb") as handle:
                yield handle
        else:
            with zipfile.ZipFile(self.path) as archive, archive.open(self._zip_root + member) as handle:
                yield handle

    def read(self, member: str) -> bytes:
        try:
            with self.open(member) as handle:
                return handle.read()
        except (OSError, KeyError, zipfile.BadZipFile) as error:
            raise CorruptSampleError(self.describe(member), f"unreadable ({error})") from error

    def measurements(self, polarisations: Sequence[str] | None = None) -> list[Measurement]:
        """The product's measurements (optionally only those of ``polarisations``), sorted by file name.

        Raises `CorruptSampleError` naming the product when there is none, or naming the missing annotation or
        calibration file of a measurement.
        """
        files = set(self._files)
        found = []
        for tiff in sorted(f for f in self._files if f.startswith("measurement/") and f.endswith((".tiff", ".tif"))):
            stem = Path(tiff).stem
            annotation = f"annotation/{stem}.xml"
            calibration = f"annotation/calibration/calibration-{stem}.xml"
            noise = f"annotation/calibration/noise-{stem}.xml"
            for needed, what in ((annotation, "annotation"), (calibration, "calibration")):
                if needed not in files:
                    raise CorruptSampleError(self.describe(tiff), f"its {what} XML {needed} is missing")
            measurement = Measurement(self.name, tiff, annotation, calibration, noise if noise in files else None)
            if polarisations is None or measurement.polarisation in {p.upper() for p in polarisations}:
                found.append(measurement)
        if not found:
            wanted = "" if polarisations is None else f" in polarisation {'/'.join(polarisations)}"
            raise CorruptSampleError(str(self.path), f"no measurement TIFF{wanted} under measurement/")
        return found


def find_products(inputs: str | Path | Sequence[str | Path]) -> tuple[list[Path], list[ListingReport]]:
    """The SAFE products named by ``inputs``: each a product folder, a product ``.zip`` or a folder searched for them
    (a ``*.SAFE`` folder or any folder holding ``manifest.safe``, and ``*.zip`` files). Sorted, without duplicates;
    with the `ListingReport` of each folder searched. ``ValueError`` when an input does not exist."""
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    products: set[Path] = set()
    reports = []
    for item in map(Path, inputs):
        if (item / "manifest.safe").is_file() or (item.is_file() and item.suffix == ".zip"):
            products.add(item)
        elif item.is_dir():
            files, report = scan_files(item, ["**/manifest.safe", "**/*.zip"])
            reports.append(report)
            products.update(f.parent if f.name == "manifest.safe" else f for f in files)
        else:
            raise ValueError(f"{item}: expected a SAFE product folder, a product .zip or a folder of them")
    return sorted(products), reports
