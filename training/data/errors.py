"""Errors raised by the dataset readers."""

from __future__ import annotations


class CorruptSampleError(ValueError):
    """A sample that cannot be used: unreadable or corrupt file (or parquet row group), a header that claims more than
    the reader's ``max_pixels``, out of memory while decoding, a wrong shape, or an all-NaN image.

    ``description`` is the file or record name (``ds.describe(i)``) so that a skipped sample can be traced back to its
    source; ``reason`` says what was wrong. `training.data.SkipCorrupt` turns this error into a skipped sample.
    """

    def __init__(self, description: str, reason: str = "") -> None:
        super().__init__(f"{description}: {reason}" if reason else description)
        self.description = description
        self.reason = reason
