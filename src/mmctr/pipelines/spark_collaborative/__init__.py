"""spark_collaborative: the collaborative stage with its row work on Spark."""

from mmctr.pipelines.spark_collaborative.pipeline import create_pipeline

__all__ = ["create_pipeline"]
