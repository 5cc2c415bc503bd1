"""The contract every optional model input follows, and the container a model composes.

An input is a small ``nn.Module`` that reads a few batch keys and returns one tensor of
one of three kinds (:data:`KINDS`), which decides where the model puts it:

- ``"token"``: ``(B, T, output_dim)`` channels appended to every history token of the
  Transformer (dropped when the model runs without it);
- ``"dense"``: ``(B, output_dim)`` features appended to the DCN input; with
  :attr:`ModelInput.normalize`, the model batch-normalises all dense inputs together;
- ``"logit"``: ``(B,)`` offsets added to the logit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import torch
from torch import nn

from mmctr.models.layers.embeddings import ItemEmbedding

__all__ = ["DENSE", "KINDS", "LOGIT", "TOKEN", "InputContext", "ModelInput", "ModelInputs"]

TOKEN, DENSE, LOGIT = "token", "dense", "logit"
KINDS = (TOKEN, DENSE, LOGIT)

Batch = dict[str, torch.Tensor]


class InputContext(NamedTuple):
    """What a model hands its inputs besides the batch.

    Attributes:
        last: newest history positions the model reads (``None``: all); token inputs
            return ``T = last`` positions.
        items: the model's item representation (``items.id_rows(ids)`` gives the rows of
            its id table, rare ids mapped to 0; ``items.target(batch)`` (B, I)).
    """

    last: int | None
    items: ItemEmbedding


class ModelInput(nn.Module):
    """One optional input of a model.

    Subclasses set :attr:`kind` and :attr:`switch` (the model parameter that turns them
    on), the batch keys they read (:attr:`row_features`: per-row keys such as
    ``"row_stats"``; :attr:`item_features`: item-table columns, read as ``item_<f>`` and
    ``seq_<f>``), :attr:`output_dim`, and implement :meth:`forward`. :meth:`build` makes
    the layer from the model parameters and the vocabulary; constructors take plain ints.
    """

    kind: ClassVar[str]
    switch: ClassVar[str]
    normalize: ClassVar[bool] = False  # dense only: wants batch norm (with every dense input)
    in_norm: ClassVar[bool] = True  # dense only: goes through that batch norm when there is one
    row_features: tuple[str, ...] = ()
    item_features: tuple[str, ...] = ()
    output_dim: int = 1

    @classmethod
    def enabled(cls, config: Any) -> bool:
        """Whether the model's parameters (``config``) turn this input on: its switch."""
        return bool(getattr(config, cls.switch))

    @classmethod
    def build(cls, config: Any, vocab: Mapping[str, Any]) -> ModelInput:
        """The layer for a model's parameters (``config``, read by attribute) and vocab."""
        return cls()

    def reset_parameters(self) -> None:
        """Own initialisation, applied after the model's defaults. Default: none."""

    def history_width(self, longest: int, width: int) -> int:
        """History columns this input needs for exact outputs, besides what the model's
        Transformer needs (token inputs follow the Transformer's cut): e.g. ``longest``
        (capped at ``width``) for an input that reads every real history item. 0: none.

        Args:
            longest: longest real history in the batch.
            width: current width of the batch's history.
        """
        return 0

    def forward(self, batch: Batch, context: InputContext) -> torch.Tensor:
        """Returns ``(B, T, output_dim)``, ``(B, output_dim)`` or ``(B,)`` by :attr:`kind`."""
        raise NotImplementedError


class ModelInputs(nn.ModuleDict):
    """The enabled inputs of a model, by name; each kind is used in insertion order.

    Args:
        inputs: name -> layer.
    """

    def __init__(self, inputs: Mapping[str, ModelInput] | None = None) -> None:
        super().__init__(inputs)

    def of_kind(self, kind: str) -> list[ModelInput]:
        """The inputs of one kind, in order."""
        return [layer for layer in self.values() if layer.kind == kind]

    def width(self, kind: str) -> int:
        """Summed ``output_dim`` of one kind: token channels or dense features."""
        return sum(layer.output_dim for layer in self.of_kind(kind))

    @property
    def norm_width(self) -> int:
        """Summed ``output_dim`` of the dense inputs that go through the batch norm."""
        return sum(layer.output_dim for layer in self.of_kind(DENSE) if layer.in_norm)

    @property
    def normalize(self) -> bool:
        """Whether an enabled dense input asks for batch norm."""
        return any(layer.normalize for layer in self.of_kind(DENSE))

    @property
    def row_features(self) -> tuple[str, ...]:
        """Per-row batch keys the inputs read, first occurrence first."""
        return tuple(dict.fromkeys(k for layer in self.values() for k in layer.row_features))

    @property
    def item_features(self) -> tuple[str, ...]:
        """Item-table columns the inputs read, first occurrence first."""
        return tuple(dict.fromkeys(k for layer in self.values() for k in layer.item_features))

    def history_width(self, longest: int, width: int) -> int:
        """The widest history any input needs (see :meth:`ModelInput.history_width`)."""
        return max((layer.history_width(longest, width) for layer in self.values()), default=0)

    def reset_parameters(self) -> None:
        """Each input's own initialisation."""
        for layer in self.values():
            layer.reset_parameters()

    def tokens(self, batch: Batch, context: InputContext) -> torch.Tensor | None:
        """Token channels ``(B, T, width("token"))`` in fp32, or None without any."""
        parts = [layer(batch, context) for layer in self.of_kind(TOKEN)]
        return torch.cat(parts, dim=-1).float() if parts else None

    def dense(
        self, batch: Batch, context: InputContext
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Dense features, one ``(B, output_dim)`` tensor per input: those that go through
        the batch norm (:attr:`ModelInput.in_norm`), then the others."""
        layers = self.of_kind(DENSE)
        normed = [layer(batch, context) for layer in layers if layer.in_norm]
        return normed, [layer(batch, context) for layer in layers if not layer.in_norm]

    def logit(self, batch: Batch, context: InputContext) -> torch.Tensor | None:
        """Summed logit offsets ``(B,)``, or None without any."""
        total = None
        for layer in self.of_kind(LOGIT):
            offset = layer(batch, context)
            total = offset if total is None else total + offset
        return total
