"""spark_similarity: popularity and per-row similarity shards on Spark."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from mmctr.pipelines.spark_similarity.nodes import item_popularity, split_similarity

SPLITS = ("train", "valid", "test")


def create_pipeline(**kwargs: Any) -> Pipeline:
    """*_features (shards), item_collab → item_popularity, *_similarity (shards)."""
    return Pipeline([
        Node(func=item_popularity, inputs=["train_features", "vocab"],
             outputs="item_popularity", name="item_popularity_node"),
        *(Node(func=split_similarity,
               inputs=[f"{split}_features", "item_features_embedded", "item_popularity",
                       "params:semantic_similarity", "item_collab"],
               outputs=f"{split}_similarity", name=f"{split}_similarity_node")
          for split in SPLITS),
    ])
