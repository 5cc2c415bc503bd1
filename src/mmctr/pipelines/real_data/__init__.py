"""The chain on real data: everything but ``synthetic`` (default of ``--env microlens``)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
