"""item_embedding nodes: recipes through the config, the fallback, the report."""

import numpy as np
import pytest

from mmctr.pipelines.item_embedding.nodes import (
    co_click_pairs,
    embed_items,
    embedding_report,
    load_item_modalities,
    plot_embedding_report,
)

from .tiny_inputs import N_ITEMS, item_features, params, raw_item_feature, split


@pytest.fixture(scope="module")
def modalities():
    return load_item_modalities(raw_item_feature(), item_features(), params())


@pytest.mark.parametrize(("recipe", "dim"), [("provided", 128), ("concat_pca", 8),
                                             ("per_modality_pca", 8), ("whitened", 8),
                                             ("co_click", 8)])
def test_every_recipe_gives_an_item_table(modalities, recipe, dim):
    p = params(recipe=recipe)
    items = item_features()
    table, info = embed_items(items, modalities, co_click_pairs(split(0), p), p)
    assert table["item_emb"].shape == (N_ITEMS + 1, dim) and table["item_emb"].dtype == np.float32
    assert (table["item_emb"][0] == 0).all() and np.isfinite(table["item_emb"]).all()
    np.testing.assert_array_equal(table["item_tags"], items["item_tags"])
    assert info["used"] == recipe and info["dim"] == dim and not info["note"]
    if recipe == "provided":
        np.testing.assert_array_equal(table["item_emb"], items["item_emb"])


def test_fusing_both_views_recovers_the_latent_better_than_either(modalities):
    from .tiny_inputs import latent

    z = latent()

    def fit(mods):  # R² of the latent from the embedding (least squares)
        table, _ = embed_items(item_features(), mods, np.zeros((0, 2), np.int32),
                               params(recipe="concat_pca"))
        x = np.c_[table["item_emb"][1:], np.ones(N_ITEMS)]
        resid = z - x @ np.linalg.lstsq(x, z, rcond=None)[0]
        return 1 - resid.var() / z.var()

    both = fit(modalities)
    assert both > fit({"text": modalities["text"]}) and both > fit({"image": modalities["image"]})


def test_without_raw_features_every_recipe_falls_back_to_provided():
    items = item_features()
    assert load_item_modalities(None, items, params()) == {}
    table, info = embed_items(items, {}, np.zeros((0, 2), np.int32), params(recipe="whitened"))
    np.testing.assert_array_equal(table["item_emb"], items["item_emb"])
    assert info["used"] == "provided" and "item_feature.parquet" in info["note"]
    report, frame = embedding_report(items, {}, table, info, params(recipe="whitened"))
    assert report["neighbour_agreement"]["recipes"] == ["provided"] and report["note"]
    assert plot_embedding_report(report).axes


def test_co_click_pairs_read_train_only_when_needed():
    class Untouchable(dict):
        def __getitem__(self, key):
            raise AssertionError("train arrays read although co_click is not used")

    assert co_click_pairs(Untouchable(), params()).shape == (0, 2)
    assert len(co_click_pairs(split(0), params(recipe="co_click"))) > 0


def test_report_agreement_and_explained_variance(modalities):
    p = params(recipe="concat_pca")
    items = item_features()
    table, info = embed_items(items, modalities, np.zeros((0, 2), np.int32), p)
    report, frame = embedding_report(items, modalities, table, info, p)
    names = ["provided", "concat_pca", "per_modality_pca", "whitened"]
    assert report["neighbour_agreement"]["recipes"] == names and list(frame["recipe"]) == names
    matrix = np.asarray(report["neighbour_agreement"]["matrix"])
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    np.testing.assert_allclose(matrix, matrix.T)
    assert (matrix >= 0).all() and (matrix <= 1).all()
    assert set(report["explained_variance"]) == {"concat", "text", "image"}
    for curve in report["explained_variance"].values():
        assert np.all(np.diff(curve) >= 0) and 0 < curve[-1] <= 1 + 1e-9
    fig = plot_embedding_report(report)
    assert len(fig.axes) == 3  # variance, heatmap, colour bar


@pytest.mark.parametrize("bad", [{"recipe": "pca"}, {"whiten": "co_click"},
                                 {"co_click": {"stepz": 3}}, {"report": {"recipes": ["x"]}}])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError, match="params:item_embedding"):
        load_item_modalities(None, item_features(), params(**bad))
