"""mmctr models: plain PyTorch, built by name from a parameter mapping and a vocabulary.

``build_model(name, params, vocab)`` turns ``params`` into the model's frozen config
dataclass at once (unknown keys raise, listing the known ones) and builds the model;
``load_model(artifact)`` rebuilds a saved model dict (ARCHITECTURE.md §5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from mmctr.config import from_params
from mmctr.errors import ModelFileError
from mmctr.models.base import CTRModel
from mmctr.models.din import DIN, DINConfig
from mmctr.models.transformer_dcn import TransformerDCN, TransformerDCNConfig
from mmctr.models.transformer_dcn_quant import (
    TransformerDCNQuant,
    TransformerDCNQuantConfig,
)

__all__ = [
    "DIN",
    "MODELS",
    "CTRModel",
    "DINConfig",
    "TransformerDCN",
    "TransformerDCNConfig",
    "TransformerDCNQuant",
    "TransformerDCNQuantConfig",
    "build_model",
    "count_parameters",
    "estimate_flops",
    "load_model",
]

#: model name (``params:training`` / the saved artifact) -> model class
MODELS: dict[str, type[CTRModel]] = {
    "transformer_dcn": TransformerDCN,
    "transformer_dcn_quant": TransformerDCNQuant,
    "din": DIN,
}


def build_model(
    name: str, params: Mapping[str, Any] | None, vocab: Mapping[str, Any]
) -> CTRModel:
    """Build model ``name`` with freshly initialised weights.

    Args:
        name: a key of :data:`MODELS`.
        params: the model's parameters (seed names); missing keys take the defaults.
        vocab: vocabulary sizes (ARCHITECTURE.md §2; ``rq_layers``/``rq_codes`` for the
            quantized model).

    Raises:
        ValueError: on an unknown model name or parameter key.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODELS)}")
    cls = MODELS[name]
    return cls(from_params(cls.config_class, params, where=f"model {name!r}"), vocab)


def load_model(artifact: Mapping[str, Any]) -> CTRModel:
    """Rebuild a saved model (keys ``model_name``, ``model_params``, ``vocab``,
    ``state_dict``) in eval mode, on the CPU (strict load; move it with ``.to``).

    Weights saved under keys a model has since renamed load through its
    :attr:`~mmctr.models.base.CTRModel.renamed_keys`.

    Raises:
        ModelFileError: when the weights still do not fit the model (one line: retrain).
    """
    name = artifact["model_name"]
    model = build_model(name, artifact["model_params"], artifact["vocab"])
    try:
        model.load_state_dict(artifact["state_dict"])
    except RuntimeError as err:
        detail = " ".join(str(err).split())
        raise ModelFileError(
            f"the saved {name!r} model does not fit the model this version builds ({detail}); "
            "retrain it: kedro run --pipelines training"
        ) from err
    return model.eval()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def estimate_flops(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> int:
    """FLOPs of one forward pass on ``batch`` (matmuls, convolutions and attention, as
    counted by ``torch.utils.flop_counter``: 2 per multiply-add) at the shapes executed.

    Runs under ``no_grad`` with the model's current train/eval mode.
    """
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(dict(batch))
    return int(counter.get_total_flops())
