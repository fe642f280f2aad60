# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Faults on disk the readers must count and name: unlistable folders, symlink loops, dangling links, headers that
claim huge images, out-of-memory decodes; and complex SLC TIFFs, which must be read (detected), not rejected."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile

import training.data.listing as listing
from training.data import (
    CorruptSampleError,
    CorruptSampleWarning,
    FileDataset,
    GeoTiffFolder,
    NpyFolder,
    SkipCorrupt,
    Skipped,
    build_dataset,
    collate_samples,
    scan_files,
)
from training.data.listing import matches

HUGE = 20000


def write_npy(path: Path, side: int = 8, value: float = 1.0) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.full((side, side), value, np.float32)
    np.save(path, array)
    return array


def huge_header_npy(path: Path) -> None:
    """A .npy whose header claims a 20000² float32 array (1.5 GiB) over a few bytes of data."""
    with open(path, "wb") as file:
        np.lib.format.write_array_header_1_0(file, {"descr": "<f4", "fortran_order": False, "shape": (HUGE, HUGE)})
        file.write(b"\0" * 64)


def huge_header_tiff(path: Path) -> None:
    """A TIFF whose tags claim a 20000² float32 image over 16² pixels of data."""
    tifffile.imwrite(path, np.ones((16, 16), np.float32), metadata=None)
    with tifffile.TiffFile(path, mode="r+b") as tiff:
        tiff.pages[0].tags["ImageWidth"].overwrite(HUGE)
        tiff.pages[0].tags["ImageLength"].overwrite(HUGE)


def cint16_tiff(path: Path, iq: np.ndarray) -> None:
    """A Sentinel-1 SLC-style measurement TIFF: one complex int16 (CInt16, SampleFormat 5) sample per pixel.

    tifffile does not write SampleFormat 5, so the 4-byte I/Q pairs are written as float32 and the tag is rewritten.
    """
    tifffile.imwrite(path, np.ascontiguousarray(iq, dtype="<i2").view("<f4")[..., 0], byteorder="<", metadata=None)
    with tifffile.TiffFile(path, mode="r+b") as tiff:
        tiff.pages[0].tags["SampleFormat"].overwrite(5)


def test_glob_patterns_match_like_pathlib() -> None:
    assert matches("a.tif", "**/*.tif*") and matches("x/y/a.tiff", "**/*.tif*")
    assert not matches("x/a.npy", "**/*.tif*") and not matches("x/a.npy", "*.npy")
    assert matches("a.npy", "*.npy") and matches("ocean/a.npy", "ocean/*.npy") and not matches("ice/a.npy", "ocean/*")
    assert matches("A/b/c.png", "A/**/c.png") and matches("A/c.png", "A/**/c.png") and not matches("a.PNG", "*.png")
    assert matches("wv1/x_001.tif", "wv[12]/x_00?.tif")


def test_symlink_loops_and_dangling_links_are_counted_and_logged_once(tmp_path: Path, caplog) -> None:
    root = tmp_path / "archive"
    expected = [write_npy(root / "a.npy"), write_npy(root / "deep" / "b.npy", value=2)]
    write_npy(tmp_path / "elsewhere" / "c.npy", value=3)
    (root / "deep" / "back_to_root").symlink_to(root, target_is_directory=True)  # loop through an ancestor
    (root / "self_loop").symlink_to(root / "self_loop")  # ELOOP on stat
    (root / "deep" / "gone.npy").symlink_to(tmp_path / "deleted.npy")  # dangling
    (root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)  # a real link: followed
    (root / "linked_file.npy").symlink_to(root / "a.npy")

    caplog.set_level(logging.INFO, logger=listing.__name__)
    ds = NpyFolder(root)
    names = [str(p.relative_to(root)) for p in ds.files]
    assert names == ["a.npy", "deep/b.npy", "linked/c.npy", "linked_file.npy"]
    np.testing.assert_array_equal(ds[1]["image"], expected[1])
    report = ds.listing_report
    assert report.counts() == {"listed_files": 4, "unreadable_dirs": 0, "symlink_loops": 2, "dangling_links": 1}
    assert report.symlink_loops == [str(root / "deep" / "back_to_root"), str(root / "self_loop")]
    assert report.dangling_links == [str(root / "deep" / "gone.npy")]
    records = [r for r in caplog.records if r.name == listing.__name__]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    message = records[0].getMessage()
    assert f"listed 4 files under {root}" in message
    assert "2 symlink loops not followed" in message and "back_to_root" in message and "self_loop" in message
    assert "1 dangling symlinks" in message and "gone.npy" in message


def test_a_clean_folder_reports_no_problems(tmp_path: Path) -> None:
    write_npy(tmp_path / "a.npy")
    files, report = scan_files(tmp_path, "**/*.npy")
    assert files == [tmp_path / "a.npy"] and report.problems == 0
    assert report.summary() == f"listed 1 files under {tmp_path}"


