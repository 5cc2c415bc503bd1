"""Wiring of the ``collaborative`` stage (ARCHITECTURE.md §2c)."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from mmctr.pipelines.collaborative.nodes import collaborative_report, learn_item_factors


def create_pipeline(**kwargs) -> Pipeline:
    """Item factors from the train histories, and their report."""
    return Pipeline(
        [
            Node(
                func=learn_item_factors,
                inputs=["train_features", "vocab", "params:collaborative"],
                outputs=["item_collab", "collaborative_info"],
                name="learn_item_factors_node",
            ),
            Node(
                func=collaborative_report,
                inputs=[
                    "item_collab",
                    "collaborative_info",
                    "train_features",
                    "valid_features",
                    "test_features",
                    "item_features",
                    "params:collaborative",
                ],
                outputs=["collaborative_report", "collaborative_plot"],
                name="collaborative_report_node",
            ),
        ]
    )
