"""Same numbers: the collaborative stage counted on Spark equals the in-memory one (baskets,
links and PMI exactly or within 1e-6, factors within the SVD's rounding), and so do the
collaborative statistics; ALS factors and the pair budget where they differ by design."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
from pyspark.sql import functions as F

from mmctr.data.collaborative import FactorSettings, item_factors
from mmctr.data.collaborative_report import coverage
from mmctr.data.kernels import l2_normalise
from mmctr.datasets import ShardedDataset
from mmctr.engine.metrics import auc
from mmctr.pipelines.semantic_similarity import nodes as memory_sim
from mmctr.pipelines.spark_collaborative import nodes as spark_collab
from mmctr.pipelines.spark_similarity import nodes as spark_sim
from mmctr.spark import collaborative
from mmctr.spark.session import shards_frame
from tests.fixtures import make_raw_tables
from tests.spark.conftest import SPLITS, features_both
from tests.spark.test_factors import CLUSTERS, ITEMS
from tests.spark.test_factors import _planted as planted_frame

pytestmark = pytest.mark.spark

PARAMS = {"max_len": 30, "seq_width": 100, "tags_width": 5, "emb_dim": 128, "level_max": 10,
          "history_bins": 31, "chunk_rows": 50}
SIMILARITY = {"threshold": 0.1, "chunk_size": 23, "device": "cpu"}
SETTINGS = {"dim": 6, "window": 12, "min_count": 2, "links": 50, "min_pairs": 2}


@pytest.fixture(scope="module")
def both(spark, tmp_path_factory):
    """In-memory features and the same features as Spark shards."""
    tables = make_raw_tables(n_train=300, n_valid=40, n_test=30, n_items=25, seed=11)
    return features_both(spark, tables, tmp_path_factory.mktemp("collab_same_numbers"), PARAMS)


def _sorted_links(ids: np.ndarray, pmi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(ids, axis=1, kind="stable")
    return np.take_along_axis(ids, order, 1), np.take_along_axis(pmi, order, 1)


def _assert_same_collab(found, expected):
    np.testing.assert_array_equal(found["basket_count"], expected["basket_count"])
    np.testing.assert_array_equal(found["has_factor"], expected["has_factor"])
    found_ids, found_pmi = _sorted_links(found["link_ids"], found["link_pmi"])
    ids, pmi = _sorted_links(expected["link_ids"], expected["link_pmi"])
    np.testing.assert_array_equal(found_ids, ids)
    np.testing.assert_allclose(found_pmi, pmi, rtol=0, atol=1e-6)
    np.testing.assert_allclose(found["factors"], expected["factors"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("by_user, dedupe, block_pairs", [
    (True, True, 10**9), (True, True, 500), (False, True, 10**9), (False, False, 2000)])
def test_item_collab_equals_the_in_memory_stage(both, by_user, dedupe, block_pairs):
    """Whether the pair count is one block or many (one Spark task each), the same tables."""
    cfg = FactorSettings(**SETTINGS, by_user=by_user, dedupe=dedupe, block_pairs=block_pairs)
    train, vocab = both["ref"]["train"], both["ref"]["vocab"]
    expected, info = item_factors(train["item_seq"], vocab["item"], cfg, train["user_id"])
    found, found_info = collaborative.item_collab(shards_frame(both["shards"]["train"]),
                                                  vocab["item"], cfg)
    assert info["items_with_factor"] > 5 and (expected["link_ids"] > 0).sum() > 50
    _assert_same_collab(found, expected)
    for key in ("baskets", "ppmi_nonzeros", "link_nonzeros", "items_with_factor"):
        assert found_info[key] == info[key], key


def test_stage_node_report_and_coverage(both):
    ref, shards = both["ref"], both["shards"]
    found, info = spark_collab.learn_item_factors(shards["train"], ref["vocab"], SETTINGS, {})
    assert info["factors"] == "svd" and info["fallback"] is None
    report, figure = spark_collab.collaborative_report(
        found, info, shards["train"], shards["valid"], shards["test"], ref["items"], SETTINGS)
    expected = coverage(found, {s: ref[s] for s in SPLITS})
    assert report["coverage"] == pytest.approx(expected, abs=1e-12)
    assert report["method"].startswith("TruncatedSVD") and figure.axes


def test_collab_stats_on_spark_equal_the_in_memory_ones(both):
    ref, shards = both["ref"], both["shards"]
    train, vocab = ref["train"], ref["vocab"]
    collab, _ = item_factors(train["item_seq"], vocab["item"], FactorSettings(**SETTINGS),
                             train["user_id"])
    popularity = memory_sim.item_popularity(train, vocab)
    emb = l2_normalise(ref["items"]["item_emb"])
    for split in SPLITS:
        expected = memory_sim.split_similarity(ref[split], emb, SIMILARITY, ref["items"],
                                               popularity, collab)
        dataset = ShardedDataset(filepath=str(both["root"] / f"{split}_collab_similarity"))
        dataset.save(spark_sim.split_similarity(shards[split], ref["items"], popularity,
                                                SIMILARITY, collab))
        found = dataset.load()
        assert found["collab_stats"].shape == expected["collab_stats"].shape
        assert np.abs(expected["collab_stats"][:, 8:]).sum() > 0  # the PMI links were read
        np.testing.assert_allclose(found["collab_stats"], expected["collab_stats"], rtol=0,
                                   atol=1e-6, err_msg=split)


def test_pair_budget_keeps_a_seeded_share_of_the_baskets(both, caplog):
    cfg = FactorSettings(**{**SETTINGS, "pair_budget": 300})
    frame = shards_frame(both["shards"]["train"])
    with caplog.at_level(logging.WARNING):
        pairs = collaborative.basket_items(frame, cfg)
    kept = pairs.select("basket").distinct().count()
    full = collaborative.basket_items(frame, dataclasses.replace(cfg, pair_budget=10**9))
    assert 0 < kept < full.select("basket").distinct().count()
    assert "exceed pair_budget" in caplog.text
    again = collaborative.basket_items(frame, cfg)
    assert sorted(again.collect()) == sorted(pairs.collect())  # seeded: the same share


def test_als_and_svd_factors_find_the_planted_clusters(spark, tmp_path):
    """ALS's factors are not the SVD's: both are judged by what they find on a planted
    world (users consume items of their own cluster), and by their neighbours' overlap."""
    dataset = ShardedDataset(filepath=str(tmp_path / "train_features"))
    dataset.save(planted_frame(spark).withColumn("row", F.monotonically_increasing_id()))
    vocab, settings = {"item": ITEMS + 1}, {**SETTINGS, "dim": 8, "min_count": 1}
    svd, _ = spark_collab.learn_item_factors(dataset.load(), vocab, settings, {})
    als, info = spark_collab.learn_item_factors(
        dataset.load(), vocab, settings, {"factors": "als", "als": {"rank": 8, "max_iter": 8,
                                                                       "seed": 1}})
    assert info["factors"] == "als"
    np.testing.assert_array_equal(als["link_ids"], svd["link_ids"])  # the links are Spark's
    cluster = np.arange(ITEMS) % CLUSTERS
    same = cluster[:, None] == cluster[None, :]
    off = ~np.eye(ITEMS, dtype=bool)
    neighbours = {}
    for name, table in (("svd", svd), ("als", als)):
        assert table["has_factor"][1:].all() and not table["has_factor"][0]
        unit = l2_normalise(table["factors"][1:])
        cosine = unit @ unit.T
        assert auc(same[off].astype(np.float32), cosine[off]) > 0.95, name
        np.fill_diagonal(cosine, -np.inf)
        neighbours[name] = np.argsort(-cosine, axis=1)[:, :5]
        assert np.mean(cluster[neighbours[name]] == cluster[:, None]) > 0.9, name
    shared = [len(set(a) & set(b)) / 5 for a, b in zip(neighbours["svd"], neighbours["als"],
                                                        strict=True)]
    # inside a planted cluster every pair is alike (two rankings of 9 cluster-mates share
    # 5/9 of their top 5 by chance); across the catalogue chance is 5/39
    assert np.mean(shared) > 0.4
