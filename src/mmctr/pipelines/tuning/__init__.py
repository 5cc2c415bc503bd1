"""Search params:training with Optuna: ``kedro run --pipelines tuning``."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
