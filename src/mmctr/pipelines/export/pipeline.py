"""Export pipeline wiring (docs/SERVING.md)."""

from kedro.pipeline import Node, Pipeline

from .nodes import export_model


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=export_model,
                inputs=["model_bundle", "params:export"],
                outputs=["model_onnx", "onnx_export_report"],
                name="export_onnx_node",
            ),
        ]
    )
