"""Wiring of the ``item_embedding`` stage (ARCHITECTURE.md §2).

feature_engineering's ``item_features`` (+ the optional ``raw_item_feature`` and, for the
learned recipe, ``train_features``) → ``item_features_embedded``, the item table that
semantic_similarity, training, evaluation, submission and ablation read.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from mmctr.pipelines.item_embedding.nodes import (
    co_click_pairs,
    embed_items,
    embedding_report,
    load_item_modalities,
    plot_embedding_report,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Raw features → the recipe's item table, its report and plot."""
    return Pipeline(
        [
            Node(
                func=co_click_pairs,
                inputs=["train_features", "params:item_embedding"],
                outputs="item_click_pairs",
                name="co_click_pairs_node",
            ),
            Node(
                func=load_item_modalities,
                inputs=["raw_item_feature", "item_features", "params:item_embedding"],
                outputs="item_modalities",
                name="load_item_modalities_node",
            ),
            Node(
                func=embed_items,
                inputs=["item_features", "item_modalities", "item_click_pairs",
                        "params:item_embedding"],
                outputs=["item_features_embedded", "item_embedding_info"],
                name="embed_items_node",
            ),
            Node(
                func=embedding_report,
                inputs=["item_features", "item_modalities", "item_features_embedded",
                        "item_embedding_info", "params:item_embedding"],
                outputs=["item_embedding_report", "item_embedding_agreement"],
                name="embedding_report_node",
            ),
            Node(
                func=plot_embedding_report,
                inputs="item_embedding_report",
                outputs="item_embedding_plot",
                name="plot_embedding_report_node",
            ),
        ]
    )
