"""Wiring of the ``synthetic`` stage (ARCHITECTURE.md §1)."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from mmctr.pipelines.synthetic.nodes import (
    item_info,
    make_world,
    oracle_report,
    raw_item_features,
    test_split,
    train_split,
    valid_split,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Synthetic raw files (train/valid/test/item_info, item_feature/item_emb) plus the truth."""
    return Pipeline(
        [
            Node(
                func=make_world,
                inputs="params:synthetic",
                outputs="synthetic_world",
                name="make_world_node",
            ),
            Node(
                func=item_info,
                inputs="synthetic_world",
                outputs="raw_item_info",
                name="item_info_node",
            ),
            Node(
                func=raw_item_features,
                inputs="synthetic_world",
                outputs=["raw_item_feature", "raw_item_emb"],
                name="raw_item_features_node",
            ),
            *(
                Node(
                    func=func,
                    inputs="synthetic_world",
                    outputs=[f"raw_{split}", f"synthetic_{split}_truth"],
                    name=f"{split}_split_node",
                )
                for split, func in (
                    ("train", train_split),
                    ("valid", valid_split),
                    ("test", test_split),
                )
            ),
            Node(
                func=oracle_report,
                inputs=[
                    "synthetic_world",
                    "synthetic_train_truth",
                    "synthetic_valid_truth",
                    "synthetic_test_truth",
                ],
                outputs=["synthetic_truth", "synthetic_oracle"],
                name="oracle_report_node",
            ),
        ]
    )
