# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Windows of a Sentinel-1 measurement TIFF, read with tifffile without reading the rest of the image.

Sentinel-1 measurement TIFFs are uncompressed strips: GRD uint16 amplitude DN, SLC complex int16 (CInt16, returned
as complex64). For those, only the bytes of the window are read (row by row, or whole strips for full-width
windows), so tiling a GRD image reads it once. Other layouts (tiles, compression: ZSTD or LZW copies decode when
`imagecodecs` is installed, the `[sar]` extra) decode the strips or tiles the window covers. A compression or
predictor tifffile cannot decode, a file cut short or a shape that differs from the annotation raise
`CorruptSampleError` naming the file.
"""

from __future__ import annotations

import math
from typing import IO

import numpy as np
import tifffile

from ..errors import CorruptSampleError
from ..readers import check_size

Window = tuple[int, int, int, int]
"""(first row, stop row, first column, stop column) of the pixel grid, stops excluded."""

COMPLEX_INT = 5
"""TIFF SampleFormat of complex integers (Sentinel-1 SLC: CInt16, two int16 per pixel)."""


def read_window(
    handle: IO[bytes], window: Window, expected_shape: tuple[int, int], description: str, max_pixels: int
) -> np.ndarray:
    """The pixels of ``window`` of the first page of a TIFF, in the file's dtype (complex64 for SLC).

    ``expected_shape`` (lines, samples) is the annotation's; the window must lie inside it and hold at most
    ``max_pixels`` values.
    """
    row0, row1, col0, col1 = window
    check_size((row1 - row0, col1 - col0), np.complex64, max_pixels, description)
    try:
        with tifffile.TiffFile(handle) as tiff:
            page = tiff.pages.first
            shape = tuple(page.shape[:2])
            if shape != tuple(expected_shape):
                raise CorruptSampleError(description, f"TIFF of shape {shape}, the annotation says {expected_shape}")
            if not (0 <= row0 < row1 <= shape[0] and 0 <= col0 < col1 <= shape[1]):
                raise CorruptSampleError(description, f"window {window} outside the {shape} image")
            plain = page.compression == 1 and not page.is_tiled and page.samplesperpixel == 1
            read = _read_plain_strips if plain else _decode_segments
            return read(tiff, page, window, description)
    except CorruptSampleError:
        raise
    except MemoryError as error:
        raise CorruptSampleError(description, "out of memory while decoding the TIFF") from error
    except Exception as error:  # tifffile raises many types (TiffFileError, ValueError, KeyError, struct.error, ...)
        raise CorruptSampleError(description, f"unreadable TIFF ({type(error).__name__}: {error})") from error


def _segment(tiff: tifffile.TiffFile, page: tifffile.TiffPage, index: int, start: int, count: int, description: str):
    """``count`` bytes from ``start`` within segment ``index``, after checking that the file holds them."""
    offset = page.dataoffsets[index] + start
    if offset + count > tiff.filehandle.size or start + count > page.databytecounts[index]:
        raise CorruptSampleError(
            description,
            f"truncated TIFF: segment {index} needs bytes up to {offset + count:,}, the file has "
            f"{tiff.filehandle.size:,}",
        )
    tiff.filehandle.seek(offset)
    return tiff.filehandle.read(count)


def _read_plain_strips(
    tiff: tifffile.TiffFile, page: tifffile.TiffPage, window: Window, description: str
) -> np.ndarray:
    """Uncompressed strips: read the window's bytes only."""
    row0, row1, col0, col1 = window
    width = page.shape[1]
    if page.sampleformat == COMPLEX_INT:
        raw = np.dtype(f"{tiff.byteorder}i{page.bitspersample // 16}")
        per_pixel = 2
    else:
        raw, per_pixel = page.dtype.newbyteorder(tiff.byteorder), 1
    pixel_bytes = raw.itemsize * per_pixel
    rows_per_strip = page.rowsperstrip or page.shape[0]
    chunks = []
    for strip in range(row0 // rows_per_strip, math.ceil(row1 / rows_per_strip)):
        top = strip * rows_per_strip
        first, stop = max(row0, top), min(row1, top + rows_per_strip)
        if col0 == 0 and col1 == width:
            start = (first - top) * width * pixel_bytes
            chunks.append(_segment(tiff, page, strip, start, (stop - first) * width * pixel_bytes, description))
        else:
            for row in range(first, stop):
                start = ((row - top) * width + col0) * pixel_bytes
                chunks.append(_segment(tiff, page, strip, start, (col1 - col0) * pixel_bytes, description))
    values = np.frombuffer(b"".join(chunks), dtype=raw).reshape(row1 - row0, col1 - col0, per_pixel)
    if per_pixel == 2:
        pixels = np.empty((row1 - row0, col1 - col0), np.complex64)
        pixels.real, pixels.imag = values[..., 0], values[..., 1]
        return pixels
    return values[..., 0].astype(page.dtype, copy=False)


def _decode_segments(tiff: tifffile.TiffFile, page: tifffile.TiffPage, window: Window, description: str) -> np.ndarray:
    """Tiled or compressed: decode each strip or tile the window covers."""
    row0, row1, col0, col1 = window
    height, width = page.shape[:2]
    if page.is_tiled:
        seg_rows, seg_cols = page.tilelength, page.tilewidth
    else:
        seg_rows, seg_cols = page.rowsperstrip or height, width
    across = math.ceil(width / seg_cols)
    out = np.empty((row1 - row0, col1 - col0), dtype=page.dtype)
    for seg_row in range(row0 // seg_rows, math.ceil(row1 / seg_rows)):
        for seg_col in range(col0 // seg_cols, math.ceil(col1 / seg_cols)):
            index = seg_row * across + seg_col
            data = _segment(tiff, page, index, 0, page.databytecounts[index], description)
            segment = page.decode(data, index)[0]
            segment = segment.reshape(segment.shape[-3], segment.shape[-2])  # (rows, cols) of the segment
            top, left = seg_row * seg_rows, seg_col * seg_cols
            r0, r1 = max(row0, top), min(row1, top + segment.shape[0])
            c0, c1 = max(col0, left), min(col1, left + segment.shape[1])
            out[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = segment[r0 - top : r1 - top, c0 - left : c1 - left]
    return out
