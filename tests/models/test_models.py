"""Model-level tests: parameter checksum, mask switch, exact history cut, one training step
per variant, build/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmctr.models import (
    MODELS,
    build_model,
    count_parameters,
    estimate_flops,
    load_model,
)

from .conftest import TINY_DIN, TINY_TRANSFORMER, TINY_VOCAB, cut_history, make_batch

MICROLENS_VOCAB = {"item": 91_718, "tag": 11_740, "likes": 11, "views": 11}

VARIANTS = {
    "default": ("transformer_dcn", {}),
    "seed_mask": ("transformer_dcn", {"seed_mask": True}),
    "similarity_input": ("transformer_dcn", {"similarity_input": True}),
    "no_transformer": ("transformer_dcn", {"use_transformer": False}),
    "no_dcn": ("transformer_dcn", {"use_dcn": False}),
    "no_mm_emb": ("transformer_dcn", {"use_mm_emb": False}),
    "cross_mix": ("transformer_dcn", {"cross_net": "mix", "cross_low_rank": 4}),
    "quant": ("transformer_dcn_quant", {}),
    "quant_replace": ("transformer_dcn_quant", {"keep_mm_emb": False}),
    "din": ("din", {}),
    "max_len": ("transformer_dcn", {"max_len": 5, "similarity_input": True}),
    "dense_input": ("transformer_dcn", {"similarity_input": True, "dense_input": True}),
    "dense_head": ("transformer_dcn", {"dense_input": True, "dense_head_units": [4]}),
    "tag_overlap": ("transformer_dcn", {"tag_overlap_input": True, "max_len": 5}),
    "rare_ids": ("transformer_dcn", {"min_item_count": 2}),
    "bias_terms": ("transformer_dcn", {"bias_terms": True, "user_buckets": 7}),
    "quant_dense": ("transformer_dcn_quant", {"similarity_input": True, "dense_input": True}),
}


def tiny(name: str, params: dict | None = None, seed: int = 0):
    torch.manual_seed(seed)
    base = TINY_DIN if name == "din" else TINY_TRANSFORMER
    return build_model(name, {**base, **(params or {})}, TINY_VOCAB)


def test_seed_model_parameter_checksum():
    with torch.device("meta"):  # shapes only: the real model takes ~1 GB
        model = build_model("transformer_dcn", {}, MICROLENS_VOCAB)
    parts = {n: count_parameters(m) for n, m in model.named_children()}
    assert parts["item_embedding"] + parts["likes"] + parts["views"] == 6_639_104
    assert parts["transformer"] == 2_893_824  # incl. the pooling linear
    assert parts["crossnet"] == 247_802_496
    assert parts["dnn"] == 9_963_264
    assert parts["head"] == 600_193
    assert count_parameters(model) == 267_898_881
    assert model.dcn_input_dim == 9_088 and model.transformer.output_dim == 8_704


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_trains_one_step(variant):
    name, params = VARIANTS[variant]
    model = tiny(name, params).train()
    batch = make_batch(batch_size=8, width=10)
    for column in model.item_features:
        assert f"item_{column}" in batch and f"seq_{column}" in batch
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    logits = model(batch)
    assert logits.shape == (8,)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, batch["label"])
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    moved = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    has_grad = [
        n for n, p in model.named_parameters() if p.grad is not None and p.grad.any()
    ]
    assert set(has_grad) <= set(moved) and len(moved) > len(before) // 2
    assert "item_embedding.item.weight" in moved


def test_declared_batch_features():
    assert tiny("transformer_dcn").item_features == ("tags", "emb")
    assert tiny("transformer_dcn", {"use_mm_emb": False}).item_features == ("tags",)
    assert tiny("transformer_dcn_quant").item_features == (
        "tags",
        "emb",
        "codes",
        "nbrs",
    )
    quant = tiny("transformer_dcn_quant", {"keep_mm_emb": False})
    assert quant.item_features == ("tags", "codes", "nbrs")
    assert tiny("transformer_dcn").row_features == ()
    sim = tiny("transformer_dcn", {"similarity_input": True})
    assert sim.row_features == ("seq_sim", "sim_stats")
    assert sim.transformer.d_model == 2 * sim.item_embedding.output_dim + 1


@pytest.mark.parametrize(
    ("variant", "longest", "width", "expected"),
    [
        ("default", 6, 12, 6),
        ("default", 2, 12, 4),  # first_k_cols = 4
        ("default", 0, 12, 4),
        ("default", 2, 3, 3),
        ("seed_mask", 6, 12, 7),  # one padding slot kept
        ("seed_mask", 12, 12, 12),
        ("seed_mask", 1, 12, 4),
        ("no_transformer", 6, 12, 1),
        ("din", 6, 12, 6),
        ("din", 11, 12, 8),  # max_len = 8
        ("din", 0, 12, 1),
        ("max_len", 11, 12, 5),  # only the newest max_len positions are read
        ("max_len", 3, 12, 4),  # first_k_cols = 4
    ],
)
def test_history_width_values(variant, longest, width, expected):
    name, params = VARIANTS[variant]
    assert tiny(name, params).history_width(longest, width) == expected


@pytest.mark.parametrize(
    "variant", ["default", "seed_mask", "similarity_input", "quant", "din", "max_len"]
)
@pytest.mark.parametrize(
    "lengths", [[0, 3, 5, 1, 2, 6], [0, 1, 2, 2, 0, 1], [0, 12, 3, 4, 5, 9]]
)
def test_history_cut_is_exact(variant, lengths):
    name, params = VARIANTS[variant]
    model = tiny(name, params).double().eval()
    batch = make_batch(width=12, lengths=lengths, dtype=torch.float64)
    width = model.history_width(max(lengths), 12)
    with torch.no_grad():
        full, cut = model(batch), model(cut_history(batch, width))
    torch.testing.assert_close(cut, full, atol=1e-5, rtol=0)


def test_seed_mask_cut_without_padding_slot_changes_logits():
    model = tiny("transformer_dcn", {"seed_mask": True}).double().eval()
    batch = make_batch(width=12, lengths=[0, 3, 6, 6, 2, 1], dtype=torch.float64)
    with torch.no_grad():
        assert not torch.allclose(model(batch), model(cut_history(batch, 6)))


@pytest.mark.parametrize("seed_mask", [True, False])
def test_seed_mask_ignores_history_items(seed_mask):
    model = tiny("transformer_dcn", {"seed_mask": seed_mask}).eval()
    batch = make_batch(batch_size=4, width=20, lengths=[3, 3, 3, 3])
    other = make_batch(batch_size=4, width=20, lengths=[3, 3, 3, 3], seed=7)
    swapped = dict(batch)
    for key in ("item_seq", "seq_tags", "seq_emb"):  # replace the history items only
        swapped[key] = other[key]
    with torch.no_grad():
        same = torch.allclose(model(batch), model(swapped), atol=1e-6)
    assert same == seed_mask


def test_unknown_keys_and_names_raise():
    with pytest.raises(ValueError, match="embedding_dim"):
        build_model("transformer_dcn", {"embeding_dim": 32}, TINY_VOCAB)
    with pytest.raises(ValueError, match="transformer_dcn_quant"):
        build_model("dcn", {}, TINY_VOCAB)
    with pytest.raises(ValueError, match="cross_net"):
        build_model("transformer_dcn", {"cross_net": "low"}, TINY_VOCAB)
    with pytest.raises(ValueError, match="keep_mm_emb"):
        build_model("transformer_dcn_quant", {"use_mm_emb": False}, TINY_VOCAB)
    with pytest.raises(ValueError, match="vocab"):
        build_model("din", {}, {"item": 5, "tag": 5})


def test_quant_sizes_from_vocab_or_params():
    vocab = {k: v for k, v in TINY_VOCAB.items() if k not in ("rq_layers", "rq_codes")}
    with pytest.raises(ValueError, match="rq_layers"):
        build_model("transformer_dcn_quant", TINY_TRANSFORMER, vocab)
    params = {**TINY_TRANSFORMER, "rq_layers": 3, "num_codes": 8}
    model = build_model("transformer_dcn_quant", params, vocab)
    assert model.item_embedding.code.num_embeddings == 3 * 8 + 1
    with pytest.raises(ValueError, match="disagrees"):
        build_model("transformer_dcn_quant", {**params, "num_codes": 9}, TINY_VOCAB)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_load_model_round_trip(name):
    model = tiny(name).eval()
    artifact = {
        "model_name": name,
        "model_params": {**(TINY_DIN if name == "din" else TINY_TRANSFORMER)},
        "vocab": dict(TINY_VOCAB),
        "state_dict": model.state_dict(),
    }
    loaded = load_model(artifact)
    assert not loaded.training
    batch = make_batch()
    with torch.no_grad():
        torch.testing.assert_close(loaded(batch), model(batch), atol=0, rtol=0)


def test_init_follows_fuxictr_defaults():
    model = tiny("transformer_dcn")
    table = model.item_embedding.item.weight
    assert torch.all(table[0] == 0) and table[1:].std() < 1e-3
    assert torch.all(model.dnn.net[0].bias == 0)


def test_estimate_flops_counts_cross_net():
    batch = make_batch(batch_size=4, width=10)
    full = estimate_flops(tiny("transformer_dcn").eval(), batch)
    mix = estimate_flops(
        tiny("transformer_dcn", VARIANTS["cross_mix"][1]).eval(), batch
    )
    assert full > mix > 0


@pytest.mark.parametrize("variant", ["default", "seed_mask", "quant", "din"])
def test_bf16_autocast_step_is_finite(variant):
    name, params = VARIANTS[variant]
    model = tiny(name, params).train()
    batch = make_batch(batch_size=8, width=10)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(batch)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        logits.float(), batch["label"]
    )
    loss.backward()
    assert torch.isfinite(loss) and logits.shape == (8,)


def test_new_inputs_declare_what_they_read():
    dense = tiny("transformer_dcn", {"similarity_input": True, "dense_input": True})
    assert dense.row_features == ("seq_sim", "sim_stats", "row_stats")
    assert dense.dense_norm.num_features == 4 + TINY_VOCAB["row_stats"]
    both = tiny("transformer_dcn", {"similarity_input": True, "tag_overlap_input": True})
    assert both.transformer.d_model == 2 * both.item_embedding.output_dim + 2
    assert "user_id" in tiny("transformer_dcn", {"bias_terms": True}).row_features
    with pytest.raises(ValueError, match="row_stats"):
        build_model("transformer_dcn", {**TINY_TRANSFORMER, "dense_input": True},
                    {k: v for k, v in TINY_VOCAB.items() if k != "row_stats"})


def test_tag_overlap_channel_is_the_share_of_target_tags():
    model = tiny("transformer_dcn", {"tag_overlap_input": True})
    batch = make_batch(batch_size=3, width=4)
    batch["item_tags"] = torch.tensor([[0, 0, 0, 1, 2], [0, 0, 0, 0, 3], [0] * 5])
    batch["seq_tags"] = torch.zeros(3, 4, 5, dtype=torch.long)
    batch["seq_tags"][0, -1] = torch.tensor([0, 0, 0, 2, 9])  # carries tag 2 of {1, 2}
    batch["seq_tags"][0, -2] = torch.tensor([0, 0, 1, 2, 7])  # carries both
    batch["seq_tags"][1, -1] = torch.tensor([0, 0, 0, 0, 4])  # none
    extra = model._token_extra(batch)  # (B, T, 1)
    assert extra.shape == (3, 4, 1)
    assert extra[0, -1, 0] == 0.5 and extra[0, -2, 0] == 1.0 and extra[0, 0, 0] == 0
    assert not extra[1].any() and not extra[2].any()  # no overlap / no target tags


def test_rare_items_fall_back_on_content_and_the_map_is_saved():
    model = tiny("transformer_dcn", {"min_item_count": 3})
    n = TINY_VOCAB["item"]
    train = {"item_id": np.array([5, 5, 5, 6, 6]),  # item 5: 3 times, item 6: 2 + 1
             "item_seq": np.array([[0, 6], [0, 7], [0, 0], [0, 0], [0, 0]])}
    model.prepare(train)
    rows = model.item_embedding.id_rows(torch.arange(n))
    assert rows[5] == 5 and rows[6] == 6 and rows[7] == 0 and rows[1] == 0
    emb = model.item_embedding.item
    with torch.no_grad():
        emb.weight[1:].normal_()  # row 0 (padding) stays zero, as training keeps it
    out = model.item_embedding(torch.tensor([7, 1]), torch.zeros(2, 5, dtype=torch.long),
                               torch.zeros(2, TINY_VOCAB["emb_dim"]))
    assert not out[:, : emb.embedding_dim].any()  # no id part for rare items
    artifact = {"model_name": "transformer_dcn", "model_params": {**TINY_TRANSFORMER,
                "min_item_count": 3}, "vocab": TINY_VOCAB, "state_dict": model.state_dict()}
    loaded = load_model(artifact)
    assert torch.equal(loaded.item_embedding.id_map, model.item_embedding.id_map)


def test_bias_terms_start_at_zero_and_hash_users():
    model = tiny("transformer_dcn", {"bias_terms": True, "user_buckets": 7})
    bias = model.inputs["bias"]
    assert not bias.item.weight.any() and not bias.user.weight.any()
    batch = make_batch(batch_size=4, width=6)
    base = model.eval()(batch)
    with torch.no_grad():
        bias.user.weight[int(batch["user_id"][0]) % 7] = 1.0
    shifted = model(batch)
    assert float(shifted[0]) == pytest.approx(float(base[0]) + 1.0, abs=1e-5)
