"""Submission pipeline wiring (docs/DATA_CONTRACT.md: ``prediction.csv`` zipped)."""

from kedro.pipeline import Node, Pipeline

from .nodes import build_submission, score_test


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=score_test,
                inputs=[
                    "model",
                    "test_features",
                    "test_similarity",
                    "item_features_embedded",
                    "item_semantics",
                    "params:submission",
                ],
                outputs="test_predictions",
                name="score_test_node",
            ),
            Node(
                func=build_submission,
                inputs=["test_predictions", "test_features", "params:submission"],
                outputs=["prediction_csv", "prediction_zip"],
                name="build_submission_node",
            ),
        ]
    )
