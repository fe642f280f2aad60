"""Sentinel-1 SAFE reader: calibration LUTs on the real fixture XML, WV SLC imagettes of known σ0 → 50 m vignettes,
IW GRD tiles, and products that cannot be read (named, counted)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import tifffile

from tests.training.s1_products import (
    IW_GRD,
    IW_SLC,
    NOISE_EQUIVALENT_SIGMA0,
    Imagette,
    extract,
    make_wv_product,
    member,
)
from tests.training.test_data_faults import cint16_tiff
from training.data import CorruptSampleError
from training.data.sentinel1 import (
    ProductReport,
    SafeArchive,
    SafeProduct,
    Sentinel1Options,
    calibrate,
    iterate_product,
    parse_calibration,
    parse_noise,
)
from training.data.sentinel1.pixels import read_window


def _vectors(xml: bytes, tag: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(line, pixel nodes, values) of each LUT vector, read independently of the reader."""
    root = ET.fromstring(xml)
    return [
        (
            int(v.findtext("line")),
            np.array(v.findtext("pixel").split(), float),
            np.array(v.findtext(tag).split(), float),
        )
        for v in root.iter()
        if v.find(tag) is not None
    ]


@pytest.mark.parametrize(
    ("fixture", "pattern"),
    [(IW_GRD, r"calibration-s1b-iw-grd-vv[^/]*\.xml$"), (IW_SLC, r"calibration-s1a-iw1[^/]*\.xml$")],
)
def test_sigma0_is_dn_squared_over_the_bilinear_lut_at_and_between_nodes(fixture, pattern):
    xml = member(fixture, pattern)
    lut = parse_calibration(xml)
    vectors = _vectors(xml, "sigmaNought")
    (line0, pixels0, values0), (line1, pixels1, values1) = vectors[3], vectors[4]
    assert np.array_equal(pixels0, pixels1)
    j = 7
    p0, p1 = int(pixels0[j]), int(pixels0[j + 1])
    window = (line0, line1 + 1, p0, p1 + 1)  # two vectors, two pixel nodes, and every pixel between them
    raw = np.random.default_rng(0).integers(
        1, 3000, size=(window[1] - window[0], window[3] - window[2]), dtype=np.uint16
    )
    sigma0 = calibrate(raw, window, lut)
    for row, col in [
        (line0, p0),
        (line0, p1),
        (line1, p0),
        (line1, p1),
        ((line0 + line1) // 2, (p0 + p1) // 2),
        (line0 + 1, p0 + 3),
    ]:
        u, v = (row - line0) / (line1 - line0), (col - p0) / (p1 - p0)
        a = (1 - u) * ((1 - v) * values0[j] + v * values0[j + 1]) + u * ((1 - v) * values1[j] + v * values1[j + 1])
        dn = float(raw[row - line0, col - p0])
        assert sigma0[row - line0, col - p0] == pytest.approx(dn * dn / (a * a), rel=1e-5), (row, col)


def test_noise_removal_subtracts_the_range_times_azimuth_lut():
    noise = parse_noise(member(IW_GRD, r"noise-s1b-iw-grd-vv[^/]*\.xml$"))
    range_vectors = _vectors(member(IW_GRD, r"noise-s1b[^/]*\.xml$"), "noiseRangeLut")
    line, pixels, values = range_vectors[2]
    block = noise.azimuth_blocks[0]
    assert block.first_sample <= pixels[5] <= block.last_sample and block.first_line <= line <= block.last_line
    expected = values[5] * np.interp(line, block.lines, block.values)
    assert noise.interpolate(np.array([line]), np.array([pixels[5]]))[0, 0] == pytest.approx(expected, rel=1e-9)
    lut = parse_calibration(member(IW_GRD, r"calibration-s1b-iw-grd-vv[^/]*\.xml$"))
    raw = np.full((1, 1), 500, np.uint16)
    window = (int(line), int(line) + 1, int(pixels[5]), int(pixels[5]) + 1)
    a = lut.interpolate(np.array([line]), np.array([pixels[5]]))[0, 0]
    assert calibrate(raw, window, lut, noise)[0, 0] == pytest.approx((500.0**2 - expected) / a**2, rel=1e-5)


def test_wv_imagettes_become_50m_vignettes_with_their_metadata(tmp_path):
    wv1 = Imagette("WV1")  # 5 m x 5 m ground: box averaging by 10
    wv2 = Imagette("WV2", lines=360, samples=320, azimuth_spacing=4.1, range_spacing=3.0, incidence=36.5)
    product = make_wv_product(tmp_path, [wv1, wv2])
    report = ProductReport(product.name)
    vignettes = list(iterate_product(product, Sentinel1Options(), report))
    assert report.failed == [] and report.vignettes == 2
    first, second = vignettes
    assert first.image.shape == (40, 30) and first.image.dtype == np.float32
    ground = 3.0 / math.sin(math.radians(36.5))  # slant → ground range at the centre incidence
    assert second.image.shape == (round(360 * 4.1 / 50), round(320 * ground / 50))
    assert [v.metadata["swath"] for v in vignettes] == ["wv1", "wv2"]
    assert [v.metadata["imagette"] for v in vignettes] == [1, 2]
    meta = second.metadata
    assert meta["product"] == "S1B_WV_SLC__1SSV_20210403T083025_20210403T084452_026300_032390_D542"
    assert meta["polarisation"] == "VV" and meta["pixel_spacing_m"] == 50.0
    assert meta["incidence_angle"] == pytest.approx(36.5, abs=1e-6)
    assert meta["latitude"] == pytest.approx(45.0 + 2 + 179.5e-4) and meta["longitude"] == pytest.approx(
        -20.0 + 159.5e-4
    )
    assert meta["time"].startswith("2021-04-03T08:30:27")


def test_known_sigma0_keeps_its_mean_at_50m_and_the_db_first_path_is_biased(tmp_path):
    sigma0 = 0.05  # -13 dB
    product = make_wv_product(tmp_path, [Imagette("WV1", lines=600, samples=600)], sigma0=sigma0, seed=3)
    (vignette,) = iterate_product(product, Sentinel1Options(remove_noise=True), ProductReport("wv"))
    level = 10 * math.log10(sigma0)
    assert vignette.image.shape == (60, 60)
    assert abs(10 * math.log10(vignette.image.astype(np.float64).mean()) - level) < 0.05
    assert abs(np.mean(10 * np.log10(vignette.image.astype(np.float64))) - level) < 0.05  # 100 looks: -0.02 dB
    # The same pixels calibrated at 5 m, converted to dB first and then averaged: the log-speckle bias.
    safe = SafeProduct(product)
    (measurement,) = safe.measurements()
    with safe.open(measurement.tiff) as handle:
        raw = tifffile.imread(handle)
    noisy = calibrate(raw, (0, 600, 0, 600), parse_calibration(safe.read(measurement.calibration)))  # σ0 + NESZ
    noisy_level = 10 * math.log10(sigma0 + NOISE_EQUIVALENT_SIGMA0)
    assert 10 * math.log10(noisy.astype(np.float64).mean()) == pytest.approx(noisy_level, abs=0.05)
    detected = noisy[noisy > 0].astype(np.float64)  # a few DN are 0 + 0j after quantisation: no log
    assert detected.size > 0.999 * noisy.size
    db_first = float(np.mean(10 * np.log10(detected)))
    assert db_first - noisy_level == pytest.approx(-2.51, abs=0.05)


def test_iw_grd_is_tiled_into_vignettes_and_no_data_tiles_are_counted(tmp_path):
    product = extract(IW_GRD, tmp_path)
    (annotation,) = (product / "annotation").glob("s1b-*.xml")
    text = annotation.read_text()
    lines, samples = 800, 1000
    text = text.replace("<numberOfLines>16705</numberOfLines>", f"<numberOfLines>{lines}</numberOfLines>")
    text = text.replace("<numberOfSamples>26102</numberOfSamples>", f"<numberOfSamples>{samples}</numberOfSamples>")
    annotation.write_text(text)
    rng = np.random.default_rng(1)
    dn = (600 * np.sqrt(0.02 * rng.exponential(1.0, (lines, samples)))).round().astype(np.uint16)
    dn[:, :250] = 0  # no-data border
    (product / "measurement").mkdir()
    tifffile.imwrite(product / "measurement" / f"{annotation.stem}.tiff", dn, rowsperstrip=1)
    options = Sentinel1Options(vignette_size=32, remove_noise=True)  # 10 m GRD pixels: tiles of 160 x 160
    report = ProductReport(product.name)
    vignettes = list(iterate_product(product, options, report))
    assert report.failed == []
    assert report.nodata_tiles == 5 * 2  # the tiles of columns 0-159 and 160-319 are > 10 % zero
    assert len(vignettes) == 5 * 6 - 10
    assert {v.image.shape for v in vignettes} == {(32, 32)}
    assert {v.metadata["swath"] for v in vignettes} == {"iw"}
    assert all(np.isfinite(v.image).all() for v in vignettes)


def test_predictor_4_slc_tiff_is_a_named_skip(tmp_path):
    report = ProductReport(IW_SLC.name)
    assert list(iterate_product(IW_SLC, Sentinel1Options(), report)) == []
    (failure,) = report.failed
    assert "s1a-iw1-slc-vv-20220104t170558-20220104t170623-041314-04e951-004.tiff" in failure
    assert "unreadable TIFF" in failure and "PREDICTOR" in failure.upper()


def test_missing_calibration_and_truncated_tiff_are_named(tmp_path):
    no_calibration = make_wv_product(tmp_path / "a", [Imagette("WV1")], calibration=False)
    with pytest.raises(
        CorruptSampleError, match=r"calibration XML annotation/calibration/calibration-s1b-wv1.* is missing"
    ):
        list(iterate_product(no_calibration, Sentinel1Options(), ProductReport("a")))
    truncated = make_wv_product(tmp_path / "b", [Imagette("WV1")])
    (tiff,) = (truncated / "measurement").glob("*.tiff")
    tiff.write_bytes(tiff.read_bytes()[: tiff.stat().st_size // 2])
    report = ProductReport("b")
    assert list(iterate_product(truncated, Sentinel1Options(), report)) == []
    assert len(report.failed) == 1 and tiff.name in report.failed[0] and "truncated TIFF" in report.failed[0]


def test_safe_archive_reads_products_lazily_and_names_the_bad_ones(tmp_path):
    make_wv_product(tmp_path / "wv", [Imagette("WV1"), Imagette("WV2")])
    archive = SafeArchive([tmp_path / "wv", IW_SLC])
    # 2 WV imagettes + the IW SLC's tiles, planned from its XML: 9 bursts, each 1462 valid lines x 20447 valid
    # samples, at 13.95 m x 4.18 m (ground) → 1 x 6 tiles of 918 x 3060 px (12.8 km at 50 m).
    assert len(archive) == 2 + 9 * 6
    # products are listed in path order, which depends on where the checkout and the temporary folder are
    wv = [i for i in range(len(archive)) if "-wv" in archive.describe(i)]
    iw = [i for i in range(len(archive)) if "-iw1-" in archive.describe(i)]
    assert len(wv) == 2 and len(iw) == 9 * 6
    sample = archive[wv[0]]
    assert sample["image"].shape == (40, 30) and sample["incidence_angle"] == pytest.approx(23.0)
    with pytest.raises(CorruptSampleError, match="unreadable TIFF"):
        archive[iw[3]]


@pytest.mark.parametrize(
    "layout",
    [
        {"rowsperstrip": 7},  # uncompressed strips: only the window's bytes are read
        {"rowsperstrip": 1},
        {"tile": (16, 32)},  # tiled: the covered tiles are decoded
        {"rowsperstrip": 5, "compression": "deflate"},  # compressed: the covered strips are decoded
    ],
    ids=["strips", "rows", "tiles", "deflate"],
)
def test_windows_equal_slices_of_the_whole_image(tmp_path, layout):
    rng = np.random.default_rng(4)
    dn = rng.integers(0, 65535, size=(50, 70), dtype=np.uint16)
    path = tmp_path / "grd.tiff"
    tifffile.imwrite(path, dn, metadata=None, **layout)
    iq = rng.integers(-3000, 3000, size=(50, 70, 2), dtype=np.int16)
    cint16_tiff(tmp_path / "slc.tiff", iq)
    slc = iq[..., 0] + 1j * iq[..., 1]
    for window in [(0, 50, 0, 70), (3, 17, 5, 44), (49, 50, 69, 70), (10, 40, 0, 70)]:
        r0, r1, c0, c1 = window
        with open(path, "rb") as handle:
            np.testing.assert_array_equal(read_window(handle, window, (50, 70), "grd", 10**6), dn[r0:r1, c0:c1])
        with open(tmp_path / "slc.tiff", "rb") as handle:
            pixels = read_window(handle, window, (50, 70), "slc", 10**6)
        assert pixels.dtype == np.complex64
        np.testing.assert_array_equal(pixels, slc[r0:r1, c0:c1])
    with open(path, "rb") as handle, pytest.raises(CorruptSampleError, match=r"grd: TIFF of shape \(50, 70\)"):
        read_window(handle, (0, 1, 0, 1), (60, 70), "grd", 10**6)
