import pandas as pd
import pytest

from mmctr.pipelines.ablation.nodes import ablation_table_markdown, variant_config

from ...conftest import run_kedro

TRAINING = {"preset": "default",
            "presets": {"default": {"model": {"name": "transformer_dcn", "embedding_dim": 8},
                                    "batch_size": 64}},
            "device": "cpu"}


def test_variant_merges_model_keys_and_overrides_training():
    name, model, cfg = variant_config(TRAINING, {"epochs": 2}, {"model": {"seed_mask": True},
                                                                "bf16": True})
    assert name == "transformer_dcn" and model == {"embedding_dim": 8, "seed_mask": True}
    assert cfg.epochs == 2 and cfg.bf16 and cfg.batch_size == 64
    name, model, _ = variant_config(TRAINING, {}, {"model_reset": True,
                                                   "model": {"name": "din", "max_len": 8}})
    assert name == "din" and model == {"max_len": 8}


def test_markdown_table_formats_missing_values():
    table = pd.DataFrame([{"variant": "a", "model": "m", "valid_auc": 0.71234, "test_auc": float("nan"),
                           "valid_logloss": 0.5, "trainable_parameters": 1234, "train_seconds": 1.0,
                           "samples_per_s": 10.0, "best_epoch": 1, "note": ""}])
    md = ablation_table_markdown(table)
    assert "| a | m | 0.7123 | – |" in md and "1,234" in md


@pytest.mark.slow
def test_ablation_pipeline_writes_table_markdown_and_plot(prepared_project):
    run_kedro(prepared_project, pipelines=["ablation"])
    reporting = prepared_project / "data/08_reporting"
    table = pd.read_csv(reporting / "ablation.csv")
    assert table["variant"].tolist() == ["din", "transformer_dcn", "similarity_and_quantization"]
    assert table["valid_auc"].between(0.5, 1).all() and table["test_auc"].notna().all()
    assert (table["oracle_test_auc"] > table["test_auc"]).all()
    assert "| variant |" in (reporting / "ablation.md").read_text()
    assert (reporting / "ablation.png").stat().st_size > 1000
