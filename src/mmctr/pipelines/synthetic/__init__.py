"""``synthetic``: MicroLens-schema data from a documented generative model, with its truth."""

from mmctr.pipelines.synthetic.pipeline import create_pipeline

__all__ = ["create_pipeline"]
