"""Shards written by the Python workers themselves (pyarrow), not by the JVM.

A ``mapInArrow`` stage whose output goes through Spark's writer pays twice for every
array column: the JVM turns the Arrow batches the Python worker returns back into its rows,
then encodes those rows as parquet. For the per-row similarity (216 float and int values a
row) that conversion costs more than the kernels. :class:`WorkerShards` instead lets each
task write its partition's output batches straight to one parquet part
(``part-<partition>.parquet``, written under a hidden name and renamed, so a retried or
speculative task attempt replaces it whole) and return one small row per part.

The folder must be visible to the executors under the same path (``local[*]``, or a
filesystem mounted alike on every node), as it must for the manifest the driver writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["WorkerShards"]

#: what each task returns: its part and how many rows it wrote
_PARTS_SCHEMA = "file string, rows long"

Transform = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]


def _write_part(batches: Iterator[pa.RecordBatch], folder: str) -> Iterator[pa.RecordBatch]:
    """Write one task's batches to ``folder/part-<partition>.parquet``; one summary row."""
    from pyspark import TaskContext

    context = TaskContext.get()
    part = context.partitionId() if context is not None else 0
    final = os.path.join(folder, f"part-{part:05d}.parquet")
    hidden = os.path.join(folder, f".part-{part:05d}.{os.getpid()}.tmp")
    writer, rows = None, 0
    try:
        for batch in batches:
            if not batch.num_rows:
                continue
            writer = writer or pq.ParquetWriter(hidden, batch.schema)
            writer.write_batch(batch)
            rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    if writer is not None:
        os.replace(hidden, final)
    yield pa.RecordBatch.from_pydict({"file": [final if rows else ""], "rows": [rows]})


class WorkerShards:
    """A split to be written as shards by the workers (what a node returns, lazily).

    Args:
        frame: the input rows (a Spark DataFrame; each partition becomes one part).
        transform: the ``mapInArrow`` body: input batches → output batches.
        schema: the output's Spark schema (used when nothing was written: an empty split
            still gets its columns, through Spark's writer).
    """

    def __init__(self, frame: Any, transform: Transform, schema: str) -> None:
        self.frame, self.transform, self.schema = frame, transform, schema

    def dataframe(self) -> Any:
        """The same rows as a Spark DataFrame (for code that wants one)."""
        return self.frame.mapInArrow(self.transform, self.schema)

    def write_shards(self, folder: str | Path) -> int:
        """Write the parts into ``folder`` (created); returns the rows written."""
        folder = str(Path(folder).resolve())
        os.makedirs(folder, exist_ok=True)
        transform = self.transform

        def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            yield from _write_part(transform(batches), folder)

        parts = self.frame.mapInArrow(run, _PARTS_SCHEMA).collect()
        rows = sum(int(p["rows"]) for p in parts)
        if not rows:  # no batch reached a worker: an empty part with the columns
            self.dataframe().limit(0).coalesce(1).write.mode("overwrite").parquet(folder)
        return rows
