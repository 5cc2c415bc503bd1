import numpy as np
import pytest

from mmctr.engine.fit import model_vocab, resolve_training, trainable_parameters
from mmctr.engine.trainer import TrainConfig
from tests.pipelines.evaluation.tiny_inputs import tiny_artifact

PARAMS = {
    "preset": "default",
    "presets": {
        "default": {"model": {"name": "transformer_dcn", "embedding_dim": 8}, "batch_size": 64},
        "seed": {"model": {"name": "transformer_dcn"}, "batch_size": 128, "learning_rate": 5e-4},
    },
    "device": "cpu",
}


def test_preset_supplies_model_and_optimisation_settings():
    name, model, cfg = resolve_training(PARAMS)
    assert name == "transformer_dcn" and model == {"embedding_dim": 8}
    assert cfg.batch_size == 64 and cfg.device == "cpu" and isinstance(cfg, TrainConfig)
    name, model, cfg = resolve_training({**PARAMS, "preset": "seed"})
    assert model == {} and cfg.batch_size == 128 and cfg.learning_rate == 5e-4


def test_top_level_keys_override_the_preset_key_by_key():
    _, model, cfg = resolve_training({**PARAMS, "batch_size": 32, "model": {"seed_mask": True}})
    assert cfg.batch_size == 32
    assert model == {"embedding_dim": 8, "seed_mask": True}


def test_unknown_preset_and_unknown_keys_fail_early():
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        resolve_training({**PARAMS, "preset": "nope"})
    with pytest.raises(ValueError, match="unknown key.*batchsize"):
        resolve_training({**PARAMS, "batchsize": 3})


def test_model_vocab_adds_semantic_sizes():
    sem = {"rq_codes": np.array([[0, 0], [3, 7], [16, 2]]), "neighbors": np.zeros((3, 5))}
    vocab = model_vocab({"item": 3}, sem)
    assert vocab == {"item": 3, "rq_layers": 2, "rq_codes": 16, "num_neighbors": 5}


def test_model_vocab_takes_emb_dim_from_the_item_table():
    items = {"item_emb": np.zeros((3, 40), np.float32), "item_tags": np.zeros((3, 5))}
    assert model_vocab({"item": 3, "emb_dim": 128}, None, item_features=items)["emb_dim"] == 40
    assert model_vocab({"item": 3, "emb_dim": 128}, None)["emb_dim"] == 128


def test_trainable_parameters():
    artifact = tiny_artifact()
    from mmctr.models import build_model, count_parameters

    model = build_model(artifact["model_name"], artifact["model_params"], artifact["vocab"])
    assert trainable_parameters(artifact) == count_parameters(model)
    broken = {**artifact, "model_name": "no_such_model"}  # falls back to the state dict
    assert trainable_parameters(broken) == sum(
        t.numel() for t in artifact["state_dict"].values() if t.is_floating_point())
