"""Export the trained network to ONNX: ``kedro run --pipelines export``."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
