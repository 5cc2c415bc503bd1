"""bf16 settings, the bf16-weights / fp32-masters path, and the allocator setting."""

import dataclasses
import logging

import numpy as np
import pytest
import torch
from torch import nn

from mmctr.engine import precision
from mmctr.engine.batching import BatchAssembler, build_item_table
from mmctr.engine.metrics import auc
from mmctr.engine.precision import Bf16Weights, keep_freed_memory, resolve_bf16
from mmctr.engine.trainer import (
    TrainConfig,
    make_optimizer,
    predict,
    train_model,
    train_step,
)
from mmctr.models import build_model

from ..models.conftest import TINY_TRANSFORMER
from .conftest import killed_after_saves

CPU = torch.device("cpu")
CFG = TrainConfig(batch_size=64, learning_rate=0.01, epochs=3, patience=3, seed=5,
                  device="cpu", progress=False)


def _model(tiny_data, seed=0, **params):
    vocab = {"item": tiny_data["num_items"], "tag": 9, "likes": 11, "views": 11, "emb_dim": 4}
    torch.manual_seed(seed)
    return build_model("transformer_dcn", {**TINY_TRANSFORMER, **params}, vocab)


def _train(tiny_data, cfg, **params):
    model = _model(tiny_data, **params)
    result = train_model(cfg, model, tiny_data["train"], tiny_data["valid"], tiny_data["items"])
    return model, result


# ---- resolve_bf16 -------------------------------------------------------------------
@pytest.mark.parametrize("native", [True, False])
def test_auto_follows_the_hardware_and_says_so(monkeypatch, caplog, native):
    monkeypatch.setattr(precision, "native_bf16", lambda device: native)
    with caplog.at_level(logging.INFO, logger="mmctr.engine.precision"):
        assert resolve_bf16("auto", CPU, "training.bf16") is native
    assert f"training.bf16: auto → {'on' if native else 'off'}" in caplog.text


def test_explicit_settings_win_and_emulation_is_warned(monkeypatch, caplog):
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    assert resolve_bf16(False, CPU) is False
    with caplog.at_level(logging.WARNING, logger="mmctr.engine.precision"):
        assert resolve_bf16(True, CPU) is True
    assert "emulated" in caplog.text


@pytest.mark.parametrize("bad", ["yes", 1, None, "true"])
def test_other_values_are_refused(bad):
    with pytest.raises(ValueError, match="auto, true or false"):
        resolve_bf16(bad, CPU)


def test_train_step_refuses_an_unresolved_setting(tiny_data):
    model = _model(tiny_data)
    with pytest.raises(ValueError, match="resolved"):
        train_step(dataclasses.replace(CFG, bf16="auto"), model, model,
                   make_optimizer(model, CFG, CPU), nn.BCEWithLogitsLoss(), {}, CPU)


# ---- Bf16Weights ----------------------------------------------------------------------
def test_linear_weights_become_bf16_with_fp32_masters(tiny_data):
    model = _model(tiny_data)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    weights = Bf16Weights(model)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(weights) == len(linears) > 3
    assert all(m.weight.dtype == torch.bfloat16 for m in linears)
    # everything else stays fp32: embeddings, biases, norms
    assert all(p.dtype == torch.float32 for n, p in model.named_parameters()
               if not any(p is m.weight for m in linears))
    # the state the trainer saves is the fp32 one, exactly as before
    state = weights.state_dict(model)
    assert state.keys() == before.keys()
    for key, value in before.items():
        assert state[key].dtype == value.dtype and torch.equal(state[key], value)
    # the optimizer gets the masters in the model's parameter order
    params = weights.parameters(model.parameters())
    assert len(params) == len(list(model.parameters()))
    assert all(p.dtype == torch.float32 for p in params)
    weights.release()
    assert all(m.weight.dtype == torch.float32 for m in linears)
    for key, value in before.items():
        assert torch.equal(model.state_dict()[key], value)


def test_loading_fp32_weights_updates_masters_and_copies(tiny_data):
    model = _model(tiny_data)
    other = _model(tiny_data, seed=1).state_dict()
    weights = Bf16Weights(model)
    weights.load_state_dict(model, other)
    for key, master in weights.keys.items():
        assert torch.equal(master, other[key])
        assert torch.equal(model.state_dict()[key], other[key].to(torch.bfloat16))


@pytest.mark.parametrize("max_norm", [1e-3, 1e3])  # clipping active / inactive
def test_clipping_while_moving_equals_clipping_fp32_gradients(tiny_data, max_norm):
    model = _model(tiny_data)
    weights = Bf16Weights(model)
    items = build_item_table(tiny_data["items"], model.item_features)
    data = BatchAssembler(tiny_data["train"], items, model.row_features, model.history_width)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(data(torch.arange(64)))
    nn.functional.binary_cross_entropy_with_logits(logits.float(), torch.ones(64)).backward()
    others = [p for p in model.parameters() if p.dtype == torch.float32]
    # the reference: every gradient in fp32, clipped by torch's own function
    reference = []
    for grad in [w.grad.float() for w in weights.weights] + [p.grad.clone() for p in others]:
        holder = torch.zeros_like(grad, requires_grad=True)
        holder.grad = grad
        reference.append(holder)
    total_ref = nn.utils.clip_grad_norm_(reference, max_norm)
    reference = [h.grad for h in reference]
    total = weights.clip_and_move(others, max_norm)
    assert float(total) == pytest.approx(float(total_ref), rel=5e-3)
    moved = [m.grad for m in weights.masters] + [p.grad for p in others]
    assert all(w.grad is None for w in weights.weights)
    assert all(g.dtype == torch.float32 for g in moved)
    for got, want in zip(moved, reference, strict=True):
        torch.testing.assert_close(got, want, rtol=5e-3, atol=1e-12)


