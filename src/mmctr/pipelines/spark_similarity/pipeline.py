"""spark_similarity: popularity, per-row similarity shards and ALS item factors on Spark."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from mmctr.pipelines.spark_similarity.nodes import (
    item_factors,
    item_popularity,
    split_similarity,
)

SPLITS = ("train", "valid", "test")


def create_pipeline(**kwargs: Any) -> Pipeline:
    """*_features (shards) → item_popularity, *_similarity (shards), item_factors_als."""
    return Pipeline([
        Node(func=item_popularity, inputs=["train_features", "vocab"],
             outputs="item_popularity", name="item_popularity_node"),
        *(Node(func=split_similarity,
               inputs=[f"{split}_features", "item_features_embedded", "item_popularity",
                       "params:semantic_similarity"],
               outputs=f"{split}_similarity", name=f"{split}_similarity_node")
          for split in SPLITS),
        Node(func=item_factors, inputs=["train_features", "vocab", "params:spark"],
             outputs="item_factors_als", name="item_factors_node"),
    ])
