"""``semantic_similarity``: item neighbours, residual-quantization codes, history similarity."""

from mmctr.pipelines.semantic_similarity.pipeline import create_pipeline

__all__ = ["create_pipeline"]
