"""item_embedding: the item table's embedding by a recipe, from the raw multimodal features."""

from mmctr.pipelines.item_embedding.pipeline import create_pipeline

__all__ = ["create_pipeline"]
