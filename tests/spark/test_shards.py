"""WorkerShards: the Python workers write the parts; the split reads back as Spark's would."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mmctr.datasets import ShardedDataset
from mmctr.spark.shards import WorkerShards

pytestmark = pytest.mark.spark

SCHEMA = "row long, seq array<int>, doubled array<float>"


def _double(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        seq = batch.column("seq")
        flat = pc.multiply(pc.list_flatten(seq), 2).cast(pa.float32())
        doubled = pa.ListArray.from_arrays(seq.offsets, flat)
        yield pa.RecordBatch.from_arrays([batch.column("row"), seq, doubled],
                                         names=["row", "seq", "doubled"])


def _frame(spark, rows: int, partitions: int):
    data = [(i, [i, i + 1, 0]) for i in range(rows)]
    return spark.createDataFrame(data, "row long, seq array<int>").repartitionByRange(
        partitions, "row")


def test_workers_write_one_part_per_partition_with_the_rows_spark_would(spark, tmp_path):
    frame = _frame(spark, 100, 3)
    ours = ShardedDataset(filepath=str(tmp_path / "ours"))
    ours.save(WorkerShards(frame, _double, SCHEMA))
    theirs = ShardedDataset(filepath=str(tmp_path / "theirs"))
    theirs.save(WorkerShards(frame, _double, SCHEMA).dataframe())
    found, expected = ours.load(), theirs.load()
    assert found.num_rows == 100 and len(found.shard_rows) == 3
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == [
        "_manifest.json", "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    for key in ("seq", "doubled"):
        np.testing.assert_array_equal(found[key], expected[key])
    np.testing.assert_array_equal(found["doubled"][:, 1], 2.0 * np.arange(1, 101))
    # read back through Spark too (the next stage does)
    assert spark.read.parquet(str(tmp_path / "ours")).count() == 100


def test_a_rerun_replaces_the_parts_and_an_empty_split_keeps_a_manifest(spark, tmp_path):
    folder = tmp_path / "split"
    shards = WorkerShards(_frame(spark, 40, 2), _double, SCHEMA)
    assert shards.write_shards(folder) == 40
    assert shards.write_shards(folder) == 40  # a retried task writes the same part name
    assert len(list(folder.glob("*.parquet"))) == 2
    assert not list(folder.glob(".*"))  # no hidden leftovers
    empty = ShardedDataset(filepath=str(tmp_path / "empty"))
    empty.save(WorkerShards(_frame(spark, 0, 1), _double, SCHEMA))
    assert empty.load().num_rows == 0
