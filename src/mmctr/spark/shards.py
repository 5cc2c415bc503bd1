"""Shards read and written by the Python workers themselves (pyarrow), not by the JVM.

A ``mapInArrow`` stage whose input and output go through Spark pays twice for every array
column: the JVM turns its rows into Arrow batches for the Python worker and the batches it
returns back into rows, then encodes those as parquet. For the per-row similarity (100 ids
in, 216 values out a row) that conversion costs more than the kernels. :class:`ShardTasks`
instead runs one Spark task per input shard, which reads it with pyarrow, transforms it and
writes its output part (``part-<index>.parquet``, under a hidden name then renamed, so a
retried or speculative task attempt replaces it whole).

The folders must be visible to the executors under the same path (``local[*]``, or a
filesystem mounted alike on every node), as they must for the manifest the driver writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["ShardTasks", "map_shards", "write_part"]

Transform = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]


def write_part(batches: Iterator[pa.RecordBatch], folder: str, part: int) -> tuple[str, int]:
    """Write ``batches`` to ``folder/part-<part>.parquet`` (under a hidden name, then
    renamed); returns the file ("" when there was no row) and its rows."""
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
    return (final if rows else ""), rows


class ShardTasks:
    """A sharded split mapped shard by shard: one Spark task per input shard, which reads
    it with pyarrow, runs ``transform`` and writes its output part (what a node returns).

    Neither side of the data passes through the JVM: Spark only schedules the tasks, so a
    stage whose input is already sharded (the features, for the similarity statistics)
    costs the kernels and the parquet I/O. The input shards, like the output folder, must
    be visible to the executors under the same path.

    Args:
        spark: the session.
        files: the input shards, in order (output part ``i`` is input shard ``i``).
        transform: input batches → output batches.
        batch_rows: rows per input batch.
    """

    def __init__(self, spark: Any, files: list[str], transform: Transform,
                 batch_rows: int) -> None:
        self.spark, self.files, self.transform = spark, list(files), transform
        self.batch_rows = int(batch_rows)

    def write_shards(self, folder: str | Path) -> int:
        """Write the parts into ``folder`` (created); returns the rows written."""
        folder = str(Path(folder).resolve())
        os.makedirs(folder, exist_ok=True)
        transform, batch_rows = self.transform, self.batch_rows

        def task(item: tuple[int, str]) -> tuple[str, int]:
            index, path = item
            batches = pq.ParquetFile(path).iter_batches(batch_size=batch_rows)
            return write_part(transform(batches), folder, index)

        return sum(rows for _, rows in map_shards(self.spark, self.files, task))


def map_shards(spark: Any, files: list[str], task: Callable[[tuple[int, str]], Any]) -> list[Any]:
    """``task((index, file))`` for every shard, one Spark task each; results in file order."""
    if not files:
        return []
    jobs = list(enumerate(files))
    return spark.sparkContext.parallelize(jobs, len(jobs)).map(task).collect()
