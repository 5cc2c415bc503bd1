"""Recipe maths: standardisation, PCA (= scikit-learn), per-modality fusion, whitening."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from mmctr.data import recipes


@pytest.fixture
def modalities():
    rng = np.random.default_rng(0)
    text = rng.normal(size=(81, 12)) @ rng.normal(size=(12, 12)) + 5
    image = rng.normal(size=(81, 16)) * np.linspace(0.1, 10, 16)
    out = {"text": text.astype(np.float32), "image": image.astype(np.float32)}
    for m in out.values():
        m[0] = 123.0  # padding row: must neither move the statistics nor stay non-zero
    return out


def test_standardise_uses_real_items_only_and_zeroes_padding(modalities):
    x = recipes.standardise(modalities["image"])
    assert (x[0] == 0).all()
    np.testing.assert_allclose(x[1:].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x[1:].std(axis=0), 1, atol=1e-4)


def test_concat_pca_equals_sklearn_on_standardised_concatenation(modalities):
    emb, info = recipes.concat_pca(modalities, 8, svd_solver="full")
    body = np.concatenate([m[1:] for m in modalities.values()], axis=1).astype(np.float64)
    body = (body - body.mean(axis=0)) / body.std(axis=0)
    ref = PCA(n_components=8, svd_solver="full").fit(body)
    scores = ref.transform(body)
    scores /= scores[:, 0].std()
    assert emb.shape == (81, 8) and emb.dtype == np.float32 and (emb[0] == 0).all()
    np.testing.assert_allclose(np.abs(emb[1:]), np.abs(scores), atol=2e-3)
    np.testing.assert_allclose(info["concat"], ref.explained_variance_ratio_, rtol=1e-4)
    assert emb[1:, 0].std() == pytest.approx(1.0, abs=1e-5)  # the shipped scale convention


def test_randomized_pca_spans_the_same_space_as_the_exact_one(modalities):
    exact, _ = recipes.concat_pca(modalities, 4, svd_solver="full")
    fast, _ = recipes.concat_pca(modalities, 4, svd_solver="randomized", seed=0)
    for j in range(4):
        assert abs(np.corrcoef(exact[1:, j], fast[1:, j])[0, 1]) > 0.99


def test_per_modality_pca_blocks_and_weights(modalities):
    emb, info = recipes.per_modality_pca(modalities, {"text": 3, "image": 5},
                                         {"text": 1.0, "image": 1.0}, svd_solver="full")
    assert emb.shape == (81, 8) and set(info) == {"text", "image"} and len(info["image"]) == 5
    text_var, image_var = emb[1:, :3].var(axis=0).sum(), emb[1:, 3:].var(axis=0).sum()
    assert text_var == pytest.approx(image_var, rel=1e-4)  # equal weights: equal variance
    heavy, _ = recipes.per_modality_pca(modalities, {"text": 3, "image": 5},
                                        {"text": 1.0, "image": 2.0}, svd_solver="full")
    ratio = heavy[1:, 3:].var(axis=0).sum() / heavy[1:, :3].var(axis=0).sum()
    assert ratio == pytest.approx(4.0, rel=1e-4)  # weight 2 → 4× the variance
    dropped, _ = recipes.per_modality_pca(modalities, {"text": 3, "image": 5},
                                          {"text": 1.0, "image": 0.0}, svd_solver="full")
    assert (dropped[:, 3:] == 0).all()


def test_whitening_gives_identity_covariance(modalities):
    base, _ = recipes.concat_pca(modalities, 8, svd_solver="full")
    white = recipes.whiten(base)
    assert white.shape == (81, 8) and (white[0] == 0).all()
    np.testing.assert_allclose(np.cov(white[1:].T, bias=True), np.eye(8), atol=1e-4)


def test_whitening_drops_degenerate_axes():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3))
    x = np.concatenate([np.zeros((1, 4)), np.c_[x, x[:, 0] + x[:, 1]]]).astype(np.float32)
    white = recipes.whiten(x)
    assert white.shape == (51, 3)
    np.testing.assert_allclose(np.cov(white[1:].T, bias=True), np.eye(3), atol=1e-4)