def test_summary_names_the_first_few_and_counts_the_rest(tmp_path: Path) -> None:
    write_npy(tmp_path / "a.npy")
    for i in range(5):
        (tmp_path / f"gone{i}.npy").symlink_to(tmp_path / f"missing{i}.npy")
    _, report = scan_files(tmp_path, "*.npy")
    assert report.summary().endswith(
        f"5 dangling symlinks ({tmp_path / 'gone0.npy'}, {tmp_path / 'gone1.npy'}, {tmp_path / 'gone2.npy'}, "
        "... (2 more))"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 folder: permissions cannot be enforced")
def test_unreadable_sub_folder_is_counted_chmod(tmp_path: Path) -> None:
    write_npy(tmp_path / "a.npy")
    locked = tmp_path / "locked"
    write_npy(locked / "hidden.npy")
    locked.chmod(0)
    try:
        ds = NpyFolder(tmp_path)
    finally:
        locked.chmod(0o755)
    assert [p.name for p in ds.files] == ["a.npy"]
    assert ds.listing_report.unreadable_dirs == [f"{locked} (Permission denied)"]


def test_unreadable_sub_folder_is_counted(tmp_path: Path, monkeypatch) -> None:
    """The same case as the chmod test where permissions cannot be enforced (root): the folder refuses scandir."""
    write_npy(tmp_path / "a.npy")
    locked = tmp_path / "locked"
    write_npy(locked / "hidden.npy")
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).resolve() == locked.resolve():
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(listing.os, "scandir", scandir)
    ds = NpyFolder(tmp_path)
    assert [p.name for p in ds.files] == ["a.npy"]
    assert ds.listing_report.counts()["unreadable_dirs"] == 1
    assert ds.listing_report.unreadable_dirs == [f"{locked} (Permission denied)"]
    locked_only = tmp_path / "only_locked"
    locked_only.mkdir()
    (locked_only / "locked").symlink_to(locked, target_is_directory=True)
    with pytest.raises(ValueError, match=r"no files matching \['\*\*/\*\.npy'\] .*1 unreadable sub-folders"):
        NpyFolder(locked_only)


@pytest.mark.parametrize("kind", ["npy", "geotiff"])
def test_huge_headers_are_counted_skips_without_allocating(tmp_path: Path, kind: str) -> None:
    suffix, write_huge = {"npy": (".npy", huge_header_npy), "geotiff": (".tif", huge_header_tiff)}[kind]
    good = np.arange(64, dtype=np.float32).reshape(8, 8)
    if kind == "npy":
        np.save(tmp_path / "a_good.npy", good)
    else:
        tifffile.imwrite(tmp_path / "a_good.tif", good)
    write_huge(tmp_path / f"b_huge{suffix}")
    ds = build_dataset(kind, str(tmp_path))
    with pytest.raises(CorruptSampleError) as error:
        ds[1]
    message = str(error.value)
    assert f"b_huge{suffix}: the header claims a 20000 x 20000 float32 image (400,000,000 values, 1.5 GiB)" in message
    assert "more than max_pixels=67,108,864; skipped without reading" in message

    safe = SkipCorrupt(ds)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = collate_samples([safe[0], safe[1]])
    assert batch["n_skipped"] == 1 and Path(batch["skipped"][0]).name == f"b_huge{suffix}"
    assert [w.category for w in caught] == [CorruptSampleWarning]
    np.testing.assert_array_equal(batch["image"][0], good)

    small = build_dataset(kind, str(tmp_path), max_pixels=63)  # the limit is configurable
    with pytest.raises(CorruptSampleError, match=r"a_good\S*: the header claims a 8 x 8 float32 image \(64 values"):
        small[0]
    with pytest.raises(ValueError, match="max_pixels must be >= 1"):
        build_dataset(kind, str(tmp_path), max_pixels=0)


def test_memory_error_while_decoding_is_a_counted_skip(tmp_path: Path) -> None:
    def exhausted(path: Path) -> np.ndarray:
        raise MemoryError

    ds = SkipCorrupt(FileDataset([tmp_path / "x.tif"], exhausted))
    with pytest.warns(CorruptSampleWarning, match=r"x\.tif: out of memory while reading it"):
        assert ds[0] == Skipped(str(tmp_path / "x.tif"), "out of memory while reading it")


def test_object_npy_is_refused_without_unpickling(tmp_path: Path) -> None:
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CorruptSampleError, match=r"objects\.npy: the array holds Python objects \(dtype object\)"):
        NpyFolder(tmp_path)[0]


def test_complex_slc_tiffs_are_detected_to_intensity(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    iq = rng.integers(-2000, 2000, size=(12, 10, 2)).astype(np.int16)
    iq[0, 0] = (32767, -32768)  # extreme CInt16 values: no int16 overflow when squaring
    cint16_tiff(tmp_path / "a_cint16.tiff", iq)
    z = (rng.normal(size=(12, 10)) + 1j * rng.normal(size=(12, 10))).astype(np.complex64) * 100
    tifffile.imwrite(tmp_path / "b_complex64.tif", z)
    np.save(tmp_path / "c_complex.npy", z)

    with tifffile.TiffFile(tmp_path / "a_cint16.tiff") as tiff:  # the fixture really is CInt16
        assert (tiff.pages[0].sampleformat, tiff.pages[0].bitspersample) == (5, 32)
    ds = GeoTiffFolder(tmp_path)
    intensity = iq[..., 0].astype(np.float64) ** 2 + iq[..., 1].astype(np.float64) ** 2
    sample = ds[0]["image"]
    assert sample.dtype == np.float32 and sample.shape == (12, 10)
    np.testing.assert_allclose(sample, intensity, rtol=1e-7)
    assert sample[0, 0] == pytest.approx(32767**2 + 32768**2, rel=1e-7)
    np.testing.assert_allclose(ds[1]["image"], np.abs(z.astype(np.complex128)) ** 2, rtol=1e-6)
    np.testing.assert_allclose(NpyFolder(tmp_path)[0]["image"], np.abs(z.astype(np.complex128)) ** 2, rtol=1e-6)
