"""Same numbers: the Spark path's features, popularity, profile and similarity equal the
in-memory path's on the test fixtures (integers exactly, floats within 1e-6)."""

from __future__ import annotations

import numpy as np
import pytest

from mmctr.data.kernels import l2_normalise
from mmctr.datasets import ShardedDataset
from mmctr.engine.batching import merge_rows
from mmctr.pipelines.feature_engineering import nodes as memory_fe
from mmctr.pipelines.semantic_similarity import nodes as memory_sim
from mmctr.pipelines.spark_features import nodes as spark_fe
from mmctr.pipelines.spark_similarity import nodes as spark_sim
from tests.fixtures import make_raw_tables
from tests.spark.conftest import SPLITS, features_both

pytestmark = pytest.mark.spark

PARAMS = {"max_len": 60, "seq_width": 100, "tags_width": 5, "emb_dim": 128, "level_max": 10,
          "history_bins": 61, "chunk_rows": 50}
SIMILARITY = {"threshold": 0.1, "chunk_size": 23, "device": "cpu"}


@pytest.fixture(scope="module")
def both(spark, tmp_path_factory):
    """Both paths run on the same raw files; Spark's outputs saved as shards."""
    tables = make_raw_tables(n_train=150, n_valid=40, n_test=30, n_items=40, seed=7)
    return features_both(spark, tables, tmp_path_factory.mktemp("same_numbers"), PARAMS)


def test_features_vocab_and_items_equal(both):
    ref, out, shards = both["ref"], both["out"], both["shards"]
    assert out["vocab"] == ref["vocab"]
    for key, value in ref["items"].items():
        np.testing.assert_array_equal(out["items"][key], value)
    for split in SPLITS:
        assert sorted(shards[split]) == sorted(ref[split])
        for key, value in ref[split].items():
            assert shards[split][key].dtype == value.dtype, (split, key)
            np.testing.assert_array_equal(shards[split][key], value, err_msg=f"{split} {key}")


def test_profile_equal(both):
    ref, shards = both["ref"], both["shards"]
    expected = memory_fe.profile_data(ref["train"], ref["valid"], ref["test"], ref["items"],
                                      PARAMS)
    found = spark_fe.profile_data(shards["train"], shards["valid"], shards["test"],
                                  ref["items"], PARAMS)
    assert found.keys() == expected.keys()
    assert found["history_length_histogram"] == expected["history_length_histogram"]
    for split in SPLITS:
        found_split, expected_split = dict(found["splits"][split]), dict(expected["splits"][split])
        assert found_split.pop("history_length") == pytest.approx(
            expected_split.pop("history_length"), abs=1e-9)
        assert found_split == pytest.approx(expected_split, abs=1e-6)


def test_popularity_and_similarity_equal(both):
    ref, shards = both["ref"], both["shards"]
    popularity = memory_sim.item_popularity(ref["train"], ref["vocab"])
    found_popularity = spark_sim.item_popularity(shards["train"], ref["vocab"])
    for key, value in popularity.items():
        np.testing.assert_array_equal(found_popularity[key], value)
    emb = l2_normalise(ref["items"]["item_emb"])
    for split in SPLITS:
        expected = memory_sim.split_similarity(ref[split], emb, SIMILARITY, ref["items"],
                                               popularity)
        dataset = ShardedDataset(filepath=str(both["root"] / f"{split}_similarity"))
        dataset.save(spark_sim.split_similarity(shards[split], ref["items"],
                                                found_popularity, SIMILARITY))
        rows = merge_rows(shards[split], dataset.load())
        for key, value in expected.items():
            np.testing.assert_allclose(dataset.load()[key], value, rtol=0, atol=1e-6,
                                       err_msg=f"{split} {key}")
        np.testing.assert_array_equal(rows["item_seq"], ref[split]["item_seq"])
        np.testing.assert_allclose(rows["seq_sim"], expected["hist_sim"], rtol=0, atol=1e-6)
