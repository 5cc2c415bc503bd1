"""The raw multimodal item features: real schema, deterministic, item_emb_d128 untouched."""

import hashlib

import numpy as np
import pytest

from mmctr.data.recipes import concat_pca
from mmctr.pipelines.synthetic import nodes

from .tiny_data import tiny_params

# sha256 of the tiny preset's item_emb_d128 (float32, 401 × 128) before the raw views existed
ITEM_EMB_SHA256 = "6151d891d165f14ddd302fbf47e0632e3343f73ffee66072d4f81aa8430baf2d"


@pytest.fixture(scope="module")
def raw(tiny):
    return nodes.raw_item_features(tiny["world"])


def _matrix(column) -> np.ndarray:
    return np.stack(column.to_numpy())


def test_item_emb_d128_is_byte_for_byte_what_it_was(tiny, raw):
    emb = _matrix(tiny["raw_item_info"]["item_emb_d128"])
    assert emb.dtype == np.float32
    assert hashlib.sha256(emb.tobytes()).hexdigest() == ITEM_EMB_SHA256


def test_item_feature_has_the_real_schema(tiny, raw):
    feature, emb = raw
    n = tiny["world"].sizes.n_items
    assert list(feature.columns) == ["item_id", "item_title", "txt_emb_BERT", "img_emb_CLIPRN50"]
    assert feature["item_id"].tolist() == list(range(1, n + 1))
    text, image = _matrix(feature["txt_emb_BERT"]), _matrix(feature["img_emb_CLIPRN50"])
    assert text.shape == (n, 768) and image.shape == (n, 1024) and text.dtype == np.float32
    assert np.isfinite(text).all() and np.isfinite(image).all()
    assert list(emb.columns) == ["item_id", "item_emb_d128"]
    assert emb["item_id"].tolist() == list(range(1, n + 1))
    assert _matrix(emb["item_emb_d128"]).shape == (n, 128)


def test_item_emb_is_the_organisers_recipe(raw):
    feature, emb = raw
    mods = {c: np.vstack([np.zeros((1, w), np.float32), _matrix(feature[c])])
            for c, w in (("txt_emb_BERT", 768), ("img_emb_CLIPRN50", 1024))}
    again, _ = concat_pca(mods, 128, svd_solver="randomized", seed=0)
    np.testing.assert_allclose(_matrix(emb["item_emb_d128"]), again[1:], atol=1e-5)


def test_raw_features_are_deterministic_and_seed_dependent(tiny, raw):
    again = nodes.raw_item_features(nodes.make_world(tiny_params()))
    for column in ("txt_emb_BERT", "img_emb_CLIPRN50"):
        np.testing.assert_array_equal(_matrix(raw[0][column]), _matrix(again[0][column]))
    other = nodes.raw_item_features(nodes.make_world(tiny_params(seed=7)))
    assert not np.allclose(_matrix(raw[0]["txt_emb_BERT"]), _matrix(other[0]["txt_emb_BERT"]))


def test_each_view_carries_information_the_other_lacks(tiny, raw):
    """Least-squares R² of the latent z from each view's PCA, and from both."""
    z = tiny["world"].z[1:]
    feature = raw[0]
    views = {c: _matrix(feature[c]) for c in ("txt_emb_BERT", "img_emb_CLIPRN50")}

    def r2(names):
        mods = {n: np.vstack([np.zeros((1, views[n].shape[1]), np.float32), views[n]]) for n in names}
        x, _ = concat_pca(mods, 32, svd_solver="full")
        x = np.c_[x[1:], np.ones(len(z))]
        resid = z - x @ np.linalg.lstsq(x, z, rcond=None)[0]
        return 1 - resid.var() / z.var()

    both = r2(list(views))
    assert both > r2(["txt_emb_BERT"]) + 0.02 and both > r2(["img_emb_CLIPRN50"]) + 0.02
