"""The `microlens` environment: real-schema data the project did not generate."""

import hashlib
import shutil

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from .conftest import copy_project, run_kedro
from .fixtures import make_raw_tables, write_raw_tables

RAW = "data/01_raw/MicroLens_1M_x1"
SYNTHETIC_RAW = "data/01_raw/synthetic/MicroLens_1M_x1"


def _copy_without_provenance(source, dest):
    """Copy parquet files dropping the generator's stamp: real-schema data from elsewhere."""
    import pyarrow.parquet as pq

    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.parquet")):
        table = pq.read_table(path)
        metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"PANDAS_ATTRS"}
        pq.write_table(table.replace_schema_metadata(metadata), dest / path.name)


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
    _copy_without_provenance(elsewhere / SYNTHETIC_RAW, kedro_project / RAW)
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
    from mmctr.cli import expected_error

    with pytest.raises(Exception) as caught:
        run_kedro(kedro_project, env="microlens", pipelines=["synthetic"])
    assert "read-only input of this environment" in str(expected_error(caught.value))
    assert _digests(paths["train"].parent) == before
    assert not (kedro_project / "data/08_reporting").exists()  # nothing ran


@pytest.mark.slow
def test_microlens_env_accepts_a_meaningless_test_label_column(kedro_project):
    write_raw_tables(make_raw_tables(n_train=200, seed=3, test_label=True), kedro_project / RAW)
    run_kedro(kedro_project, env="microlens",
              pipelines=["feature_engineering", "collaborative", "item_embedding",
                         "semantic_similarity", "training",
                         "submission"],
              params={"training": {"epochs": 1}, "semantic_similarity": {"rq_codes": 4, "top_k": 3}})
    sub = pd.read_csv(kedro_project / "data/07_model_output/prediction.csv")
    assert len(sub) == 16 and sub["Task1"].between(0, 1).all()


def _everything(root):
    """Every file under ``root`` with its digest (to prove nothing was written)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_default_run_writes_synthetic_data_apart_and_never_touches_the_real_folder(kedro_project):
    paths = write_raw_tables(make_raw_tables(), kedro_project / RAW)
    before = _digests(paths["train"].parent)
    run_kedro(kedro_project, pipelines=["synthetic"])  # what the default `kedro run` starts with
    assert _digests(paths["train"].parent) == before
    written = sorted(p.name for p in (kedro_project / SYNTHETIC_RAW).glob("*.parquet"))
    assert written == ["item_emb.parquet", "item_feature.parquet", "item_info.parquet",
                       "test.parquet", "train.parquet", "valid.parquet"]


def test_microlens_env_refuses_a_folder_the_generator_wrote_and_writes_nothing(kedro_project):
    from mmctr.cli import expected_error

    run_kedro(kedro_project, pipelines=["synthetic"])
    shutil.copytree(kedro_project / SYNTHETIC_RAW, kedro_project / RAW)
    before = _everything(kedro_project / "data")
    with pytest.raises(Exception) as caught:
        run_kedro(kedro_project, env="microlens")
    message = str(expected_error(caught.value))
    assert message.startswith(f"{RAW}/") and "written by this project's synthetic generator" in message
    assert "data/01_raw/synthetic/MicroLens_1M_x1/" in message
    assert _everything(kedro_project / "data") == before


def test_microlens_env_explains_where_the_real_files_go(kedro_project):
    from mmctr.cli import expected_error
    from mmctr.errors import DataFileError

    with pytest.raises(Exception) as caught:
        run_kedro(kedro_project, env="microlens")
    error = expected_error(caught.value)
    assert isinstance(error, DataFileError), caught.value
    assert "no such file" in str(error)
    assert "in data/01_raw/MicroLens_1M_x1/" in str(error) and "docs/DATA_CONTRACT.md" in str(error)
    assert _everything(kedro_project / "data") == {}


def test_microlens_env_never_reads_a_synthetic_runs_hidden_labels(kedro_project):
    from kedro.framework.project import configure_project
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    run_kedro(kedro_project, pipelines=["synthetic"])
    assert (kedro_project / "data/08_reporting/synthetic_truth.parquet").exists()
    bootstrap_project(kedro_project)
    configure_project("mmctr")
    with KedroSession.create(project_path=kedro_project, env="microlens") as session:
        catalog = session.load_context().catalog
        assert catalog.load("synthetic_truth") is None
        assert catalog.load("synthetic_oracle") is None
