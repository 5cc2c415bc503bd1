"""Inference pipeline wiring (docs/SERVING.md)."""

from kedro.pipeline import Node, Pipeline

from .nodes import score_requests


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=score_requests,
                inputs=["model_bundle", "inference_requests", "params:inference"],
                outputs="inference_predictions",
                name="score_requests_node",
            ),
        ]
    )
