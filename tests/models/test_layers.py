"""Layer-level equivalence and shape tests."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from mmctr.models.layers import (
    CrossNetMix,
    CrossNetV2,
    DINAttention,
    ItemEmbedding,
    MLPBlock,
    TargetHistoryTransformer,
    key_padding_mask,
    make_activation,
)

from .conftest import TINY_VOCAB, make_batch


def _embedding(**kwargs) -> ItemEmbedding:
    torch.manual_seed(0)
    layer = ItemEmbedding(
        TINY_VOCAB["item"], TINY_VOCAB["tag"], 4, mm_input_dim=16, mm_dim=6, **kwargs
    )
    for p in layer.parameters():  # nonzero everywhere but the padding rows
        torch.nn.init.normal_(p)
    with torch.no_grad():
        layer.item.weight[0] = 0
        layer.tag.weight[0] = 0
        if layer.code is not None:
            layer.code.weight[0] = 0
    return layer


def test_item_embedding_parts_and_padding():
    layer = _embedding(rq_layers=3, rq_codes=8, use_neighbors=True)
    assert layer.output_dim == 4 * 4 + 6
    assert layer.item_features == ("tags", "emb", "codes", "nbrs")
    batch = make_batch()
    hist = layer.history(batch)  # (B, T, D)
    assert hist.shape == (6, 10, 22)
    assert torch.all(hist[batch["item_seq"] == 0] == 0)  # padding item -> zero rep
    target = layer.target(batch)
    ids, tags = batch["item_id"], batch["item_tags"]
    torch.testing.assert_close(target[:, :4], layer.item.weight[ids])
    real = (tags != 0).float().unsqueeze(-1)
    mean_tags = (layer.tag.weight[tags] * real).sum(1) / real.sum(1)
    torch.testing.assert_close(target[:, 4:8], mean_tags)
    torch.testing.assert_close(
        target[:, 8:14], batch["item_emb"] @ layer.mm_proj.weight.T
    )
    codes = batch["item_codes"] + torch.arange(3) * 8  # layer l owns rows l*C+1..l*C+C
    torch.testing.assert_close(target[:, 14:18], layer.code.weight[codes].mean(1))
    torch.testing.assert_close(
        target[:, 18:22], layer.item.weight[batch["item_nbrs"]].mean(1)
    )


def test_item_embedding_without_mm_and_history_slice():
    layer = ItemEmbedding(50, 20, 4, mm_dim=0)
    assert layer.item_features == ("tags",) and layer.output_dim == 8
    batch = make_batch(width=10)
    batch.pop("seq_emb")  # not read
    assert layer.history(batch, last=3).shape == (6, 3, 8)


def test_crossnet_v2_formula():
    torch.manual_seed(0)
    net = CrossNetV2(5, 2)
    x0 = torch.randn(3, 5)
    x1 = x0 + x0 * net.cross_layers[0](x0)
    x2 = x1 + x0 * net.cross_layers[1](x1)
    torch.testing.assert_close(net(x0), x2)
    assert sum(p.numel() for p in net.parameters()) == 2 * (25 + 5)


def test_crossnet_mix_matches_per_expert_loop():
    torch.manual_seed(0)
    d, layers, r, e = 7, 2, 3, 4
    net = CrossNetMix(d, layers, r, e)
    with torch.no_grad():
        net.bias.normal_()
    x0 = torch.randn(5, d, dtype=torch.float64)
    net = net.double()
    x = x0
    for i in range(layers):  # DCNv2 / FuxiCTR form, one expert at a time
        gates = torch.softmax(net.gates[i](x), dim=-1)
        out = 0
        for k in range(e):
            v = torch.tanh(x @ net.V[i][:, k * r : (k + 1) * r])
            v = torch.tanh(v @ net.C[i][k].T)
            u = v @ net.U[i][k * r : (k + 1) * r]
            out = out + gates[:, k : k + 1] * (x0 * (u + net.bias[i]))
        x = x + out
    torch.testing.assert_close(net(x0), x)


def _flops(module, x) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        module(x)
    return counter.get_total_flops()


def test_crossnet_mix_at_least_ten_times_cheaper_at_seed_width():
    with torch.device("meta"):  # no memory: shapes only
        full, mix = (
            CrossNetV2(9088, 3),
            CrossNetMix(9088, 3, low_rank=64, num_experts=4),
        )
        x = torch.empty(128, 9088)
    ratio = _flops(full, x) / _flops(mix, x)
    assert ratio >= 10, ratio
    params = [sum(p.numel() for p in m.parameters()) for m in (full, mix)]
    assert params[0] / params[1] >= 10


def test_mlp_block_shapes_and_batch_norm_on_3d_input():
    block = MLPBlock(
        6, [8, 4], dropout=0.1, activation="dice", batch_norm=True, output_dim=1
    )
    assert block(torch.randn(3, 5, 6)).shape == (3, 5, 1)
    assert MLPBlock(6, [8, 4]).output_dim == 4
    with pytest.raises(ValueError, match="relu"):
        make_activation("gelu-ish", 3)


def test_key_padding_mask_rules():
    seq = torch.tensor([[0, 0, 5, 6], [0, 0, 0, 0], [1, 2, 3, 4]])
    assert key_padding_mask(seq).tolist() == [
        [True, True, False, False],
        [True, True, True, False],  # empty row: newest slot unmasked
        [False, False, False, False],
    ]
    assert key_padding_mask(seq, seed_mask=True).tolist() == [
        [False, False, True, True],
        [False, False, False, False],
        [True, True, True, False],  # full row: every real item masked but the newest
    ]


def _transformer(seed_mask: bool, extra_dim: int = 0) -> TargetHistoryTransformer:
    torch.manual_seed(0)
    return TargetHistoryTransformer(
        6, 2, 1, 16, 0.2, first_k_cols=4, seed_mask=seed_mask, extra_dim=extra_dim
    ).eval()


def _seed_reference(layer, history, target, item_seq):
    """The released seed's Transformer.forward, re-expressed (mask = 1 for real items)."""
    mask = (item_seq > 0).float()
    mask[mask.all(dim=-1), -1] = 0
    mask = mask.bool()
    tokens = torch.cat(
        [history, target.unsqueeze(1).expand(-1, history.shape[1], -1)], -1
    )
    out = layer.encoder(src=tokens, src_key_padding_mask=mask)
    out = out.masked_fill(mask.unsqueeze(-1).repeat(1, 1, out.shape[-1]), 0.0)
    flat = out[:, -layer.first_k_cols :].flatten(start_dim=1)
    out = out.masked_fill(mask.unsqueeze(-1).repeat(1, 1, out.shape[-1]), -1e9)
    return torch.cat([flat, layer.out_linear(out.max(dim=1).values)], dim=-1)


