"""spark_collaborative: the collaborative stage's outputs from the train shards, on Spark."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from mmctr.pipelines.spark_collaborative.nodes import (
    collaborative_report,
    learn_item_factors,
)


def create_pipeline(**kwargs: Any) -> Pipeline:
    """train_features (shards) → item_collab, collaborative_report, collaborative_plot."""
    return Pipeline([
        Node(func=learn_item_factors,
             inputs=["train_features", "vocab", "params:collaborative", "params:spark"],
             outputs=["item_collab", "collaborative_info"], name="learn_item_factors_node"),
        Node(func=collaborative_report,
             inputs=["item_collab", "collaborative_info", "train_features", "valid_features",
                     "test_features", "item_features", "params:collaborative"],
             outputs=["collaborative_report", "collaborative_plot"],
             name="collaborative_report_node"),
    ])
