import dataclasses
from types import SimpleNamespace

import pytest

from mmctr import tracking
from mmctr.engine.fit import resolve_training
from mmctr.engine.trainer import TrainConfig
from mmctr.pipelines.ablation.config import variant_config
from mmctr.tracking.config import recorded_training, tracking_config
from mmctr.tracking.hooks import TrackingHooks

TRAINING = {"preset": "default",
            "presets": {"default": {"model": {"name": "transformer_dcn", "embedding_dim": 8,
                                              "dcn_hidden_units": [16]},
                                    "batch_size": 64, "epochs": 2}},
            "seed": 5, "device": "cpu", "progress": False}


def test_environment_switch_overrides_the_parameter():
    assert tracking_config({"enabled": True}, {"MMCTR_TRACKING": "0"}).enabled is False
    assert tracking_config({"enabled": False}, {"MMCTR_TRACKING": "on"}).enabled is True
    assert tracking_config(None, {}).enabled is True
    with pytest.raises(ValueError, match="MMCTR_TRACKING"):
        tracking_config(None, {"MMCTR_TRACKING": "maybe"})
    with pytest.raises(ValueError, match="unknown key"):
        tracking_config({"enabeld": False}, {})


@pytest.mark.parametrize("variant", [{}, {"model_reset": True, "model": {"name": "din", "max_len": 8}},
                                     {"model": {"similarity_input": True}, "learning_rate": 0.01}])
def test_recorded_block_resolves_to_the_same_configuration(variant):
    name, model, cfg = variant_config(TRAINING, {"epochs": 1, "max_steps_per_epoch": 3}, variant)
    block = recorded_training(name, model, dataclasses.asdict(cfg))
    assert resolve_training(block) == (name, model, cfg)
    # soft-merged over a base block whose top-level keys differ, it still wins
    base = {**TRAINING, "seed": 99, "checkpoint_dir": "x", "presets": TRAINING["presets"]}
    merged = {**base, **{k: v for k, v in block.items() if k != "presets"},
              "presets": {**base["presets"], **block["presets"]}}
    assert resolve_training(merged) == (name, model, cfg)


def test_untracked_child_runs_record_nothing():
    tracking.set_recorder(None)
    with tracking.child_run("x", {"a": 1}) as run:
        run.log_metrics({"auc": 0.5})
        run.end("KILLED")
    tracking.record_child_run("y", {}, None, {"auc": 0.5})


def _context(tmp_path, enabled=True):
    return SimpleNamespace(params={"tracking": {"enabled": enabled}}, project_path=tmp_path, env="test")


def _pipeline(*names):
    return SimpleNamespace(nodes=[SimpleNamespace(name=n) for n in names])


@pytest.mark.parametrize(("rank", "enabled", "nodes"), [
    ("1", True, ("train_model_node",)),          # not rank 0
    ("0", False, ("train_model_node",)),         # switched off
    ("0", True, ("build_features_node",)),       # a pipeline that trains nothing
])
def test_hook_starts_no_run_off_rank_zero_when_off_or_without_training(
        tmp_path, monkeypatch, rank, enabled, nodes):
    monkeypatch.setenv("RANK", rank)
    monkeypatch.delenv("MMCTR_TRACKING", raising=False)
    hooks = TrackingHooks()
    hooks.after_context_created(_context(tmp_path, enabled))
    hooks.before_pipeline_run({"pipeline_names": ["training"]}, _pipeline(*nodes))
    assert tracking.active_recorder() is None
    assert not (tmp_path / "mlruns.db").exists()
    hooks.after_pipeline_run()


def test_train_config_fields_are_all_recorded():
    block = recorded_training("din", {}, dataclasses.asdict(TrainConfig()))
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= set(block)


def test_a_store_that_cannot_open_leaves_the_run_unrecorded_not_failed(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("MMCTR_TRACKING", raising=False)
    (tmp_path / "a_file").write_text("not a directory")
    context = SimpleNamespace(
        params={"tracking": {"enabled": True,
                             "tracking_uri": f"sqlite:///{tmp_path}/a_file/mlruns.db"},
                "training": TRAINING},
        project_path=tmp_path, env="test")
    hooks = TrackingHooks()
    hooks.after_context_created(context)
    hooks.before_pipeline_run({"pipeline_names": ["training"]}, _pipeline("train_model_node"))
    assert tracking.active_recorder() is None
    assert "could not start an MLflow run" in caplog.text
    hooks.after_dataset_saved("model", {"best_metric": {"valid_auc": 0.7}})  # a no-op now
    hooks.after_pipeline_run()
