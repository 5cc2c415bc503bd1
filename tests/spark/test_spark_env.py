"""`kedro run --env spark`: the chain with its row work on Spark, training from shards."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mmctr.data.shards import ShardedRows
from tests.conftest import run_kedro
from tests.fixtures import make_raw_tables, write_raw_tables

pytestmark = [pytest.mark.spark, pytest.mark.slow]

RAW = "data/01_raw/MicroLens_1M_x1"
TINY = {
    "semantic_similarity": {"top_k": 3, "rq_codes": 4, "rq_fit_sample": 100},
    "training": {"epochs": 1, "batch_size": 32, "progress": False,
                 "model": {"embedding_dim": 8, "mm_emb_dim": 8, "dim_feedforward": 16,
                           "first_k_cols": 2, "dcn_hidden_units": [16],
                           "mlp_hidden_units": [8]}},
    "collaborative": {"dim": 4, "min_count": 1},
}


def test_spark_env_runs_the_chain_and_trains_from_shards(kedro_project, spark, monkeypatch):
    monkeypatch.setenv("MMCTR_SPARK_MASTER", "local[2]")
    tables = make_raw_tables(n_train=96, n_valid=32, n_test=24)
    write_raw_tables(tables, kedro_project / RAW)

    run_kedro(kedro_project, env="spark", params=TINY)

    similarity = ShardedRows(kedro_project / "data/05_model_input/spark/train_similarity")
    assert similarity.num_rows == 96
    assert {"row_stats", "collab_stats", "item_seq", "label"} <= set(similarity)
    assert similarity["collab_stats"][:, 6].any()  # targets with a collaborative factor
    stamp = kedro_project / "data/05_model_input/spark/.train_similarity.stamp.json"
    assert json.loads(stamp.read_text())["node"] == "spark_similarity.train_similarity_node"
    submission = pd.read_csv(kedro_project / "data/07_model_output/prediction.csv")
    assert list(submission["ID"]) == list(range(24))
    report = json.loads((kedro_project / "data/08_reporting/collaborative.json").read_text())
    assert report["factors"] == "svd" and report["items_with_factor"] > 0
    assert (kedro_project / "data/08_reporting/collaborative.png").exists()
    assert (kedro_project / "data/08_reporting/history_length.png").exists()
