"""Train a CTR model: ``kedro run --pipelines training``."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
