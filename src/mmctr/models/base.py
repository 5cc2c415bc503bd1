"""What every mmctr model shares: the batch contract and FuxiCTR's weight initialisation."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

__all__ = ["CTRModel", "require_vocab"]


def require_vocab(vocab: Mapping[str, Any], *keys: str) -> list[int]:
    """Return ``vocab[key]`` as ints for each key.

    Raises:
        ValueError: naming the missing keys.
    """
    missing = [k for k in keys if k not in vocab]
    if missing:
        raise ValueError(f"vocab lacks key(s) {missing}; it has {sorted(vocab)}")
    return [int(vocab[k]) for k in keys]


def _rename_saved_keys(
    module: CTRModel, state_dict: MutableMapping[str, Any], prefix: str, *_: Any
) -> None:
    """``load_state_dict`` pre-hook: move weights saved under old keys to their new ones."""
    for old, new in module.renamed_keys.items():
        if prefix + old in state_dict and prefix + new not in state_dict:
            state_dict[prefix + new] = state_dict.pop(prefix + old)


class CTRModel(nn.Module):
    """Base class: ``forward(batch) -> logits (B,)`` (no sigmoid; train with BCE-with-logits).

    Subclasses set :attr:`config_class` (a frozen dataclass of the model's parameters) and
    take ``(config, vocab)``; they declare what the batch must carry:

    - :attr:`item_features`: item-table columns gathered for target and history
      (``item_<f>`` / ``seq_<f>``), e.g. ``("tags", "emb")``;
    - :attr:`row_features`: extra per-row keys, e.g. ``("seq_sim", "sim_stats")``;
    - :meth:`history_width`: the narrowest history width that leaves every logit unchanged.
    """

    config_class: ClassVar[type]
    item_features: tuple[str, ...] = ("tags", "emb")
    row_features: tuple[str, ...] = ()
    #: state_dict keys of weights saved by earlier versions -> their keys now: renamed
    #: whenever weights are loaded (``load_model``, a resumed training checkpoint)
    renamed_keys: ClassVar[Mapping[str, str]] = {}

    def __init__(self) -> None:
        super().__init__()
        self.register_load_state_dict_pre_hook(_rename_saved_keys)

    def prepare(self, train_rows: Mapping[str, np.ndarray]) -> None:
        """Set data-dependent state from the train split once, before training (e.g. which
        item ids are frequent enough for an own embedding). Kept in buffers, so a saved
        model scores exactly as trained. Default: nothing."""

    def history_width(self, longest: int, width: int) -> int:
        """History columns a batch may be cut to without changing any logit.

        Args:
            longest: longest real history in the batch.
            width: current width of the batch's history.
        """
        raise NotImplementedError

    def reset_parameters(self) -> None:
        """Apply :meth:`_init_weights` to every submodule."""
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """FuxiCTR's defaults: embeddings N(0, 1e-4) with the padding row zero; plain
        ``nn.Linear`` xavier-normal with zero bias. Only exact ``nn.Linear`` (as FuxiCTR's
        ``type(m) in [nn.Linear]``): the attention's own projections keep PyTorch's init,
        exactly as in the seed."""
        if isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=1e-4)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif type(module) is nn.Linear:
            nn.init.xavier_normal_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
