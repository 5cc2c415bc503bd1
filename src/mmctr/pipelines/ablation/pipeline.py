"""Ablation pipeline wiring."""

from kedro.pipeline import Node, Pipeline

from .embedding_variants import recipe_item_tables
from .nodes import ablation_data, ablation_plot, ablation_table_markdown, run_ablation


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=recipe_item_tables,
                inputs=[
                    "raw_item_feature",
                    "item_features",
                    "train_features",
                    "params:item_embedding",
                    "params:ablation",
                ],
                outputs="ablation_item_tables",
                name="ablation_item_tables_node",
            ),
            Node(
                func=ablation_data,
                inputs=[
                    "train_features",
                    "train_similarity",
                    "valid_features",
                    "valid_similarity",
                    "test_features",
                    "test_similarity",
                    "item_features_embedded",
                    "item_semantics",
                    "vocab",
                    "synthetic_truth",
                    "ablation_item_tables",
                ],
                outputs="ablation_data",
                name="ablation_data_node",
            ),
            Node(
                func=run_ablation,
                inputs=["ablation_data", "params:training", "params:ablation"],
                outputs="ablation_table",
                name="run_ablation_node",
            ),
            Node(
                func=ablation_table_markdown,
                inputs="ablation_table",
                outputs="ablation_table_md",
                name="ablation_markdown_node",
            ),
            Node(
                func=ablation_plot,
                inputs="ablation_table",
                outputs="ablation_plot",
                name="ablation_plot_node",
            ),
        ]
    )
