"""One local[2] SparkSession for every Spark test, and raw tables written as parquet.

Tests here are marked ``spark``: the default suite deselects them (pyproject), CI runs
them with ``pytest -m spark``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures import write_raw_tables

SPLITS = ("train", "valid", "test")


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark")
    from mmctr.spark.session import spark_session

    session = spark_session({"spark.master": "local[2]", "spark.sql.shuffle.partitions": "2",
                             "spark.ui.enabled": "false", "spark.driver.memory": "1g",
                             "spark.sql.execution.arrow.maxRecordsPerBatch": "16"},
                            app_name="mmctr-tests")
    yield session
    session.stop()


def read_both(spark, tables: dict[str, pd.DataFrame], folder: Path) -> tuple[dict, dict]:
    """The tables as both paths read them: pandas (Arrow dtypes) and Spark DataFrames."""
    paths = write_raw_tables(tables, folder)
    memory = {name: pd.read_parquet(path, dtype_backend="pyarrow")
              for name, path in paths.items()}
    frames = {name: spark.read.parquet(str(paths[name])) for name in SPLITS}
    return memory, frames


def features_both(spark, tables: dict[str, pd.DataFrame], root: Path, params: dict) -> dict:
    """Both feature paths on the same raw files: ``ref`` (in memory), ``out`` (Spark's
    node output) and ``shards`` (Spark's splits saved and loaded as shards)."""
    from mmctr.datasets import ShardedDataset
    from mmctr.pipelines.feature_engineering import nodes as memory_fe
    from mmctr.pipelines.spark_features import nodes as spark_fe

    memory, frames = read_both(spark, tables, root / "raw")
    ref = memory_fe.build_features(memory["train"], memory["valid"], memory["test"],
                                   memory["item_info"], params)
    out = spark_fe.build_features(frames["train"], frames["valid"], frames["test"],
                                  memory["item_info"], params)
    shards = {}
    for split in SPLITS:
        dataset = ShardedDataset(filepath=str(root / f"{split}_features"))
        dataset.save(out[split])
        shards[split] = dataset.load()
    return {"root": root, "ref": ref, "out": out, "shards": shards}
