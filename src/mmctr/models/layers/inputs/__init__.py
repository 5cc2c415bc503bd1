"""Optional model inputs (one file each) and the registry that turns them on by parameter.

Adding an input: a file here with a :class:`ModelInput` subclass (its ``kind``, the
``switch`` parameter that enables it, the batch keys it reads, ``output_dim``,
``forward(batch, context)``; ``build`` when it needs parameters or vocabulary sizes), an
entry in :data:`INPUTS`, and its switch (and any size) in the model's config dataclass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mmctr.models.layers.inputs.base import (
    DENSE,
    KINDS,
    LOGIT,
    TOKEN,
    InputContext,
    ModelInput,
    ModelInputs,
)
from mmctr.models.layers.inputs.bias import BiasTerms
from mmctr.models.layers.inputs.collab_stats import CollabStats
from mmctr.models.layers.inputs.history_ids import HistoryIds
from mmctr.models.layers.inputs.row_stats import RowStats
from mmctr.models.layers.inputs.similarity import SimilarityChannel, SimilarityStats
from mmctr.models.layers.inputs.tag_overlap import TagOverlapChannel

__all__ = [
    "DENSE",
    "INPUTS",
    "KINDS",
    "LOGIT",
    "TOKEN",
    "BiasTerms",
    "CollabStats",
    "HistoryIds",
    "InputContext",
    "ModelInput",
    "ModelInputs",
    "RowStats",
    "SimilarityChannel",
    "SimilarityStats",
    "TagOverlapChannel",
    "build_inputs",
    "enabled_inputs",
]

#: input name (its key in the model's ``inputs``) -> layer. The order is the order of the
#: token channels, of the dense features in the DCN input and of the logit offsets.
INPUTS: dict[str, type[ModelInput]] = {
    "seq_sim": SimilarityChannel,
    "sim_stats": SimilarityStats,
    "tag_overlap": TagOverlapChannel,
    "row_stats": RowStats,
    "collab_stats": CollabStats,
    "history_ids": HistoryIds,
    "bias": BiasTerms,
}


def enabled_inputs(config: Any, tokens: bool = True) -> list[str]:
    """Names of the inputs whose switch is on in ``config``, in :data:`INPUTS` order.

    Args:
        config: the model parameters (each input's ``switch`` read by attribute).
        tokens: keep token inputs (False for a model without the Transformer).
    """
    return [
        name for name, cls in INPUTS.items()
        if cls.enabled(config) and (tokens or cls.kind != TOKEN)
    ]


def build_inputs(
    config: Any, vocab: Mapping[str, Any], names: Iterable[str], kinds: Iterable[str] = KINDS
) -> dict[str, ModelInput]:
    """Build the inputs ``names`` of the given ``kinds``: name -> layer.

    Raises:
        ValueError: on an unknown input name, or a vocabulary key an input needs.
    """
    names = list(names)
    unknown = sorted(set(names) - set(INPUTS))
    if unknown:
        raise ValueError(f"unknown model input(s) {unknown}; expected some of {sorted(INPUTS)}")
    wanted = set(kinds)
    return {n: INPUTS[n].build(config, vocab) for n in names if INPUTS[n].kind in wanted}
