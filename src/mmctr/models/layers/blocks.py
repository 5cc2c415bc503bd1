"""Feed-forward building blocks: the MLP used by every model and the Dice activation.

Both accept inputs with any number of leading dimensions ``(..., D)``; batch norm (and
Dice's own batch norm) normalise over all leading positions flattened, as FuxiCTR does
for DIN's attention MLP (``view(-1, D)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "Dice", "MLPBlock", "make_activation"]


class Dice(nn.Module):
    """Data-adaptive activation of DIN (Zhou et al., 2018), FuxiCTR's form.

    ``p = sigmoid(BN(x))``; ``out = p * x + (1 - p) * alpha * x``, with a batch norm
    without affine parameters and a learnable ``alpha`` per channel (initialised to 0).

    Args:
        input_dim: number of channels ``D``.
        eps: batch-norm epsilon (FuxiCTR: 1e-9).
    """

    def __init__(self, input_dim: int, eps: float = 1e-9) -> None:
        super().__init__()
        # momentum 0.01: FuxiCTR's value (slow running statistics for inference)
        self.bn = nn.BatchNorm1d(input_dim, affine=False, eps=eps, momentum=0.01)
        self.alpha = nn.Parameter(torch.zeros(input_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (N, D). Returns: (N, D)."""
        p = torch.sigmoid(self.bn(x))
        return p * x + (1 - p) * self.alpha * x


#: activation name -> constructor taking the layer width (explicit, no ``eval``)
ACTIVATIONS = {
    "relu": lambda width: nn.ReLU(),
    "dice": Dice,
    "prelu": lambda width: nn.PReLU(),
    "sigmoid": lambda width: nn.Sigmoid(),
    "tanh": lambda width: nn.Tanh(),
}


def make_activation(name: str, width: int) -> nn.Module:
    """Return the activation module ``name`` (case-insensitive) for a layer of ``width``.

    Raises:
        ValueError: on an unknown name, listing the known ones.
    """
    key = name.lower()
    if key not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}"
        )
    return ACTIVATIONS[key](width)


class MLPBlock(nn.Module):
    """FuxiCTR's ``MLP_Block``: per hidden layer Linear → [BatchNorm] → activation → [Dropout],
    then an optional output Linear.

    Args:
        input_dim: input width ``D_in``.
        hidden_units: widths of the hidden layers, e.g. ``[1024, 512, 256]``.
        dropout: dropout rate after each hidden activation (0 = none).
        activation: hidden activation name (see :data:`ACTIVATIONS`).
        batch_norm: batch norm after each hidden Linear.
        output_dim: width of a final Linear without activation; ``None`` returns the last
            hidden layer.

    Shapes: ``(..., D_in) -> (..., output_dim or hidden_units[-1])``.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_units: Sequence[int],
        dropout: float = 0.0,
        activation: str = "relu",
        batch_norm: bool = False,
        output_dim: int | None = None,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = input_dim
        for units in hidden_units:
            layers.append(nn.Linear(width, units))
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(make_activation(activation, units))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = units
        if output_dim is not None:
            layers.append(nn.Linear(width, output_dim))
            width = output_dim
        self.net = nn.Sequential(*layers)
        self.output_dim = width
        self._flatten = batch_norm or activation.lower() == "dice"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (..., D_in). Returns: (..., output_dim)."""
        if self._flatten and x.dim() != 2:  # batch norms want (N, C)
            lead = x.shape[:-1]
            return self.net(x.reshape(-1, x.shape[-1])).reshape(*lead, self.output_dim)
        return self.net(x)
