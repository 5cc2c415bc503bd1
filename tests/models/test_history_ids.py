"""History ids through DIN target attention (models/layers/history_ids.py) and the model's
switches for it and for the collaborative statistics."""

from __future__ import annotations

import pytest
import torch

from mmctr.models import build_model
from mmctr.models.layers.history_ids import HistoryIdAttention, build_history_attention
from tests.models.conftest import TINY_TRANSFORMER, TINY_VOCAB, make_batch

FACTOR_DIM = 6


def _batch(seed: int = 0) -> dict[str, torch.Tensor]:
    batch = make_batch(batch_size=5, width=8, seed=seed)
    g = torch.Generator().manual_seed(seed)
    table = torch.randn(TINY_VOCAB["item"], FACTOR_DIM, generator=g)
    table[0] = 0
    batch["item_collab"], batch["seq_collab"] = table[batch["item_id"]], table[batch["item_seq"]]
    batch["collab_stats"] = torch.rand(5, 12, generator=g)
    return batch


@pytest.mark.parametrize("factor_dim", [0, FACTOR_DIM])
def test_layer_shape_and_padding_has_no_effect(factor_dim):
    torch.manual_seed(0)
    layer = HistoryIdAttention(TINY_VOCAB["item"], 4, (8,), factor_dim=factor_dim).eval()
    batch = _batch()
    out = layer(batch)
    assert out.shape == (5, 8) and layer.output_dim == 8
    assert layer.item_features == (("collab",) if factor_dim else ())
    # the empty first row attends to nothing: its pooled half is zero
    assert torch.all(out[0, :4] == 0)
    # a row's output depends on its real history items, not on what sits under padding
    other = dict(batch)
    other["seq_collab"] = batch["seq_collab"].clone()
    other["seq_collab"][batch["item_seq"] == 0] = 5.0
    torch.testing.assert_close(layer(other), out)
    changed = dict(batch)
    changed["item_seq"] = torch.where(batch["item_seq"] > 0, batch["item_seq"] % 7 + 1, 0)
    assert not torch.allclose(layer(changed)[1], out[1])  # the full row reads its history


def test_id_dropout_only_in_training():
    torch.manual_seed(0)
    layer = HistoryIdAttention(TINY_VOCAB["item"], 4, (8,), id_dropout=0.5)
    torch.nn.init.normal_(layer.ids.weight)
    batch = _batch()
    layer.eval()
    torch.testing.assert_close(layer(batch), layer(batch))
    layer.train()
    assert not torch.allclose(layer(batch), layer(batch))


def test_build_switch_and_factor_requirement():
    assert build_history_attention(None, TINY_VOCAB) is None
    assert build_history_attention(False, TINY_VOCAB) is None
    with pytest.raises(ValueError, match="collaborative"):
        build_history_attention({}, TINY_VOCAB)  # factors on by default, none in the vocab
    with pytest.raises(ValueError, match="unknown"):
        build_history_attention({"dims": 3}, {**TINY_VOCAB, "collab_dim": FACTOR_DIM})
    layer = build_history_attention({"factors": False}, TINY_VOCAB)
    assert layer.factor is None


def test_model_reads_history_ids_and_collab_stats():
    vocab = {**TINY_VOCAB, "collab_dim": FACTOR_DIM, "collab_stats": 12}
    params = {**TINY_TRANSFORMER, "use_transformer": False, "dense_input": True,
              "collab_input": True, "history_ids": {"dim": 4, "hidden_units": [8]}}
    torch.manual_seed(0)
    model = build_model("transformer_dcn", params, vocab).eval()
    assert "collab" in model.item_features and "collab_stats" in model.row_features
    assert model.history_width(5, 8) >= 5  # the history is read again
    batch = _batch()
    logits = model(batch)
    assert logits.shape == (5,) and torch.isfinite(logits).all()
    other = dict(batch)
    other["collab_stats"] = batch["collab_stats"] + 1.0
    assert not torch.allclose(model(other), logits)
    plain = build_model("transformer_dcn", {**TINY_TRANSFORMER, "use_transformer": False},
                        TINY_VOCAB)
    assert plain.history_width(5, 8) == 1 and "collab" not in plain.item_features
