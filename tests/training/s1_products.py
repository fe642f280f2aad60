"""Sentinel-1 SAFE test products: the real metadata of `tests/data/s1-safe/` (see its README) and WV SLC products
built from the real schemas with synthetic speckle of known σ0 (single look: exponential intensity)."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.training.test_data_faults import cint16_tiff
from training.data.sentinel1 import NodeGrid, parse_calibration

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "s1-safe"
IW_SLC = FIXTURES / "S1A_IW_SLC__1SDV_20220104T170557_20220104T170624_041314_04E951_F1F1.SAFE.zip"
IW_GRD = FIXTURES / "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE.zip"
WV_MANIFEST = FIXTURES / "S1B_WV_SLC__1SSV_20210403T083025_20210403T084452_026300_032390_D542.SAFE.zip"


def member(zip_path: Path, suffix_pattern: str) -> bytes:
    """The one file of a fixture zip whose name matches ``suffix_pattern`` (a regex searched in the name)."""
    with zipfile.ZipFile(zip_path) as archive:
        (name,) = [n for n in archive.namelist() if re.search(suffix_pattern, n)]
        return archive.read(name)


def extract(zip_path: Path, dest: Path) -> Path:
    """Unzip a fixture product into ``dest``; returns its ``.SAFE`` folder."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(dest)
    return dest / zip_path.name.removesuffix(".zip")


@dataclass(frozen=True)
class Imagette:
    """One synthetic WV imagette: swath (WV1/WV2), size, pixel spacing (slant range, azimuth) in metres, incidence at
    the centre (deg; the grid goes from −0.5° to +0.5° of it across the swath)."""

    swath: str
    lines: int = 400
    samples: int = 300
    azimuth_spacing: float = 5.0
    range_spacing: float = 5.0 * math.sin(math.radians(23.0))  # 5 m in ground range at 23°
    incidence: float = 23.0


def _set(root: ET.Element, path: str, value: object) -> None:
    element = root.find(path)
    assert element is not None, path
    element.text = str(value)


def _replace_list(root: ET.Element, path: str, tag: str, items: list[dict[str, str]]) -> None:
    parent = root.find(path)
    assert parent is not None, path
    for child in list(parent):
        parent.remove(child)
    parent.set("count", str(len(items)))
    for item in items:
        element = ET.SubElement(parent, tag)
        for key, text in item.items():
            ET.SubElement(element, key).text = text


def wv_annotation(stem: str, imagette: Imagette, number: int) -> bytes:
    """The IW SLC fixture's annotation turned into a WV imagette's: header, image size and spacing, a 3 × 3
    geolocation grid, no bursts."""
    root = ET.fromstring(member(IW_SLC, r"annotation/s1a-iw1-slc-vv-[^/]*\.xml$"))
    for path, value in (
        ("adsHeader/mode", "WV"),
        ("adsHeader/swath", imagette.swath),
        ("adsHeader/missionId", "S1B"),
        ("adsHeader/imageNumber", f"{number:03d}"),
        ("imageAnnotation/imageInformation/numberOfLines", imagette.lines),
        ("imageAnnotation/imageInformation/numberOfSamples", imagette.samples),
        ("imageAnnotation/imageInformation/rangePixelSpacing", imagette.range_spacing),
        ("imageAnnotation/imageInformation/azimuthPixelSpacing", imagette.azimuth_spacing),
        ("imageAnnotation/imageInformation/incidenceAngleMidSwath", imagette.incidence),
        ("imageAnnotation/imageInformation/productFirstLineUtcTime", f"2021-04-03T08:30:{25 + number:02d}.000000"),
        ("swathTiming/linesPerBurst", 0),
    ):
        _set(root, path, value)
    _replace_list(root, "swathTiming/burstList", "burst", [])
    points = []
    for line in (0, (imagette.lines - 1) / 2, imagette.lines - 1):
        for pixel in (0, (imagette.samples - 1) / 2, imagette.samples - 1):
            fraction = pixel / (imagette.samples - 1)
            points.append(
                {
                    "line": f"{line:g}",
                    "pixel": f"{pixel:g}",
                    "latitude": f"{45.0 + number + line * 1e-4:.6f}",
                    "longitude": f"{-20.0 + pixel * 1e-4:.6f}",
                    "incidenceAngle": f"{imagette.incidence - 0.5 + fraction:.6f}",
                }
            )
    _replace_list(root, "geolocationGrid/geolocationGridPointList", "geolocationGridPoint", points)
    return ET.tostring(root, xml_declaration=True, encoding="UTF-8")


