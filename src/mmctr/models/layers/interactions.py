"""Explicit feature-crossing layers of DCNv2 (Wang et al., 2021).

``CrossNetV2`` is the full-rank cross network the seed uses; ``CrossNetMix`` is DCNv2's
low-rank mixture of experts, which at the seed's 9,088-d input costs ~18x fewer FLOPs
and parameters with the defaults (rank 64, 4 experts).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["CrossNetMix", "CrossNetV2"]


class CrossNetV2(nn.Module):
    """Full-rank cross network: ``x_{l+1} = x_l + x_0 * (W_l x_l + b_l)``.

    Args:
        input_dim: width ``D`` of ``x_0``.
        num_layers: number of cross layers ``L``.

    Shapes: ``(B, D) -> (B, D)``. Parameters: ``L * (D^2 + D)``.
    """

    def __init__(self, input_dim: int, num_layers: int) -> None:
        super().__init__()
        self.cross_layers = nn.ModuleList(
            nn.Linear(input_dim, input_dim) for _ in range(num_layers)
        )

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        """Args: x0 (B, D). Returns: (B, D)."""
        x = x0
        for layer in self.cross_layers:
            x = x + x0 * layer(x)
        return x


class CrossNetMix(nn.Module):
    """Low-rank mixture-of-experts cross network (DCNv2's ``CrossNetMix``).

    Per layer ``l`` and expert ``e``:
    ``E_e(x) = x_0 * (U_e tanh(C_e tanh(V_e^T x_l)) + b_l)``, gated by
    ``g = softmax(G_l x_l)`` over experts: ``x_{l+1} = x_l + sum_e g_e E_e(x_l)``.

    All experts run as one matmul each for ``V``, ``C`` (batched) and ``U``: since the gate
    weights sum to one, ``sum_e g_e E_e = x_0 * (sum_e g_e U_e v_e + b_l)``, so the gate is
    folded into the low-rank vector before a single ``(B, E*r) @ (E*r, D)`` product.

    Args:
        input_dim: width ``D``.
        num_layers: number of cross layers ``L``.
        low_rank: rank ``r`` of each expert.
        num_experts: number of experts ``E``.

    Shapes: ``(B, D) -> (B, D)``. Cost per layer ``~ 2 * D * E * r`` multiply-adds
    (vs ``D^2`` for :class:`CrossNetV2`).
    """

    def __init__(
        self, input_dim: int, num_layers: int, low_rank: int = 64, num_experts: int = 4
    ) -> None:
        super().__init__()
        self.num_experts, self.low_rank = num_experts, low_rank
        d, e, r = input_dim, num_experts, low_rank
        self.V = nn.Parameter(torch.empty(num_layers, d, e * r))  # experts side by side
        self.C = nn.Parameter(torch.empty(num_layers, e, r, r))
        self.U = nn.Parameter(torch.empty(num_layers, e * r, d))  # experts stacked
        self.bias = nn.Parameter(torch.zeros(num_layers, d))
        self.gates = nn.ModuleList(
            nn.Linear(d, e, bias=False) for _ in range(num_layers)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-normal per expert matrix (FuxiCTR), zero bias."""
        d, r = self.V.shape[1], self.low_rank
        with torch.no_grad():
            self.V.normal_(0.0, math.sqrt(2.0 / (d + r)))
            self.U.normal_(0.0, math.sqrt(2.0 / (d + r)))
            self.C.normal_(0.0, math.sqrt(2.0 / (r + r)))
            self.bias.zero_()

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        """Args: x0 (B, D). Returns: (B, D)."""
        batch, e, r = x0.shape[0], self.num_experts, self.low_rank
        x = x0
        for layer, gate in enumerate(self.gates):
            g = torch.softmax(gate(x), dim=-1)  # (B, E)
            v = torch.tanh(x @ self.V[layer]).view(batch, e, r)  # (B, E, r)
            v = torch.tanh(torch.einsum("ber,eqr->beq", v, self.C[layer]))  # (B, E, r)
            v = (v * g.unsqueeze(-1)).reshape(batch, e * r)  # gate folded in
            x = x + x0 * (v @ self.U[layer] + self.bias[layer])  # (B, D)
        return x
