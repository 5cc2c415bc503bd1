"""Ablation study: ``kedro run --pipelines ablation``."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
