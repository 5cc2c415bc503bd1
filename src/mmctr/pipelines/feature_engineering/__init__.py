"""feature_engineering: raw MicroLens tables → checked numpy features, vocab, data profile."""

from mmctr.pipelines.feature_engineering.pipeline import create_pipeline

__all__ = ["create_pipeline"]