def wv_calibration(imagette: Imagette, number: int) -> bytes:
    """The IW SLC fixture's calibration XML with a 3 × 4-node sigmaNought LUT over the imagette, values taken from
    the real LUT (≈ 330) and varied across range so that interpolation matters."""
    real = parse_calibration(member(IW_SLC, r"calibration-s1a-iw1[^/]*\.xml$"))
    root = ET.fromstring(member(IW_SLC, r"calibration-s1a-iw1[^/]*\.xml$"))
    _set(root, "adsHeader/swath", imagette.swath)
    _set(root, "adsHeader/mode", "WV")
    _set(root, "adsHeader/imageNumber", f"{number:03d}")
    pixels = np.linspace(0, imagette.samples - 1, 4).round().astype(int)
    vectors = []
    for k, line in enumerate(np.linspace(0, imagette.lines - 1, 3).round().astype(int)):
        values = real.values[k][: len(pixels)] * (1.0 + 0.05 * np.arange(len(pixels)))
        text = " ".join(f"{v:.6e}" for v in values)
        vectors.append(
            {
                "azimuthTime": "2021-04-03T08:30:25.000000",
                "line": str(line),
                "pixel": " ".join(map(str, pixels)),
                "sigmaNought": text,
                "betaNought": text,
                "gamma": text,
                "dn": text,
            }
        )
    _replace_list(root, "calibrationVectorList", "calibrationVector", vectors)
    return ET.tostring(root, xml_declaration=True, encoding="UTF-8")


NOISE_EQUIVALENT_SIGMA0 = 0.003
"""Thermal noise η / A² of the synthetic products (-25 dB), written as their noise LUT (η = 0.003 · A²)."""


def wv_noise(imagette: Imagette, number: int, calibration: NodeGrid) -> bytes:
    """The IW GRD fixture's noise XML with a range LUT η = `NOISE_EQUIVALENT_SIGMA0` · A² at the calibration nodes
    (so η / A² is constant where A is bilinear between nodes, up to interpolation) and one azimuth block of 1.0."""
    root = ET.fromstring(member(IW_GRD, r"noise-s1b-iw-grd-vv[^/]*\.xml$"))
    _set(root, "adsHeader/swath", imagette.swath)
    _set(root, "adsHeader/mode", "WV")
    _set(root, "adsHeader/imageNumber", f"{number:03d}")
    vectors = [
        {
            "azimuthTime": "2021-04-03T08:30:25.000000",
            "line": f"{line:g}",
            "pixel": " ".join(f"{p:g}" for p in pixels),
            "noiseRangeLut": " ".join(f"{NOISE_EQUIVALENT_SIGMA0 * a * a:.6e}" for a in values),
        }
        for line, pixels, values in zip(calibration.lines, calibration.pixels, calibration.values, strict=True)
    ]
    _replace_list(root, "noiseRangeVectorList", "noiseRangeVector", vectors)
    block = {
        "swath": imagette.swath,
        "firstAzimuthLine": "0",
        "firstRangeSample": "0",
        "lastAzimuthLine": str(imagette.lines - 1),
        "lastRangeSample": str(imagette.samples - 1),
        "line": f"0 {imagette.lines - 1}",
        "noiseAzimuthLut": "1.0 1.0",
    }
    _replace_list(root, "noiseAzimuthVectorList", "noiseAzimuthVector", [block])
    return ET.tostring(root, xml_declaration=True, encoding="UTF-8")


