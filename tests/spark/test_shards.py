"""ShardTasks: one Spark task per input shard writes its part; the split reads back as a
Spark-written one would."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mmctr.datasets import ShardedDataset
from mmctr.spark.shards import ShardTasks

pytestmark = pytest.mark.spark


def _double(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        seq = batch.column("seq")
        flat = pc.multiply(pc.list_flatten(seq), 2).cast(pa.float32())
        doubled = pa.ListArray.from_arrays(seq.offsets, flat)
        yield pa.RecordBatch.from_arrays([batch.column("row"), seq, doubled],
                                         names=["row", "seq", "doubled"])


def _input(spark, folder, rows: int, shards: int):
    """A sharded split of ``rows`` rows in ``shards`` parts (Spark-written, with ``row``)."""
    data = [(i, [i, i + 1, 0]) for i in range(rows)]
    frame = spark.createDataFrame(data, "row long, seq array<int>").repartitionByRange(
        shards, "row")
    dataset = ShardedDataset(filepath=str(folder))
    dataset.save(frame)
    return dataset.load()


def test_one_part_per_input_shard_with_the_rows_spark_would_write(spark, tmp_path):
    source = _input(spark, tmp_path / "in", 100, 3)
    ours = ShardedDataset(filepath=str(tmp_path / "ours"))
    ours.save(ShardTasks(spark, source.files, _double, 16))
    found = ours.load()
    assert found.num_rows == 100 and found.shard_rows == source.shard_rows
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == [
        "_manifest.json", "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    np.testing.assert_array_equal(found["seq"], source["seq"])
    np.testing.assert_array_equal(found["doubled"], 2.0 * source["seq"])
    np.testing.assert_array_equal(found["doubled"][:, 1], 2.0 * np.arange(1, 101))
    # read back through Spark too (the next stage does)
    assert spark.read.parquet(str(tmp_path / "ours")).count() == 100


def test_a_rerun_replaces_the_parts_and_an_empty_split_keeps_a_manifest(spark, tmp_path):
    folder = tmp_path / "split"
    tasks = ShardTasks(spark, _input(spark, tmp_path / "in", 40, 2).files, _double, 16)
    assert tasks.write_shards(folder) == 40
    assert tasks.write_shards(folder) == 40  # a retried task writes the same part name
    assert len(list(folder.glob("*.parquet"))) == 2
    assert not list(folder.glob(".*"))  # no hidden leftovers
    empty = ShardedDataset(filepath=str(tmp_path / "empty"))
    empty.save(ShardTasks(spark, [], _double, 16))
    assert empty.load().num_rows == 0
