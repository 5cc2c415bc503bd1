"""Training pipeline wiring."""

from kedro.pipeline import Node, Pipeline

from .nodes import bundle_model, train


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=train,
                inputs=[
                    "train_features",
                    "train_similarity",
                    "valid_features",
                    "valid_similarity",
                    "item_features_embedded",
                    "item_semantics",
                    "vocab",
                    "params:training",
                ],
                outputs=["model", "training_history"],
                name="train_model_node",
            ),
            Node(
                func=bundle_model,
                inputs=[
                    "model",
                    "item_features_embedded",
                    "item_semantics",
                    "item_popularity",
                    "vocab",
                    "params:semantic_similarity.threshold",
                    "params:feature_engineering.seq_width",
                    "item_collab",
                ],
                outputs="model_bundle",
                name="bundle_model_node",
            ),
        ]
    )
