import numpy as np
import pandas as pd
import pytest

from mmctr.pipelines.ablation.config import variant_config
from mmctr.pipelines.ablation.nodes import (
    _baseline_runs,
    _summarise,
    ablation_table_markdown,
)

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


def test_summary_averages_seeds_and_reports_their_spread():
    runs = [{"valid_auc": 0.70, "test_auc": 0.60, "train_seconds": 1.0},
            {"valid_auc": 0.72, "test_auc": 0.64, "train_seconds": 3.0}]
    row = _summarise("v", "m", runs)
    assert row["seeds"] == 2 and row["valid_auc"] == pytest.approx(0.71)
    assert row["valid_auc_std"] == pytest.approx(0.0141421, abs=1e-6)
    assert row["test_auc_std"] == pytest.approx(0.0282843, abs=1e-6)
    assert row["train_seconds"] == 2.0 and np.isnan(row["trainable_parameters"])
    assert np.isnan(_summarise("v", "m", runs[:1])["valid_auc_std"])


def test_baselines_score_every_split(tiny_rows):
    train, valid, test, truth = tiny_rows
    params = {"lightgbm": {"n_estimators": 30, "early_stopping_rounds": 5}}
    runs = _baseline_runs("lightgbm", train, valid, test, truth, {"item": 50}, params, 7, 2)
    assert len(runs) == 2 and all(0.5 < r["valid_auc"] <= 1 for r in runs)
    assert all(r["test_auc"] > 0.5 for r in runs)  # the label follows the features
    pop = _baseline_runs("popularity", train, valid, test, truth, {"item": 50}, params, 7, 3)
    assert len(pop) == 1 and 0 <= pop[0]["valid_auc"] <= 1
    with pytest.raises(ValueError, match="unknown baseline 'forest'"):
        _baseline_runs("forest", train, valid, test, truth, {"item": 50}, params, 7, 1)


@pytest.fixture
def tiny_rows():
    """Splits whose label depends on sim_stats[:, 0] and the target item."""
    rng = np.random.default_rng(0)

    def split(n: int) -> dict[str, np.ndarray]:
        sim = rng.uniform(-1, 1, (n, 4)).astype(np.float32)
        items = rng.integers(1, 50, n)
        logit = 3 * sim[:, 0] + (items % 2) - 0.5
        return {"likes_level": rng.integers(0, 11, n), "views_level": rng.integers(0, 11, n),
                "sim_stats": sim, "row_stats": rng.normal(size=(n, 3)).astype(np.float32),
                "item_id": items, "user_id": rng.integers(1, 20, n),
                "label": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float32)}

    train, valid, test = split(2000), split(500), split(500)
    truth = pd.DataFrame({"row": np.arange(500), "label": test.pop("label").astype(int)})
    return train, valid, test, truth


def test_markdown_table_formats_missing_values():
    table = pd.DataFrame([{"variant": "a", "model": "m", "valid_auc": 0.71234, "test_auc": float("nan"),
                           "valid_logloss": 0.5, "trainable_parameters": 1234, "train_seconds": 1.0,
                           "samples_per_s": 10.0, "best_epoch": 1, "note": ""}])
    md = ablation_table_markdown(table)
    assert "| a | m | 0.7123 | – |" in md and "1,234" in md


def test_markdown_table_with_no_notes_raises_no_pandas_warning():
    import warnings

    table = pd.DataFrame([{"variant": "a", "model": "m", "valid_auc": 0.7, "note": None},
                          {"variant": "b", "model": "m", "valid_auc": 0.6, "note": None}])
    table["note"] = table["note"].astype(float)  # as read back from CSV: all NaN, float64
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        md = ablation_table_markdown(table)
    assert "| a | m | 0.7000 |  |" in md


@pytest.mark.slow
def test_ablation_pipeline_writes_table_markdown_and_plot(prepared_project):
    run_kedro(prepared_project, pipelines=["ablation"])
    reporting = prepared_project / "data/08_reporting"
    table = pd.read_csv(reporting / "ablation.csv").set_index("variant")
    assert table.index.tolist() == ["lightgbm", "popularity", "din", "transformer_dcn",
                                    "quantization"]
    assert table["valid_auc"].between(0.5, 1).all() and table["test_auc"].notna().all()
    assert (table["oracle_test_auc"] > table["test_auc"]).all()
    # two seeds per variant (the test env): a spread is reported, except for the
    # deterministic popularity baseline, which runs once
    assert table.loc["transformer_dcn", "seeds"] == 2
    assert table.loc["transformer_dcn", "valid_auc_std"] > 0
    assert table.loc["lightgbm", "seeds"] == 2 and "trees" in table.loc["lightgbm", "note"]
    assert table.loc["popularity", "seeds"] == 1
    assert "| variant |" in (reporting / "ablation.md").read_text()
    assert (reporting / "ablation.png").stat().st_size > 1000
