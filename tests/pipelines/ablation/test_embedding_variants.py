"""Ablation variants naming an item-embedding recipe: their item tables and their rows."""

import numpy as np
import pandas as pd
import pytest

from mmctr.pipelines.ablation.config import variant_config
from mmctr.pipelines.ablation.embedding_variants import (
    recipe_item_tables,
    variant_recipe,
)

from ...conftest import run_kedro
from ..item_embedding.tiny_inputs import (
    N_ITEMS,
    item_features,
    params,
    raw_item_feature,
    split,
)

ABLATION = {"variants": {"plain": {}, "pca": {"item_embedding": "concat_pca"},
                         "mod": {"item_embedding": {"recipe": "per_modality_pca",
                                                    "modalities": {"text": {"dim": 2}}}}},
            "run": None}


def test_variant_recipe_accepts_a_name_or_overrides():
    assert variant_recipe({}, params()) is None
    assert variant_recipe({"item_embedding": "whitened"}, params())["recipe"] == "whitened"
    merged = variant_recipe(ABLATION["variants"]["mod"], params())
    assert merged["modalities"]["text"] == {**params()["modalities"]["text"], "dim": 2}


def test_recipe_tables_only_for_variants_naming_a_recipe():
    tables = recipe_item_tables(raw_item_feature(), item_features(), split(0), params(), ABLATION)
    assert set(tables) == {"pca", "mod"}
    assert tables["pca"]["item_emb"].shape == (N_ITEMS + 1, 8)
    assert tables["mod"]["item_emb"].shape == (N_ITEMS + 1, 6)  # text 2 + image 4
    np.testing.assert_array_equal(tables["pca"]["item_tags"], item_features()["item_tags"])
    only_plain = {**ABLATION, "run": ["plain"]}
    assert recipe_item_tables(None, item_features(), split(0), params(), only_plain) == {}


def test_recipe_variant_without_raw_features_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\['mod', 'pca'\] .* item_feature\.parquet"):
        recipe_item_tables(None, item_features(), split(0), params(), ABLATION)


def test_recipe_key_is_not_a_training_override():
    training = {"preset": "default", "presets": {"default": {"model": {"name": "transformer_dcn"}}}}
    name, _, cfg = variant_config(training, {"epochs": 1}, {"item_embedding": "concat_pca"})
    assert name == "transformer_dcn" and cfg.epochs == 1


@pytest.mark.slow
def test_ablation_writes_one_row_per_recipe(prepared_project):
    run_kedro(prepared_project, pipelines=["ablation"],
              params={"ablation": {"run": ["transformer_dcn", "emb_provided", "emb_concat_pca",
                                           "emb_per_modality_pca"]}})
    table = pd.read_csv(prepared_project / "data/08_reporting/ablation.csv")
    assert table["variant"].tolist() == ["transformer_dcn", "emb_provided", "emb_concat_pca",
                                         "emb_per_modality_pca"]
    assert table["valid_auc"].between(0.5, 1).all()
    base, provided = table.iloc[0], table.iloc[1]
    assert provided["valid_auc"] == pytest.approx(base["valid_auc"], abs=1e-12)  # same table
    assert table["valid_auc"].nunique() > 1  # other recipes: other embeddings, other models
