"""Score new rows with a trained model's bundle: ``kedro run --pipelines inference``."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
