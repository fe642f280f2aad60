# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Windows of a Sentinel-1 measurement TIFF, read with tifffile: only the strips or tiles a window covers are decoded.

Sentinel-1 measurement TIFFs are uncompressed: GRD uint16 amplitude DN, SLC complex int16 (CInt16, read as
complex64). Compressed copies (e.g. ZSTD or LZW) decode when `imagecodecs` is installed (the `[sar]` extra); a
compression or predictor tifffile cannot decode, a file cut short or a shape that differs from the annotation raise
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


def read_window(
    handle: IO[bytes], window: Window, expected_shape: tuple[int, int], description: str, max_pixels: int
) -> np.ndarray:
    """The pixels of ``window`` of the first page of a TIFF, in the file's dtype (complex for SLC).

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
            if page.is_tiled:
                seg_rows, seg_cols = page.tilelength, page.tilewidth
            else:
                seg_rows, seg_cols = page.rowsperstrip or shape[0], shape[1]
            across = math.ceil(shape[1] / seg_cols)
            out = np.empty((row1 - row0, col1 - col0), dtype=page.dtype)
            file_size = tiff.filehandle.size
            for seg_row in range(row0 // seg_rows, math.ceil(row1 / seg_rows)):
                for seg_col in range(col0 // seg_cols, math.ceil(col1 / seg_cols)):
                    index = seg_row * across + seg_col
                    offset, count = page.dataoffsets[index], page.databytecounts[index]
                    if offset + count > file_size:
                        raise CorruptSampleError(
                            description,
                            f"truncated TIFF: segment {index} ends at byte {offset + count:,}, the file has "
                            f"{file_size:,} bytes",
                        )
                    tiff.filehandle.seek(offset)
                    segment = page.decode(tiff.filehandle.read(count), index)[0]
                    segment = segment.reshape(segment.shape[-3], segment.shape[-2])  # (rows, cols) of the segment
                    top, left = seg_row * seg_rows, seg_col * seg_cols
                    r0, r1 = max(row0, top), min(row1, top + segment.shape[0])
                    c0, c1 = max(col0, left), min(col1, left + segment.shape[1])
                    out[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = segment[
                        r0 - top : r1 - top, c0 - left : c1 - left
                    ]
            return out
    except CorruptSampleError:
        raise
    except MemoryError as error:
        raise CorruptSampleError(description, "out of memory while decoding the TIFF") from error
    except Exception as error:  # tifffile raises many types (TiffFileError, ValueError, KeyError, struct.error, ...)
        raise CorruptSampleError(description, f"unreadable TIFF ({type(error).__name__}: {error})") from error
