"""feature_engineering: check the raw tables, build features and vocab, profile them.

``build_features_node`` checks all four raw tables before it builds anything, so a table
that breaks the contract stops the run before any output is saved.
"""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from mmctr.pipelines.feature_engineering.nodes import (
    build_features,
    plot_history_lengths,
    profile_data,
)


def create_pipeline(**kwargs: Any) -> Pipeline:
    """The feature_engineering pipeline (raw_* → *_features, vocab, data profile)."""
    return Pipeline(
        [
            Node(
                func=build_features,
                inputs=[
                    "raw_train",
                    "raw_valid",
                    "raw_test",
                    "raw_item_info",
                    "params:feature_engineering",
                ],
                outputs={
                    "train": "train_features",
                    "valid": "valid_features",
                    "test": "test_features",
                    "items": "item_features",
                    "vocab": "vocab",
                },
                name="build_features_node",
            ),
            Node(
                func=profile_data,
                inputs=[
                    "train_features",
                    "valid_features",
                    "test_features",
                    "item_features",
                    "params:feature_engineering",
                ],
                outputs="data_profile",
                name="profile_data_node",
            ),
            Node(
                func=plot_history_lengths,
                inputs="data_profile",
                outputs="history_length_plot",
                name="plot_history_lengths_node",
            ),
        ]
    )
