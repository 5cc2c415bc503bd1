"""Evaluate the trained model: ``kedro run --pipelines evaluation``."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