def test_transformer_seed_mask_reproduces_released_code_bit_for_bit():
    layer = _transformer(seed_mask=True)
    seq = torch.tensor([[0, 0, 0, 0, 0, 0], [0, 0, 0, 7, 8, 9], [1, 2, 3, 4, 5, 6]])
    history = torch.randn(3, 6, 6) * (seq != 0).unsqueeze(-1)
    target = torch.randn(3, 6)
    with torch.no_grad():
        assert torch.equal(
            layer(history, target, seq), _seed_reference(layer, history, target, seq)
        )


@pytest.mark.parametrize("seed_mask", [True, False])
def test_transformer_history_items_matter_only_with_correct_mask(seed_mask):
    layer = _transformer(seed_mask)
    seq = torch.zeros(2, 20, dtype=torch.long)
    seq[:, -3:] = torch.tensor([4, 5, 6])  # 3 real items in width 20
    history = torch.randn(2, 20, 6) * (seq != 0).unsqueeze(-1)
    other = torch.randn(2, 20, 6) * (seq != 0).unsqueeze(-1)  # replaced history items
    target = torch.randn(2, 6)
    with torch.no_grad():
        same = torch.allclose(layer(history, target, seq), layer(other, target, seq))
    assert layer.output_dim == (4 + 1) * 12
    assert same == seed_mask


def test_transformer_extra_channel_and_narrow_batch():
    layer = _transformer(seed_mask=False, extra_dim=1)
    assert layer.d_model == 13 and layer.output_dim == 5 * 13
    seq = torch.tensor([[0, 3], [2, 3]])  # narrower than first_k_cols = 4
    out = layer(torch.randn(2, 2, 6), torch.randn(2, 6), seq, torch.randn(2, 2, 1))
    assert out.shape == (2, 65)
    # missing columns read as padding (zero outputs)
    assert torch.all(out[:, : 2 * 13] == 0)
    with pytest.raises(ValueError, match="num_heads"):
        TargetHistoryTransformer(6, num_heads=2, extra_dim=1)


def test_din_attention_masks_padding_and_is_unnormalised():
    torch.manual_seed(0)
    att = DINAttention(4, [8], activation="relu", dropout=0.0).eval()
    target, history = torch.randn(2, 4), torch.randn(2, 3, 4)
    mask = torch.tensor([[False, True, True], [False, False, False]])
    out = att(target, history, mask)
    assert torch.all(out[1] == 0)
    changed = history.clone()
    changed[0, 0] = 100.0  # a masked position
    torch.testing.assert_close(att(target, changed, mask), out)
