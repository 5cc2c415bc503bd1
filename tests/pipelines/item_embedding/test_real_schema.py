"""The stage on a real-schema folder (microlens env: read-only raw files), with and without
item_feature.parquet."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_kedro
from tests.fixtures import make_raw_tables, write_raw_tables

RAW = "data/01_raw/MicroLens_1M_x1"
RECIPES = ["provided", "concat_pca", "per_modality_pca", "whitened", "co_click"]


def _item_feature(n_items: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "item_id": np.arange(n_items, 0, -1, dtype=np.int64),  # any row order
        "likes_count": rng.integers(0, 100, n_items),  # a column to ignore
        "txt_emb_BERT": list(rng.normal(size=(n_items, 768)).astype(np.float32)),
        "img_emb_CLIPRN50": list(rng.normal(size=(n_items, 1024)).astype(np.float64)),
    })


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.slow
@pytest.mark.parametrize("with_features", [True, False])
def test_every_recipe_runs_on_a_real_schema_folder(kedro_project, with_features):
    paths = write_raw_tables(make_raw_tables(n_items=30, n_train=300), kedro_project / RAW)
    if with_features:
        _item_feature(30).to_parquet(paths["train"].parent / "item_feature.parquet")
    before = _digests(paths["train"].parent)
    run_kedro(kedro_project, env="microlens", pipelines=["feature_engineering"])
    shipped = np.load(kedro_project / "data/04_feature/item_features.npz")["item_emb"]
    for recipe in RECIPES:
        run_kedro(kedro_project, env="microlens", pipelines=["item_embedding"],
                  params={"item_embedding": {"recipe": recipe}})
        emb = np.load(kedro_project / "data/04_feature/item_features_embedded.npz")["item_emb"]
        report = pd.read_json(kedro_project / "data/08_reporting/item_embedding.json", typ="series")
        assert emb.shape[0] == 31 and (emb[0] == 0).all() and np.isfinite(emb).all()
        if with_features or recipe == "provided":
            assert report["used"] == recipe
            assert (recipe == "provided") == (emb.shape == shipped.shape and np.array_equal(emb, shipped))
        else:
            assert report["used"] == "provided" and np.array_equal(emb, shipped)
    assert _digests(paths["train"].parent) == before  # read, never written
