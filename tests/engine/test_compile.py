"""``training.compile: true`` works on the CPU (torch.compile with inductor)."""

import dataclasses

import numpy as np
import pytest
import torch

from mmctr.engine.trainer import TrainConfig, train_model

from .conftest import TinyModel

CFG = TrainConfig(batch_size=64, learning_rate=0.02, epochs=1, patience=1, seed=3,
                  device="cpu", progress=False, max_steps_per_epoch=5)


@pytest.mark.slow
def test_compiled_training_runs_one_epoch_on_cpu(tiny_data):
    torch.manual_seed(CFG.seed)
    model = TinyModel(tiny_data["num_items"])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = train_model(dataclasses.replace(CFG, compile=True), model, tiny_data["train"],
                         tiny_data["valid"], tiny_data["items"])
    assert len(result.history) == 1
    assert np.isfinite(result.history[0]["train_loss"])
    assert 0.0 <= result.best_auc <= 1.0
    # weights are saved from the uncompiled module: same keys, and they were trained
    assert set(result.state_dict) == set(before)
    assert not torch.equal(result.state_dict["items.weight"], before["items.weight"])
