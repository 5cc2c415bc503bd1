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
