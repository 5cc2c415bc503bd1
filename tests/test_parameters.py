"""Every parameter block is checked before any node runs (src/mmctr/parameters.py)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader

from mmctr.errors import ParameterError
from mmctr.parameters import VALIDATORS, blocks_read_by, register, validate_parameters

CONF = Path(__file__).resolve().parents[1] / "conf"


def _params(env: str = "local") -> dict:
    loader = OmegaConfigLoader(
        str(CONF), base_env="base", default_run_env=env,
        merge_strategy={"parameters": "soft"},
    )
    return copy.deepcopy(dict(loader["parameters"]))


@pytest.mark.parametrize("env", ["local", "test", "microlens"])
def test_the_shipped_parameters_pass(env):
    checked = validate_parameters(_params(env))
    assert {"training", "ablation", "synthetic", "feature_engineering",
            "semantic_similarity", "evaluation", "submission"} <= set(checked)


def _set(params: dict, dotted: str, value) -> dict:
    *path, last = dotted.split(".")
    node = params
    for key in path:
        node = node.setdefault(key, {})
    node[last] = value
    return params


BAD = [
    ("training.preset", "sed", r"params:training.preset: unknown preset 'sed'; known: default, seed"),
    ("training.epochs", 0, r"params:training.epochs must be a whole number >= 1, got 0"),
    ("training.batch_size", -8, r"params:training.batch_size must be a whole number >= 1, got -8"),
    ("training.eval_batch_size", 0, r"eval_batch_size must be a whole number >= 1"),
    ("training.learning_rate", 0.0, r"params:training.learning_rate must be > 0"),
    ("training.patience", -1, r"params:training.patience must be a whole number >= 0"),
    ("training.world_size", 0, r"params:training.world_size must be a whole number >= 1"),
    ("training.epoch", 3, r"params:training: unknown key\(s\) \['epoch'\]"),
    ("training.model.name", "transformer", r"unknown model 'transformer'; known: din, transformer_dcn"),
    ("training.model.embeding_dim", 8, r"unknown key\(s\) \['embeding_dim'\]"),
    ("training.device", "tpu", r"params:training.device must be auto, cpu, cuda or cuda:N"),
    ("training.bf16", "fast", r"params:training.bf16 must be auto, true or false, got 'fast'"),
    ("evaluation.bf16", 1, r"params:evaluation.bf16 must be auto, true or false, got 1"),
    ("ablation.run", ["din", "nosuch"], r"params:ablation.run: unknown variant\(s\) \['nosuch'\]"),
    ("ablation.budget.epochs", 0, r"params:ablation.budget.epochs must be a whole number >= 1"),
    ("ablation.budget.epoch", 1, r"params:ablation.budget: unknown key\(s\) \['epoch'\]"),
    ("ablation.variants.no_dcn.model.use_dnc", False, r"unknown key\(s\) \['use_dnc'\]"),
    ("ablation.variants.no_dcn.learning_rat", 1e-3, r"params:ablation.variants.no_dcn: unknown key\(s\) \['learning_rat'\]"),
    ("ablation.seeds", 0, r"params:ablation.seeds must be a whole number >= 1, got 0"),
    ("ablation.variants.lightgbm.baseline", "forest",
     r"params:ablation.variants.lightgbm: a baseline variant is \{baseline: NAME\} with NAME one of lightgbm, popularity"),
    ("ablation.lightgbm.num_leafs", 8, r"params:ablation.lightgbm: unknown key\(s\) \['num_leafs'\]"),
    ("synthetic.preset", "huge", r"params:synthetic.preset: unknown preset 'huge'; known: default, full, medium, small, tiny"),
    ("feature_engineering.max_len", 0, r"max_len must be >= 1"),
    ("semantic_similarity.top_k", 0, r"top_k must be ≥ 1"),
    ("evaluation.history_buckets", [5, 1], r"history_buckets must be at least two strictly increasing"),
    ("submission.probability_column", "ID", r"probability_column must be a non-empty name other than 'ID'"),
    ("submission.device", "gpu", r"params:submission.device must be auto, cpu, cuda or cuda:N"),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_value_is_refused_with_one_clear_line(key, value, message):
    params = _set(_params(), key, value)
    with pytest.raises(ParameterError, match=message) as caught:
        validate_parameters(params)
    assert "\n" not in str(caught.value)


def test_cuda_is_refused_where_there_is_none(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    params = _set(_params("gpu"), "training.device", "cuda")
    with pytest.raises(ParameterError, match="no CUDA device"):
        validate_parameters(params)


def test_only_the_blocks_the_pipeline_reads_are_checked():
    params = _set(_params(), "training.epochs", 0)
    assert "synthetic" in validate_parameters(params, blocks={"synthetic"})
    with pytest.raises(ParameterError):
        validate_parameters(params, blocks={"training"})
    assert blocks_read_by(["params:training", "params:ablation.run", "raw_train"]) == {
        "training", "ablation"}


def test_unknown_blocks_are_tolerated_and_new_ones_plug_in(monkeypatch):
    params = {**_params(), "serving": {"replicas": 0}, "other": {"uri": "x"}}
    assert "serving" not in validate_parameters(params)  # no validator yet: tolerated

    monkeypatch.setitem(VALIDATORS, "serving", None)

    @register("serving")
    def _serving(block, all_params):
        if block["replicas"] < 1:
            raise ValueError("replicas must be >= 1")

    with pytest.raises(ParameterError, match=r"params:serving: replicas must be >= 1"):
        validate_parameters(params)

