"""The data contract on Spark: the in-memory path's message for the same defect."""

from __future__ import annotations

import pytest

from mmctr.data.contract import RawDataError
from mmctr.pipelines.feature_engineering.nodes import build_features as memory_features
from mmctr.pipelines.spark_features.nodes import build_features as spark_features
from tests.data.cases import BAD_INPUTS, BadInput
from tests.fixtures import make_raw_tables
from tests.spark.conftest import read_both

pytestmark = pytest.mark.spark

PARAMS = {"max_len": 100, "seq_width": 100, "tags_width": 5, "emb_dim": 128, "level_max": 10,
          "history_bins": 101, "chunk_rows": 262144}
ROW_CASES = [c for c in BAD_INPUTS if c.parquet and c.file != "item_info.parquet"]


def _messages(spark, tables, folder, params) -> tuple[str, str]:
    memory, frames = read_both(spark, tables, folder)
    with pytest.raises(RawDataError) as in_memory:
        memory_features(memory["train"], memory["valid"], memory["test"],
                        memory["item_info"], params)
    with pytest.raises(RawDataError) as on_spark:
        spark_features(frames["train"], frames["valid"], frames["test"],
                       memory["item_info"], params)
    return str(in_memory.value), str(on_spark.value)


@pytest.mark.parametrize("case", ROW_CASES, ids=lambda c: c.name)
def test_same_message_as_in_memory(spark, tmp_path, case: BadInput) -> None:
    tables = case.corrupt(make_raw_tables())
    memory, spark_message = _messages(spark, tables, tmp_path, {**PARAMS, **case.params})
    assert spark_message == memory
    if case.row is not None:
        assert f"row {case.row}:" in spark_message


def test_first_defect_across_batches_and_chunks(spark, tmp_path) -> None:
    """Defects in other batches: the one the in-memory path names (column, then chunk of
    ``chunk_rows``, then kind of check, then row), not simply the earliest row."""
    tables = make_raw_tables(n_train=80)
    train = tables["train"].copy()
    train.loc[10, "likes_level"] = 11  # earliest row, but a later column
    seq = list(train["item_seq"])
    seq[36] = seq[36].copy()
    seq[36][-1] = 999  # out of range: chunk 1 (rows 32..63), checked after the lengths
    seq[50] = seq[50][1:]  # ragged: chunk 1 too, a length check: this one is named
    train["item_seq"] = seq
    tables["train"] = train
    memory, spark_message = _messages(spark, tables, tmp_path, {**PARAMS, "chunk_rows": 32})
    assert spark_message == memory and "row 50:" in spark_message


def test_good_tables_pass(spark, tmp_path) -> None:
    memory, frames = read_both(spark, make_raw_tables(), tmp_path)
    out = spark_features(frames["train"], frames["valid"], frames["test"],
                         memory["item_info"], PARAMS)
    assert out["train"].count() == 64 and "label" not in out["test"].columns
