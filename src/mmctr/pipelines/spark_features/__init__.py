"""spark_features: feature_engineering on Spark (raw tables → checked feature shards)."""

from mmctr.pipelines.spark_features.pipeline import create_pipeline

__all__ = ["create_pipeline"]
