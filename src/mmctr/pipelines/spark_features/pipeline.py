"""spark_features: check the raw tables and build the feature shards on Spark.

Same outputs as ``feature_engineering`` (``{split}_features`` as shards, ``item_features``,
``vocab``, ``data_profile``, ``history_length_plot``); it reads the row tables through Spark
(``spark_raw_*``).
"""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from mmctr.data.features import plot_history_lengths
from mmctr.pipelines.spark_features.nodes import build_features, profile_data


def create_pipeline(**kwargs: Any) -> Pipeline:
    """spark_raw_* + raw_item_info → *_features (shards), item_features, vocab, profile."""
    return Pipeline([
        Node(
            func=build_features,
            inputs=["spark_raw_train", "spark_raw_valid", "spark_raw_test", "raw_item_info",
                    "params:feature_engineering"],
            outputs={"train": "train_features", "valid": "valid_features",
                     "test": "test_features", "items": "item_features", "vocab": "vocab"},
            name="build_features_node",
        ),
        Node(
            func=profile_data,
            inputs=["train_features", "valid_features", "test_features", "item_features",
                    "params:feature_engineering"],
            outputs="data_profile",
            name="profile_data_node",
        ),
        Node(func=plot_history_lengths, inputs="data_profile", outputs="history_length_plot",
             name="plot_history_lengths_node"),
    ])
