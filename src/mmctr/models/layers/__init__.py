"""Model building blocks grouped by role (FuxiCTR layout); a model's optional inputs are in
:mod:`mmctr.models.layers.inputs`."""

from mmctr.models.layers.attentions import (
    DINAttention,
    TargetHistoryTransformer,
    key_padding_mask,
)
from mmctr.models.layers.blocks import ACTIVATIONS, Dice, MLPBlock, make_activation
from mmctr.models.layers.embeddings import ItemEmbedding, masked_mean_embedding
from mmctr.models.layers.interactions import CrossNetMix, CrossNetV2

__all__ = [
    "ACTIVATIONS",
    "CrossNetMix",
    "CrossNetV2",
    "DINAttention",
    "Dice",
    "ItemEmbedding",
    "MLPBlock",
    "TargetHistoryTransformer",
    "key_padding_mask",
    "make_activation",
    "masked_mean_embedding",
]
