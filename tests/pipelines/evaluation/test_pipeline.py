"""The ``evaluation`` pipeline through its real catalog entries, re-rooted in ``tmp_path``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from mmctr.pipelines.evaluation import create_pipeline
from tests.pipelines.evaluation.tiny_inputs import (
    tiny_artifact,
    tiny_items,
    tiny_semantics,
    tiny_similarity,
    tiny_split,
)

CONF = Path(__file__).resolve().parents[3] / "conf"
PARAMS = {"history_buckets": [0, 1, 3, 6, 11, 21, 51, 101], "batch_size": 8, "device": "cpu",
          "bf16": False, "calibration_bins": 5, "progress": False}
N_VALID, N_TEST = 21, 14
PLOTS = ("roc_plot", "calibration_plot", "learning_curve_plot", "auc_by_history_plot")


def _catalog(tmp_path: Path, inputs: dict) -> DataCatalog:
    config = yaml.safe_load((CONF / "base" / "catalog_evaluation.yml").read_text())
    config = {name: {**entry, "filepath": str(tmp_path / Path(entry["filepath"]).name)}
              for name, entry in config.items() if not name.startswith("_")}
    catalog = DataCatalog.from_config(config, save_version="2026-01-01T00.00.00.000Z")
    for name, value in inputs.items():
        catalog[name] = MemoryDataset(value, copy_mode="assign")
    return catalog


def _inputs(with_truth: bool) -> dict:
    valid, test = tiny_split(N_VALID, seed=2), tiny_split(N_TEST, seed=4, labels=False)
    rng = np.random.default_rng(9)
    truth = pd.DataFrame({
        "split": ["valid"] * N_VALID + ["test"] * N_TEST,
        "row": np.r_[np.arange(N_VALID), np.arange(N_TEST)],
        "label": np.r_[valid["label"], np.arange(N_TEST) % 2].astype(np.int64),
        "prob": rng.uniform(size=N_VALID + N_TEST),
    })
    return {
        "model": tiny_artifact(),
        "valid_features": valid,
        "valid_similarity": tiny_similarity(valid, seed=3),
        "test_features": test,
        "test_predictions": pd.DataFrame({"ID": np.arange(N_TEST),
                                          "prob": rng.uniform(size=N_TEST)}),
        "train_features": tiny_split(40, seed=1),
        "item_features_embedded": tiny_items(),
        "item_semantics": tiny_semantics(),
        "synthetic_truth": truth if with_truth else None,
        "synthetic_oracle": {"test_auc": 0.9} if with_truth else None,
        "training_history": pd.DataFrame({
            "epoch": [1, 2], "train_loss": [0.6, 0.5], "valid_auc": [0.6, 0.65],
            "valid_logloss": [0.7, 0.66], "epoch_seconds": [1.0, 1.1],
            "samples_per_s": [50.0, 60.0]}),
        "params:evaluation": PARAMS,
    }


@pytest.mark.parametrize("with_truth", [True, False], ids=["synthetic", "real"])
def test_pipeline_writes_every_output(tmp_path, with_truth):
    catalog = _catalog(tmp_path, _inputs(with_truth))
    SequentialRunner().run(create_pipeline(), catalog)

    preds = pd.read_parquet(tmp_path / "valid_predictions.parquet")
    assert list(preds.columns) == ["row", "prob", "label"] and len(preds) == N_VALID
    metrics_files = list((tmp_path / "metrics.json").rglob("metrics.json"))  # versioned
    assert len(metrics_files) == 1
    metrics = json.loads(metrics_files[0].read_text())
    assert metrics["valid_rows"] == N_VALID
    assert metrics["has_test_labels"] is with_truth
    assert ("test_auc" in metrics) is with_truth
    if with_truth:
        assert metrics["test_oracle_auc"] == 0.9
    breakdown = pd.read_csv(tmp_path / "metrics_breakdown.csv")
    assert set(breakdown["split"]) == ({"valid", "test"} if with_truth else {"valid"})
    assert set(breakdown["breakdown"]) == {"history_length", "target_item"}
    rows = pd.read_parquet(tmp_path / "evaluation_rows.parquet")
    assert len(rows) == N_VALID + (N_TEST if with_truth else 0)
    for name in PLOTS:
        path = tmp_path / Path(catalog[name]._filepath).name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
