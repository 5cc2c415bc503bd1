"""Optional model inputs (``models/layers/inputs``): the contract, the registry, the
composition in ``transformer_dcn``, and model files saved before the inputs were layers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from mmctr.errors import ModelFileError
from mmctr.models import build_model, load_model
from mmctr.models.layers.inputs import (
    DENSE,
    INPUTS,
    KINDS,
    LOGIT,
    TOKEN,
    BiasTerms,
    InputContext,
    ModelInput,
    RowStats,
    SimilarityChannel,
    SimilarityStats,
    TagOverlapChannel,
    enabled_inputs,
)
from mmctr.models.layers.inputs.base import ModelInputs
from mmctr.models.transformer_dcn import TransformerDCNConfig

from .conftest import TINY_TRANSFORMER, TINY_VOCAB, cut_history, make_batch

#: a tiny transformer_dcn with every optional input, trained a few steps and saved by the
#: code before the inputs became layers (its bias weights under ``item_bias``/``user_bias``),
#: with a batch and the logits that code gave in eval mode
OLD_ARTIFACT = Path(__file__).parent / "fixtures" / "transformer_dcn_before_layers.pt"


def test_registry_entries_follow_the_contract():
    fields = {f.name for f in dataclasses.fields(TransformerDCNConfig)}
    for cls in INPUTS.values():
        assert issubclass(cls, ModelInput) and cls.kind in KINDS
        assert cls.switch in fields


def test_enabled_inputs_in_registry_order_tokens_only_with_the_transformer():
    config = TransformerDCNConfig(similarity_input=True, dense_input=True,
                                  tag_overlap_input=True, bias_terms=True)
    assert enabled_inputs(config) == ["seq_sim", "sim_stats", "tag_overlap", "row_stats", "bias"]
    assert enabled_inputs(config, tokens=False) == ["sim_stats", "row_stats", "bias"]
    assert enabled_inputs(TransformerDCNConfig()) == []


def test_each_input_gives_the_shape_its_kind_promises():
    batch = make_batch(batch_size=4, width=10)
    model = build_model("transformer_dcn", TINY_TRANSFORMER, TINY_VOCAB)
    context = InputContext(last=6, items=model.item_embedding)
    layers = [SimilarityChannel(), SimilarityStats(), TagOverlapChannel(),
              RowStats(TINY_VOCAB["row_stats"]), BiasTerms(TINY_VOCAB["item"], 7)]
    expected = {TOKEN: (4, 6, 1), DENSE: None, LOGIT: (4,)}
    for layer in layers:
        out = layer(batch, context)
        assert out.shape == (expected[layer.kind] or (4, layer.output_dim))
        if layer.kind == TOKEN:
            assert out.shape[-1] == layer.output_dim
    assert torch.equal(SimilarityChannel()(batch, context)[..., 0], batch["seq_sim"][:, -6:])


def test_dense_inputs_are_normalised_together_when_one_asks():
    assert not ModelInputs({"sim_stats": SimilarityStats()}).normalize
    both = ModelInputs({"sim_stats": SimilarityStats(), "row_stats": RowStats(6)})
    assert both.normalize and both.width(DENSE) == 10
    assert both.row_features == ("sim_stats", "row_stats")


class _Clicks(ModelInput):
    """A registered input outside the seed's set: one dense feature from ``user_id``."""

    kind = DENSE
    switch = "dense_input"
    row_features = ("user_id",)
    output_dim = 3

    def forward(self, batch, context):
        return (batch["user_id"] % 5).float().unsqueeze(-1).expand(-1, 3)  # (B, 3)


def test_a_new_input_is_one_layer_plus_its_registration(monkeypatch):
    params = {**TINY_TRANSFORMER, "dense_input": True}
    before = build_model("transformer_dcn", params, TINY_VOCAB)
    monkeypatch.setitem(INPUTS, "clicks", _Clicks)
    model = build_model("transformer_dcn", params, TINY_VOCAB)
    assert model.dcn_input_dim == before.dcn_input_dim + 3
    assert model.row_features == ("row_stats", "user_id")
    assert model.dense_norm.num_features == TINY_VOCAB["row_stats"] + 3
    assert model.eval()(make_batch(batch_size=4)).shape == (4,)


def test_model_file_saved_before_the_inputs_were_layers_predicts_the_same():
    saved = torch.load(OLD_ARTIFACT, weights_only=True)
    assert "item_bias.weight" in saved["artifact"]["state_dict"]
    model = load_model(saved["artifact"])
    with torch.no_grad():
        torch.testing.assert_close(model(saved["batch"]), saved["logits"], atol=1e-6, rtol=0)
    # a training checkpoint of that time resumes the same way (plain load_state_dict)
    fresh = build_model("transformer_dcn", saved["artifact"]["model_params"], TINY_VOCAB)
    fresh.load_state_dict(saved["artifact"]["state_dict"])
    assert torch.equal(fresh.inputs["bias"].user.weight,
                       saved["artifact"]["state_dict"]["user_bias.weight"])


def test_model_file_that_does_not_fit_is_refused_in_one_line():
    saved = torch.load(OLD_ARTIFACT, weights_only=True)
    artifact = dict(saved["artifact"])
    artifact["state_dict"] = {k: v for k, v in artifact["state_dict"].items()
                              if k != "likes.weight"}
    with pytest.raises(ModelFileError, match="likes.weight") as err:
        load_model(artifact)
    assert "\n" not in str(err.value) and "retrain" in str(err.value)


class _HistoryLength(ModelInput):
    """A dense input reading the whole history: its number of real items."""

    kind = DENSE
    switch = "dense_input"

    def history_width(self, longest, width):
        return min(longest, width)

    def forward(self, batch, context):
        return (batch["item_seq"] != 0).sum(-1, keepdim=True).float()  # (B, 1)


def test_an_input_reading_the_history_widens_the_exact_cut(monkeypatch):
    params = {**TINY_TRANSFORMER, "dense_input": True, "use_transformer": False}
    assert build_model("transformer_dcn", params, TINY_VOCAB).history_width(6, 12) == 1
    monkeypatch.setitem(INPUTS, "history_length", _HistoryLength)
    model = build_model("transformer_dcn", params, TINY_VOCAB).eval()
    lengths = [0, 3, 6, 1]
    batch = make_batch(batch_size=4, width=12, lengths=lengths)
    width = model.history_width(max(lengths), 12)
    assert width == 6
    with torch.no_grad():
        torch.testing.assert_close(model(cut_history(batch, width)), model(batch))