def make_wv_product(
    dest: Path,
    imagettes: list[Imagette],
    sigma0: float = 0.1,
    seed: int = 0,
    calibration: bool = True,
    product_id: str | None = None,
) -> Path:
    """A WV SLC SAFE folder (the real product's name and manifest) with the given imagettes, numbered 1, 2, ... and
    named as the manifest lists them; pixels: complex int16 single-look speckle of σ0 ``sigma0`` plus thermal noise,
    calibrated by the imagette's LUT (|DN|² / A² = (σ0 + NESZ) · exponential; noise LUT η = NESZ · A², see
    `wv_noise`). ``product_id`` replaces the real product's unique id (its last 4 characters, ``D542``) to make
    several distinct products."""
    product = extract(WV_MANIFEST, dest)
    if product_id is not None:
        product = product.rename(product.with_name(product.name.replace("_D542.SAFE", f"_{product_id}.SAFE")))
    manifest = (product / "manifest.safe").read_text()
    stems = {
        swath: re.findall(rf"measurement/(s1b-{swath.lower()}-slc-vv-[^\"]*)\.tiff", manifest)
        for swath in ("WV1", "WV2")
    }
    rng = np.random.default_rng(seed)
    for number, imagette in enumerate(imagettes, start=1):
        stem = stems[imagette.swath][(number - 1) // 2]
        (product / "annotation" / "calibration").mkdir(parents=True, exist_ok=True)
        (product / "measurement").mkdir(exist_ok=True)
        (product / "annotation" / f"{stem}.xml").write_bytes(wv_annotation(stem, imagette, number))
        calibration_xml = wv_calibration(imagette, number)
        if calibration:
            (product / "annotation" / "calibration" / f"calibration-{stem}.xml").write_bytes(calibration_xml)
        nodes = parse_calibration(calibration_xml)
        noise = wv_noise(imagette, number, nodes)
        (product / "annotation" / "calibration" / f"noise-{stem}.xml").write_bytes(noise)
        lut = nodes.interpolate(np.arange(imagette.lines), np.arange(imagette.samples))
        shape = (imagette.lines, imagette.samples)
        # Speckle of the signal plus the thermal noise (both exponential intensities): |DN|² / A² has mean σ0 + NESZ.
        amplitude = lut * np.sqrt((sigma0 + NOISE_EQUIVALENT_SIGMA0) * rng.exponential(1.0, shape))
        phase = rng.uniform(0, 2 * np.pi, shape)
        iq = np.stack([amplitude * np.cos(phase), amplitude * np.sin(phase)], axis=-1).round()
        cint16_tiff(product / "measurement" / f"{stem}.tiff", iq.astype(np.int16))
    return product


def zip_product(product: Path, dest: Path) -> Path:
    """``product`` (a SAFE folder) as ``dest/<name>.SAFE.zip``, members under ``<name>.SAFE/`` as ESA ships them."""
    path = dest / f"{product.name}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for file in sorted(product.rglob("*")):
            if file.is_file():
                archive.write(file, f"{product.name}/{file.relative_to(product)}")
    return path


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.training.s1_products DIR``: two WV SLC products (WV1 + WV2 imagettes of 2 × 1.5 km, σ0 0.1
    and 0.02) in DIR, for trying the ingest on real schemas without downloading a product."""
    import sys

    dest = Path((argv or sys.argv[1:])[0])
    dest.mkdir(parents=True, exist_ok=True)
    for product_id, sigma0, seed in (("AAAA", 0.1, 1), ("BBBB", 0.02, 2)):
        build = dest / f".build-{product_id}"
        product = make_wv_product(
            build, [Imagette("WV1"), Imagette("WV2", incidence=36.5)], sigma0, seed, True, product_id
        )
        product.rename(dest / product.name)
        build.rmdir()
        print(dest / product.name)


if __name__ == "__main__":
    main()
