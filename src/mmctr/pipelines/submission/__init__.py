"""Score the test split and write the submission: ``kedro run --pipelines submission``."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
