# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""A Sentinel-1 product annotation (`annotation/s1*-*.xml`): what one measurement TIFF is, its pixel geometry, its
geolocation grid and, for TOPS SLC (IW/EW), its bursts."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from .luts import NodeGrid


@dataclass(frozen=True)
class Burst:
    """The valid part of one TOPS burst: lines [first_line, stop_line), samples [first_sample, stop_sample)."""

    first_line: int
    stop_line: int
    first_sample: int
    stop_sample: int


@dataclass(frozen=True)
class Annotation:
    """What the reader needs from one product annotation. Spacings in metres, angles in degrees, times UTC.

    Attributes:
        mission, product_type, mode, swath, polarisation: e.g. "S1B", "SLC", "WV", "WV1", "VV".
        image_number: the measurement's number in the product (the WV imagette number).
        first_line_time: azimuth time of line 0; line_interval: seconds between lines.
        slant_range: True for SLC (range pixel spacing in slant range), False for GRD (ground range).
        range_pixel_spacing, azimuth_pixel_spacing: as annotated.
        lines, samples: image height and width.
        incidence_mid_swath: incidence angle at mid swath.
        latitude, longitude, incidence: the geolocation grid as `NodeGrid`s over (line, pixel).
        bursts: the valid box of each TOPS burst (empty for WV, SM and GRD).
    """

    mission: str
    product_type: str
    mode: str
    swath: str
    polarisation: str
    image_number: int
    first_line_time: datetime
    line_interval: float
    slant_range: bool
    range_pixel_spacing: float
    azimuth_pixel_spacing: float
    lines: int
    samples: int
    incidence_mid_swath: float
    latitude: NodeGrid
    longitude: NodeGrid
    incidence: NodeGrid
    bursts: tuple[Burst, ...] = ()

    def ground_pixel_spacing(self, incidence_deg: float | None = None) -> tuple[float, float]:
        """(azimuth, ground range) pixel spacing in metres; slant range / sin(incidence) for SLC, at
        ``incidence_deg`` (default: mid swath)."""
        if not self.slant_range:
            return self.azimuth_pixel_spacing, self.range_pixel_spacing
        angle = self.incidence_mid_swath if incidence_deg is None else incidence_deg
        return self.azimuth_pixel_spacing, self.range_pixel_spacing / math.sin(math.radians(angle))

    def at(self, line: float, pixel: float) -> tuple[float, float, float]:
        """(latitude, longitude, incidence angle) at a pixel, interpolated bilinearly in the geolocation grid."""
        rows, cols = np.asarray([line]), np.asarray([pixel])
        return tuple(
            float(grid.interpolate(rows, cols)[0, 0]) for grid in (self.latitude, self.longitude, self.incidence)
        )

    def time_at(self, line: float) -> datetime:
        return self.first_line_time + timedelta(seconds=line * self.line_interval)


def _text(root: ET.Element, path: str, where: str) -> str:
    value = root.findtext(path)
    if value is None or not value.strip():
        raise ValueError(f"{where}: no <{path}>")
    return value.strip()


def _grid(points: list[ET.Element], field: str) -> NodeGrid:
    by_line: dict[float, list[tuple[float, float]]] = {}
    for point in points:
        by_line.setdefault(float(point.findtext("line")), []).append(
            (float(point.findtext("pixel")), float(point.findtext(field)))
        )
    lines = sorted(by_line)
    vectors = [sorted(by_line[line]) for line in lines]
    return NodeGrid(
        np.asarray(lines),
        tuple(np.asarray([p for p, _ in v]) for v in vectors),
        tuple(np.asarray([x for _, x in v]) for v in vectors),
    )


def _bursts(root: ET.Element) -> tuple[Burst, ...]:
    per_burst = int(root.findtext("swathTiming/linesPerBurst") or 0)
    bursts = []
    for number, burst in enumerate(root.findall("swathTiming/burstList/burst")):
        first = np.asarray((burst.findtext("firstValidSample") or "").split(), dtype=np.int64)
        last = np.asarray((burst.findtext("lastValidSample") or "").split(), dtype=np.int64)
        valid = np.flatnonzero((first >= 0) & (last >= 0))
        if per_burst <= 0 or not len(valid):
            continue
        start = number * per_burst
        bursts.append(
            Burst(
                start + int(valid[0]),
                start + int(valid[-1]) + 1,
                int(first[valid].max()),
                int(last[valid].min()) + 1,
            )
        )
    return tuple(bursts)


def parse_annotation(xml: bytes, where: str = "annotation") -> Annotation:
    """Parse a product annotation XML; ``ValueError`` naming ``where`` and the missing element when incomplete."""
    root = ET.fromstring(xml)
    info = "imageAnnotation/imageInformation"
    points = root.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
    if not points:
        raise ValueError(f"{where}: no geolocation grid")
    projection = _text(root, "generalAnnotation/productInformation/projection", where)
    return Annotation(
        mission=_text(root, "adsHeader/missionId", where),
        product_type=_text(root, "adsHeader/productType", where),
        mode=_text(root, "adsHeader/mode", where),
        swath=_text(root, "adsHeader/swath", where),
        polarisation=_text(root, "adsHeader/polarisation", where),
        image_number=int(_text(root, "adsHeader/imageNumber", where)),
        first_line_time=datetime.fromisoformat(_text(root, f"{info}/productFirstLineUtcTime", where)),
        line_interval=float(_text(root, f"{info}/azimuthTimeInterval", where)),
        slant_range=projection.lower().startswith("slant"),
        range_pixel_spacing=float(_text(root, f"{info}/rangePixelSpacing", where)),
        azimuth_pixel_spacing=float(_text(root, f"{info}/azimuthPixelSpacing", where)),
        lines=int(_text(root, f"{info}/numberOfLines", where)),
        samples=int(_text(root, f"{info}/numberOfSamples", where)),
        incidence_mid_swath=float(_text(root, f"{info}/incidenceAngleMidSwath", where)),
        latitude=_grid(points, "latitude"),
        longitude=_grid(points, "longitude"),
        incidence=_grid(points, "incidenceAngle"),
        bursts=_bursts(root),
    )
