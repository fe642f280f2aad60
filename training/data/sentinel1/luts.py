# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Sentinel-1 calibration and thermal-noise look-up tables: parsing and bilinear interpolation over the pixel grid.

A product's `calibration-*.xml` gives, at a few lines (azimuth), one vector of values at pixel (range) nodes; ESA's
"Sentinel-1 Level-1 Detailed Algorithm Definition" and the calibration note (ESA-EOPG-CSCOP-TN-0002) prescribe
bilinear interpolation between these nodes. σ0 (linear) = |DN|² / A² with A the interpolated `sigmaNought` LUT;
with thermal-noise removal, σ0 = (|DN|² − η) / A² where η is the `noise-*.xml` range LUT times, from IPF 2.9 on, its
azimuth LUT (one block per sub-swath).
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np

CALIBRATION_LUTS = ("sigmaNought", "betaNought", "gamma", "dn")


def _floats(text: str | None) -> np.ndarray:
    return np.asarray((text or "").split(), dtype=np.float64)


@dataclass(frozen=True)
class NodeGrid:
    """Values at nodes: vectors at increasing ``lines`` (K,), vector k having values ``values[k]`` at pixel nodes
    ``pixels[k]`` (the vectors may have different nodes). `interpolate` is bilinear; outside the nodes the nearest
    value is kept (constant extrapolation)."""

    lines: np.ndarray
    pixels: tuple[np.ndarray, ...]
    values: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        if not len(self.lines) or len(self.pixels) != len(self.lines) or len(self.values) != len(self.lines):
            raise ValueError(f"a LUT needs one pixel and one value vector per line; got {len(self.lines)} lines")
        for pixels, values in zip(self.pixels, self.values, strict=True):
            if len(pixels) != len(values) or not len(pixels) or np.any(np.diff(pixels) <= 0):
                raise ValueError("each LUT vector needs as many values as strictly increasing pixel nodes")
        if np.any(np.diff(self.lines) < 0):
            raise ValueError("LUT vectors must be sorted by line")

    def interpolate(self, rows: np.ndarray, cols: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """The LUT at every (row, col) of the grid ``rows`` × ``cols`` (pixel indices), (len(rows), len(cols)) of
        ``dtype``: linear along each vector's pixels, then linear between the two vectors around each row."""
        rows, cols = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
        along = np.stack([np.interp(cols, p, v) for p, v in zip(self.pixels, self.values, strict=True)])  # (K, m)
        out = np.empty((len(rows), len(cols)), dtype)
        if len(self.lines) == 1:
            out[:] = along[0]
            return out
        below = np.clip(np.searchsorted(self.lines, rows, side="right") - 1, 0, len(self.lines) - 2)
        first, second = self.lines[below], self.lines[below + 1]
        span = second - first
        weight = np.clip(np.divide(rows - first, span, out=np.zeros_like(rows), where=span > 0), 0.0, 1.0)
        # Rows between the same two vectors form runs: out = V_k + w (V_k+1 − V_k), one pass per run, no gathers.
        starts = [0, *(np.flatnonzero(np.diff(below)) + 1).tolist(), len(rows)]
        for start, stop in itertools.pairwise(starts):
            k = below[start]
            step = (along[k + 1] - along[k]).astype(dtype)
            np.multiply(weight[start:stop, None].astype(dtype), step, out=out[start:stop])
            out[start:stop] += along[k].astype(dtype)
        return out


def _node_grid(vectors: list[ET.Element], value_tag: str, where: str) -> NodeGrid:
    if not vectors:
        raise ValueError(f"{where}: no LUT vector")
    rows = []
    for vector in vectors:
        values = vector.find(value_tag)
        if values is None:
            raise ValueError(f"{where}: a vector has no <{value_tag}>")
        rows.append((float(vector.findtext("line")), _floats(vector.findtext("pixel")), _floats(values.text)))
    rows.sort(key=lambda row: row[0])
    return NodeGrid(np.asarray([r[0] for r in rows]), tuple(r[1] for r in rows), tuple(r[2] for r in rows))


def parse_calibration(xml: bytes, lut: str = "sigmaNought", where: str = "calibration") -> NodeGrid:
    """The ``lut`` (one of `CALIBRATION_LUTS`) of a `calibration-*.xml` as a `NodeGrid` (amplitude-scale values A)."""
    if lut not in CALIBRATION_LUTS:
        raise ValueError(f"lut must be one of {CALIBRATION_LUTS}, got {lut!r}")
    root = ET.fromstring(xml)
    return _node_grid(root.findall("calibrationVectorList/calibrationVector"), lut, where)


@dataclass(frozen=True)
class AzimuthBlock:
    """One noise azimuth vector: a factor along lines, valid over a block of lines and samples (inclusive)."""

    first_line: int
    last_line: int
    first_sample: int
    last_sample: int
    lines: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class NoiseLut:
    """Thermal noise power η (|DN|² units): the range LUT times the azimuth blocks' factor where one applies."""

    range_lut: NodeGrid
    azimuth_blocks: tuple[AzimuthBlock, ...] = ()

    def interpolate(self, rows: np.ndarray, cols: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """η on the grid ``rows`` × ``cols``, (len(rows), len(cols)) of ``dtype``."""
        noise = self.range_lut.interpolate(rows, cols, dtype)
        rows, cols = np.asarray(rows), np.asarray(cols)
        for block in self.azimuth_blocks:
            inside_rows = np.flatnonzero((rows >= block.first_line) & (rows <= block.last_line))
            inside_cols = np.flatnonzero((cols >= block.first_sample) & (cols <= block.last_sample))
            if not (len(inside_rows) and len(inside_cols)):
                continue
            factor = np.interp(rows[inside_rows], block.lines, block.values).astype(dtype)[:, None]
            if inside_rows[-1] - inside_rows[0] + 1 == len(inside_rows) and (
                inside_cols[-1] - inside_cols[0] + 1 == len(inside_cols)
            ):  # a rectangle of the grid: scale it in place
                noise[inside_rows[0] : inside_rows[-1] + 1, inside_cols[0] : inside_cols[-1] + 1] *= factor
            else:
                noise[np.ix_(inside_rows, inside_cols)] *= factor
        return noise


def parse_noise(xml: bytes, where: str = "noise") -> NoiseLut:
    """A `noise-*.xml`: ``noiseRangeVectorList`` (IPF ≥ 2.9, with ``noiseAzimuthVectorList``) or the older
    ``noiseVectorList``."""
    root = ET.fromstring(xml)
    vectors = root.findall("noiseRangeVectorList/noiseRangeVector")
    if vectors:
        range_lut = _node_grid(vectors, "noiseRangeLut", where)
    else:
        range_lut = _node_grid(root.findall("noiseVectorList/noiseVector"), "noiseLut", where)
    blocks = []
    for vector in root.findall("noiseAzimuthVectorList/noiseAzimuthVector"):
        lines, values = _floats(vector.findtext("line")), _floats(vector.findtext("noiseAzimuthLut"))
        if len(lines) != len(values) or not len(lines):
            raise ValueError(f"{where}: a noise azimuth vector has {len(lines)} lines and {len(values)} values")
        blocks.append(
            AzimuthBlock(
                int(vector.findtext("firstAzimuthLine")),
                int(vector.findtext("lastAzimuthLine")),
                int(vector.findtext("firstRangeSample")),
                int(vector.findtext("lastRangeSample")),
                lines,
                values,
            )
        )
    return NoiseLut(range_lut, tuple(blocks))
