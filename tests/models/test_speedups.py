"""Exact speed-ups of the Transformer: results unchanged within 1e-5.

- :meth:`TargetHistoryTransformer.encode` (one SDPA call on views of the packed QKV
  projection) against ``nn.TransformerEncoder``'s own forward;
- length buckets on CPU batches against the whole padded batch, per layer and per model.
"""

from __future__ import annotations

import pytest
import torch

from mmctr.models import build_model
from mmctr.models.layers import TargetHistoryTransformer, key_padding_mask
from mmctr.models.layers.attentions import BUCKET_MIN_ROWS

from .conftest import TINY_TRANSFORMER, TINY_VOCAB, make_batch


def _lengths(batch: int, width: int, seed: int = 0) -> torch.Tensor:
    """Real-like lengths: mostly short, some empty, some full."""
    g = torch.Generator().manual_seed(seed)
    lengths = (torch.randn(batch, generator=g) * 0.8 + 1.8).exp().round().long()
    lengths[:3] = torch.tensor([0, width, 1])
    return lengths.clamp(0, width)


def _inputs(batch: int, width: int, item_dim: int, extra_dim: int = 0, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    lengths = _lengths(batch, width, seed)
    real = torch.arange(width) >= width - lengths[:, None]  # (B, T)
    seq = torch.where(real, torch.randint(1, 50, (batch, width), generator=g), 0)
    history = torch.randn(batch, width, item_dim, generator=g, dtype=torch.float64) * real[..., None]
    target = torch.randn(batch, item_dim, generator=g, dtype=torch.float64)
    extra = None
    if extra_dim:  # like seq_sim: 0 at padding (ARCHITECTURE.md §3)
        extra = torch.rand(batch, width, extra_dim, generator=g, dtype=torch.float64) * real[..., None]
    return history, target, seq, extra


def _layer(seed_mask: bool, num_heads: int = 1, extra_dim: int = 0, dropout: float = 0.0):
    torch.manual_seed(0)
    return TargetHistoryTransformer(
        6, 2, num_heads, 16, dropout, first_k_cols=4, seed_mask=seed_mask, extra_dim=extra_dim
    ).double()


@pytest.mark.parametrize("seed_mask", [False, True])
@pytest.mark.parametrize(("num_heads", "extra_dim"), [(1, 0), (2, 0), (1, 1)])
@pytest.mark.parametrize("training", [False, True])
def test_encode_matches_transformer_encoder(seed_mask, num_heads, extra_dim, training):
    layer = _layer(seed_mask, num_heads, extra_dim).train(training)  # dropout 0: deterministic
    history, target, seq, _ = _inputs(8, 10, 6)
    d = layer.d_model
    tokens = torch.randn(8, 10, d, dtype=torch.float64, requires_grad=True)
    mask = key_padding_mask(seq, seed_mask)
    ours = layer.encode(tokens, mask)
    ref = layer.encoder(tokens, src_key_padding_mask=mask)
    keep = ~mask  # outputs at ignored positions are zeroed by the layer anyway
    torch.testing.assert_close(ours[keep], ref[keep], atol=1e-5, rtol=0)
    if training:
        grads = torch.autograd.grad(ours[keep].sum(), [tokens, *layer.parameters()], allow_unused=True)
        ref_grads = torch.autograd.grad(ref[keep].sum(), [tokens, *layer.parameters()], allow_unused=True)
        for a, b in zip(grads, ref_grads, strict=True):
            if a is None or b is None:
                assert a is None and b is None
            else:
                torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_encode_matches_transformer_encoder_in_float32_eval():
    layer = _layer(False).float().eval()
    tokens = torch.randn(64, 20, layer.d_model)
    seq = torch.where(torch.arange(20) >= 20 - _lengths(64, 20)[:, None], 1, 0)
    mask = key_padding_mask(seq)
    with torch.no_grad():
        ours, ref = layer.encode(tokens, mask), layer.encoder(tokens, src_key_padding_mask=mask)
    torch.testing.assert_close(ours[~mask], ref[~mask], atol=1e-5, rtol=0)


@pytest.mark.parametrize("seed_mask", [False, True])
@pytest.mark.parametrize("extra_dim", [0, 1])
def test_length_buckets_equal_the_whole_batch(seed_mask, extra_dim):
    layer = _layer(seed_mask, extra_dim=extra_dim).train()  # dropout 0: deterministic
    batch = 2 * BUCKET_MIN_ROWS
    history, target, seq, extra = _inputs(batch, 40, 6, extra_dim)
    assert len(layer._buckets(seq)) > 1  # the batch really is split
    history.requires_grad_(True)
    target.requires_grad_(True)
    wrt = [history, target, *layer.parameters()]
    bucketed = layer(history, target, seq, extra)
    grads = torch.autograd.grad(bucketed.square().sum(), wrt)
    layer.length_buckets = False
    assert layer._buckets(seq) is None
    whole = layer(history, target, seq, extra)
    whole_grads = torch.autograd.grad(whole.square().sum(), wrt)
    torch.testing.assert_close(bucketed, whole, atol=1e-5, rtol=0)
    # history inputs at padding positions are constants in a model (padding rows), and
    # under the seed mask the cut drops some of them: compare at real positions only
    real = seq != 0
    torch.testing.assert_close(grads[0][real], whole_grads[0][real], atol=1e-5, rtol=0)
    for a, b in zip(grads[1:], whole_grads[1:], strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_small_batches_and_non_cpu_run_whole():
    layer = _layer(False)
    _, _, seq, _ = _inputs(BUCKET_MIN_ROWS - 1, 40, 6)
    assert layer._buckets(seq) is None
    assert layer._buckets(torch.zeros(64, 40, dtype=torch.long, device="meta")) is None


@pytest.mark.parametrize("params", [{}, {"seed_mask": True}, {"similarity_input": True}])
def test_model_logits_and_gradients_with_and_without_length_buckets(params):
    torch.manual_seed(0)
    no_dropout = {"transformer_dropout": 0.0, "net_dropout": 0.0}
    model = build_model("transformer_dcn", {**TINY_TRANSFORMER, **no_dropout, **params}, TINY_VOCAB)
    model = model.double().train()
    batch = make_batch(batch_size=2 * BUCKET_MIN_ROWS, width=12, dtype=torch.float64)
    assert len(model.transformer._buckets(batch["item_seq"])) > 1
    results = []
    for buckets in (True, False):
        model.transformer.length_buckets = buckets
        logits = model(batch)
        results.append((logits, torch.autograd.grad(logits.square().sum(), list(model.parameters()))))
    (bucketed, grads), (whole, whole_grads) = results
    torch.testing.assert_close(bucketed, whole, atol=1e-5, rtol=0)
    for a, b in zip(grads, whole_grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
