"""The `microlens` environment: real-schema data the project did not generate."""

import hashlib
import shutil

import pandas as pd
import pytest
from kedro.io.core import DatasetError
from sklearn.metrics import roc_auc_score

from .conftest import copy_project, run_kedro
from .fixtures import make_raw_tables, write_raw_tables

RAW = "data/01_raw/MicroLens_1M_x1"


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_microlens_env_runs_the_chain_on_foreign_data_and_never_writes_it(kedro_project, tmp_path_factory):
    # a real-schema directory made elsewhere (another seed), with its test labels held out
    elsewhere = copy_project(tmp_path_factory.mktemp("elsewhere"))
    import os

    cwd = os.getcwd()
    os.chdir(elsewhere)
    try:
        run_kedro(elsewhere, pipelines=["synthetic"], params={"synthetic": {"seed": 7}})
    finally:
        os.chdir(cwd)
    shutil.copytree(elsewhere / RAW, kedro_project / RAW)
    held_out = pd.read_parquet(elsewhere / "data/08_reporting/synthetic_truth.parquet")
    held_out = held_out[held_out["split"] == "test"].sort_values("row")
    before = _digests(kedro_project / RAW)

    run_kedro(kedro_project, env="microlens", params={"training": {"batch_size": 128}})

    assert _digests(kedro_project / RAW) == before  # read, never written
    assert not (kedro_project / "data/08_reporting/synthetic_truth.parquet").exists()
    sub = pd.read_csv(kedro_project / "data/07_model_output/prediction.csv")
    assert len(sub) == len(held_out)
    assert roc_auc_score(held_out["label"], sub["Task1"].to_numpy()[held_out["row"]]) > 0.6


def test_microlens_env_refuses_to_generate_over_the_download(kedro_project):
    paths = write_raw_tables(make_raw_tables(), kedro_project / RAW)
    before = _digests(paths["train"].parent)
    with pytest.raises(DatasetError, match="read-only"):
        run_kedro(kedro_project, env="microlens", pipelines=["synthetic"])
    assert _digests(paths["train"].parent) == before


@pytest.mark.slow
def test_microlens_env_accepts_a_meaningless_test_label_column(kedro_project):
    write_raw_tables(make_raw_tables(n_train=200, seed=3, test_label=True), kedro_project / RAW)
    run_kedro(kedro_project, env="microlens",
              pipelines=["feature_engineering", "item_embedding", "semantic_similarity", "training",
                         "submission"],
              params={"training": {"epochs": 1}, "semantic_similarity": {"rq_codes": 4, "top_k": 3}})
    sub = pd.read_csv(kedro_project / "data/07_model_output/prediction.csv")
    assert len(sub) == 16 and sub["Task1"].between(0, 1).all()
