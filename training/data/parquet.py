# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Parquet shards read in place: memory-mapped, one row group at a time, nothing copied to a cache.

`datasets.load_dataset("parquet")` converts every shard into Arrow files under the ``datasets`` cache before the first
row can be read (a full copy of the archive; see ``benchmarks/bench_parquet_reading.py``). `ParquetShards` instead
reads each shard's footer at construction and decodes, per row asked for, the asked columns of the row group holding
it (the last one is kept, so reading in order decodes each group once); page checksums, where the writer stored them,
are verified. Row ``i`` is always the same row: shards in sorted path order, row groups and rows in file order, so
random access by index and exact resume stay deterministic.

A row costs the decoding of its whole row group: shards written with small row groups (tens of rows) read fast in
random order; a shard with large row groups is announced once with the remedy (re-write it with smaller row groups,
or let the reader convert the archive once into Arrow files in a chosen ``cache_dir``).
"""

from __future__ import annotations

import bisect
import logging
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import CorruptSampleError

logger = logging.getLogger(__name__)

LARGE_ROW_GROUP_BYTES = 64 * 2**20
"""A row group larger than this (uncompressed) makes random access slow; the reader then says so once."""
OPEN_FILES = 32
"""Shards kept open (memory-mapped) per process; others are reopened on demand."""


class ParquetShards:
    """The rows of parquet files, in place.

    Args:
        files: the shards, in dataset order (all with the same columns).

    Attributes:
        column_names: the columns of the shards.
        features: their ``datasets.Features`` (from the schema metadata that ``datasets`` writes, else inferred).

    Raises ``ValueError`` naming the shard when a footer cannot be read (a truncated or non-parquet file) or when
    the shards' columns differ; a row group that fails to decode later raises `CorruptSampleError` naming the shard
    and the row group, so its rows are counted skips.
    """

    def __init__(self, files: Sequence[str | Path]) -> None:
        import datasets

        if not files:
            raise ValueError("ParquetShards needs at least one parquet file")
        self.files = [str(f) for f in files]
        starts, locations, schema, largest = [], [], None, (0, "")
        total = 0
        for number, path in enumerate(self.files):
            metadata, shard_schema = _read_footer(path)
            if schema is None:
                schema = shard_schema
            elif shard_schema.names != schema.names:
                raise ValueError(
                    f"{path}: columns {shard_schema.names} differ from those of {self.files[0]} ({schema.names}); "
                    "all parquet shards of one dataset must have the same columns"
                )
            for group in range(metadata.num_row_groups):
                row_group = metadata.row_group(group)
                if row_group.num_rows == 0:
                    continue
                starts.append(total)
                locations.append((number, group))
                total += row_group.num_rows
                largest = max(largest, (row_group.total_byte_size, f"{path} row group {group}"))
        self._starts, self._locations, self._length = starts, locations, total
        self.column_names = list(schema.names)
        self.features = datasets.Features.from_arrow_schema(schema)
        self._open: OrderedDict[int, pq.ParquetFile] = OrderedDict()
        self._groups: dict[tuple[str, ...], tuple[tuple[int, int], pa.Table]] = {}
        if largest[0] > LARGE_ROW_GROUP_BYTES:
            logger.warning(
                "parquet row groups up to %.1f MiB (%s): every random read decodes a whole row group. For training, "
                "re-write the shards with smaller row groups (pyarrow.parquet.write_table(..., row_group_size=32)) "
                "or pass a cache_dir (--hf_cache_dir) to convert them once into memory-mapped Arrow files there.",
                largest[0] / 2**20,
                largest[1],
            )

    def __len__(self) -> int:
        return self._length

    def __getstate__(self) -> dict:  # for DataLoader workers: open files and decoded groups stay behind
        return {**self.__dict__, "_open": OrderedDict(), "_groups": {}}

    def describe(self, index: int) -> str:
        number, group, row = self._locate(index)
        return f"{self.files[number]}[row group {group}, row {row}]"

    def column(self, name: str) -> list[Any]:
        """The whole column ``name`` as Python values (reads only that column of every shard)."""
        values: list[Any] = []
        for number, path in enumerate(self.files):
            try:
                values.extend(self._file(number).read(columns=[name]).column(name).to_pylist())
            except (OSError, pa.ArrowException) as error:
                raise ValueError(f"{path}: cannot read column {name!r} ({error})") from error
        return values

    def row(self, index: int, columns: Sequence[str]) -> dict[str, Any]:
        """``columns`` of row ``index``: list columns as numpy arrays (nested lists as object arrays of rows), other
        columns as Python values."""
        number, group, row = self._locate(index)
        table = self._row_group(number, group, tuple(columns))
        return {column: _cell(table.column(column).slice(row, 1).combine_chunks()) for column in columns}

    def _locate(self, index: int) -> tuple[int, int, int]:
        if not 0 <= index < self._length:
            raise IndexError(f"row {index} out of range for {len(self.files)} parquet shards with {self._length} rows")
        position = bisect.bisect_right(self._starts, index) - 1
        number, group = self._locations[position]
        return number, group, index - self._starts[position]

    def _file(self, number: int) -> pq.ParquetFile:
        if number in self._open:
            self._open.move_to_end(number)
            return self._open[number]
        handle = pq.ParquetFile(self.files[number], memory_map=True, page_checksum_verification=True)
        self._open[number] = handle
        if len(self._open) > OPEN_FILES:
            self._open.popitem(last=False)[1].close()
        return handle

    def _row_group(self, number: int, group: int, columns: tuple[str, ...]) -> pa.Table:
        """``columns`` of one row group, decoded; the last group read is kept for each set of columns."""
        cached = self._groups.get(columns)
        if cached is not None and cached[0] == (number, group):
            return cached[1]
        try:
            table = self._file(number).read_row_group(group, columns=list(columns))
        except (OSError, pa.ArrowException) as error:
            raise CorruptSampleError(
                f"{self.files[number]}[row group {group}]", f"undecodable parquet row group ({error})"
            ) from error
        self._groups[columns] = ((number, group), table)
        return table


def _is_list(array: pa.Array) -> bool:
    return pa.types.is_list(array.type) or pa.types.is_large_list(array.type) or pa.types.is_fixed_size_list(array.type)


def _cell(array: pa.Array) -> Any:
    """The value of a one-row array: nested lists as one numpy array when every level is regular (else as object
    arrays of rows, for the reader to refuse as ragged), other values as Python objects."""
    if isinstance(array, pa.ExtensionArray):  # datasets' Array2D/Array3D: read the plain nested lists
        array = array.storage
    if not _is_list(array):
        return array[0].as_py()
    shape, values = [], array
    while _is_list(values):
        lengths = values.value_lengths().to_numpy(zero_copy_only=False)
        if values.null_count or not len(lengths) or (lengths != lengths[0]).any():
            return array.to_numpy(zero_copy_only=False)[0]
        shape.append(int(lengths[0]))
        values = values.flatten()
    return values.to_numpy(zero_copy_only=False).reshape(shape)


def _read_footer(path: str) -> tuple[pq.FileMetaData, pa.Schema]:
    """The footer metadata and Arrow schema of one shard; ``ValueError`` naming it when unreadable."""
    try:
        with pq.ParquetFile(path, memory_map=True) as handle:
            return handle.metadata, handle.schema_arrow
    except (OSError, pa.ArrowException) as error:
        raise ValueError(
            f"{path}: not a readable parquet shard ({error}). It may be truncated or still being written: "
            "re-write it or move it out of the dataset folder."
        ) from error
