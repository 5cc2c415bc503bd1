"""The ``collaborative`` stage: item factors from which items users consume together."""

from mmctr.pipelines.collaborative.pipeline import create_pipeline

__all__ = ["create_pipeline"]
