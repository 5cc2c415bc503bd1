"""spark_similarity: per-row similarity, popularity and ALS item factors on Spark."""

from mmctr.pipelines.spark_similarity.pipeline import create_pipeline

__all__ = ["create_pipeline"]
