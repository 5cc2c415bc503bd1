"""``attention``: the scaled-dot-product-attention kernel the Transformer runs."""

from __future__ import annotations

import torch


def attention_kernels() -> dict[str, str]:
    """The SDPA kernel the seed's Transformer layer runs, in training and in eval."""
    from torch.profiler import profile

    from mmctr.models.layers import TargetHistoryTransformer

    layer = TargetHistoryTransformer(64, dropout=0.2)
    history, target = torch.randn(8, 20, 64), torch.randn(8, 64)
    seq = torch.randint(0, 3, (8, 20))
    found = {}
    for mode in ("train", "eval"):
        layer.train(mode == "train")
        with torch.set_grad_enabled(mode == "train"), profile() as prof:
            out = layer(history, target, seq)
            if mode == "train":
                out.sum().backward()
        names = sorted({e.key for e in prof.key_averages()
                        if "scaled_dot_product" in e.key and e.key != "aten::scaled_dot_product_attention"
                        and "backward" not in e.key})
        found[mode] = ", ".join(names) or "none"
    return found