def test_moving_gradients_during_backward_changes_nothing(tiny_data):
    """The post-accumulate-grad hooks move each gradient as soon as it exists: same result as
    moving them all after backward, and no bf16 gradient is left behind."""
    moved = {}
    for in_backward in (False, True):
        model = _model(tiny_data)
        weights = Bf16Weights(model, in_backward=in_backward)
        items = build_item_table(tiny_data["items"], model.item_features)
        data = BatchAssembler(tiny_data["train"], items, model.row_features, model.history_width)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(data(torch.arange(64)))
        nn.functional.binary_cross_entropy_with_logits(logits.float(), torch.ones(64)).backward()
        if in_backward:
            assert all(w.grad is None for w in weights.weights)
            assert all(m.grad is not None for m in weights.masters)
        others = [p for p in model.parameters() if p.dtype == torch.float32]
        total = weights.clip_and_move(others, 1e-3)
        moved[in_backward] = (total, [m.grad for m in weights.masters])
        weights.release()
        assert all(m.weight.dtype == torch.float32 for m in model.modules()
                   if isinstance(m, nn.Linear))
    assert torch.equal(moved[False][0], moved[True][0])
    for a, b in zip(moved[False][1], moved[True][1], strict=True):
        assert torch.equal(a, b)


def test_master_weights_compute_exactly_what_autocast_computes(tiny_data):
    """Same arithmetic, other storage: the two bf16 paths give the same weights (clipping
    off here: the master path reads the norm from the bf16 gradients, see above)."""
    cfg = dataclasses.replace(CFG, bf16=True, max_grad_norm=1e6)
    _, masters = _train(tiny_data, cfg)
    _, autocast = _train(tiny_data, dataclasses.replace(cfg, bf16_master_weights=False))
    for key, value in masters.state_dict.items():
        assert value.dtype == autocast.state_dict[key].dtype
        torch.testing.assert_close(value, autocast.state_dict[key], rtol=1e-5, atol=1e-6)
    assert [r["valid_auc"] for r in masters.history] == pytest.approx(
        [r["valid_auc"] for r in autocast.history], abs=1e-4)


def test_bf16_training_matches_fp32_within_tolerance(tiny_data):
    # without the Transformer the tiny model learns this data within three epochs
    model32, fp32 = _train(tiny_data, dataclasses.replace(CFG, bf16=False), use_transformer=False)
    model16, bf16 = _train(tiny_data, dataclasses.replace(CFG, bf16=True), use_transformer=False)
    # the trained model leaves in fp32 whatever the precision it trained in
    assert all(p.dtype == torch.float32 for p in model16.parameters())
    assert all(v.dtype == fp32.state_dict[k].dtype for k, v in bf16.state_dict.items())
    assert fp32.best_auc > 0.6
    assert abs(bf16.best_auc - fp32.best_auc) < 0.02
    losses = [(a["train_loss"], b["train_loss"]) for a, b in zip(fp32.history, bf16.history, strict=True)]
    assert all(abs(a - b) < 0.02 for a, b in losses)
    # scored in fp32, the two models rank the valid rows alike
    probs = []
    for model, result in ((model32, fp32), (model16, bf16)):
        model.load_state_dict(result.state_dict)
        items = build_item_table(tiny_data["items"], model.item_features)
        data = BatchAssembler(tiny_data["valid"], items, model.row_features, model.history_width)
        probs.append(predict(model, data))
    assert np.corrcoef(probs[0], probs[1])[0, 1] > 0.9
    assert abs(auc(tiny_data["valid"]["label"], probs[0])
               - auc(tiny_data["valid"]["label"], probs[1])) < 0.02


def test_bf16_resume_matches_an_uninterrupted_run(tiny_data, tmp_path):
    cfg = dataclasses.replace(CFG, bf16=True, checkpoint_dir=str(tmp_path), epochs=3)
    _, full = _train(tiny_data, cfg)
    with killed_after_saves(1), pytest.raises(KeyboardInterrupt):
        _train(tiny_data, cfg)
    saved = torch.load(next(tmp_path.glob("*.pt")), weights_only=False)
    assert all(v.dtype != torch.bfloat16 for v in saved["model"].values())  # fp32 masters
    _, resumed = _train(tiny_data, cfg)
    assert [r["valid_auc"] for r in resumed.history] == [r["valid_auc"] for r in full.history]
    for key in full.state_dict:
        assert torch.equal(full.state_dict[key], resumed.state_dict[key])


def test_plateau_restore_reloads_the_masters(tiny_data):
    cfg = dataclasses.replace(CFG, bf16=True, learning_rate=0.5, epochs=5, patience=3,
                              plateau_factor=0.1, plateau_restore=True)
    model, result = _train(tiny_data, cfg)
    assert result.best_auc == max(r["valid_auc"] for r in result.history)
    assert all(p.dtype == torch.float32 for p in model.parameters())


# ---- allocator -----------------------------------------------------------------------
def test_keep_freed_memory_is_idempotent():
    first = keep_freed_memory()
    assert keep_freed_memory() is first
    if first:  # glibc: a large tensor freed and allocated again still works
        x = torch.ones(1 << 22)
        del x
        assert float(torch.ones(1 << 22).sum()) == float(1 << 22)
