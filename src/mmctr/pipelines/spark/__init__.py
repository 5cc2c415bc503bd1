"""The chain of the ``spark`` environment (its default pipeline)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
