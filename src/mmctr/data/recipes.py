"""Item-embedding recipes on raw per-modality features (numpy + scikit-learn, no Kedro).

Every recipe maps the raw modality matrices (``{"text": (V, 768), "image": (V, 1024)}``,
row i = item i, row 0 the padding item) to one float32 ``(V, d)`` embedding whose row 0
is all zero. Statistics (means, scales, principal axes) are fitted on the real items
1..V-1 only, so the padding row never moves them.

Scale convention (the one of the shipped ``item_emb_d128``): a PCA output is divided by
the standard deviation of its first component, so its largest column has unit standard
deviation; :func:`whiten` gives every column unit variance (identity covariance).

The learned recipe lives in :mod:`.co_click` (torch).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.decomposition import PCA

__all__ = [
    "concat_pca",
    "largest_unit",
    "pca",
    "per_modality_pca",
    "standardise",
    "standardised_concat",
    "whiten",
]

logger = logging.getLogger(__name__)


def standardise(x: np.ndarray, out: np.ndarray | None = None, chunk: int = 256) -> np.ndarray:
    """Z-score every column over the real items (rows 1..V-1); row 0 stays zero.

    Column blocks of ``chunk`` are converted to float64 one at a time, so the only large
    array is the float32 result (the 1,792 real columns at 91,718 items: 0.66 GB, not 2.6).

    Args:
        x: (V, D) raw features, row 0 the padding item.
        out: optional float32 (V, D) array to write into (e.g. a slice of a wider matrix).
        chunk: columns standardised at a time.

    Returns:
        float32 (V, D) (``out`` when given); constant columns become 0 (no division by zero).
    """
    if out is None:
        out = np.empty(x.shape, dtype=np.float32)
    out[0] = 0.0
    for start in range(0, x.shape[1], chunk):
        block = x[1:, start : start + chunk].astype(np.float64)
        block -= block.mean(axis=0)
        std = np.sqrt((block * block).mean(axis=0))
        block /= np.where(std > 0, std, 1.0)
        out[1:, start : start + chunk] = block
    return out


def standardised_concat(modalities: Mapping[str, np.ndarray]) -> np.ndarray:
    """The standardised modalities side by side, written into one float32 (V, Σ D) array."""
    widths = [m.shape[1] for m in modalities.values()]
    n = len(next(iter(modalities.values())))
    x = np.empty((n, sum(widths)), dtype=np.float32)
    col = 0
    for m, width in zip(modalities.values(), widths, strict=True):
        standardise(m, out=x[:, col : col + width])
        col += width
    return x


def pca(
    x: np.ndarray,
    dim: int,
    *,
    svd_solver: str = "randomized",
    seed: int = 0,
    iterated_power: int | str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Principal components of the real items (rows 1..V-1), padding row 0 left at zero.

    Args:
        x: (V, D) features (modified in place when float32: pass a copy you do not need).
        dim: components kept (at most ``min(V - 1, D)``).
        svd_solver: scikit-learn's solver (``randomized`` for the 1,792-d real matrix).
        seed: ``random_state`` of the randomized solver.
        iterated_power: power iterations of the randomized solver (scikit-learn's "auto"
            is 7 for 128 of 1,792 columns; 4 gives the same leading components faster).

    Returns:
        ``(pcs, ratio)``: float32 (V, dim) component scores, decreasing variance, and the
        explained-variance ratio of each component (dim,).
    """
    body = x[1:]
    dim = min(dim, *body.shape)
    model = PCA(n_components=dim, svd_solver=svd_solver, random_state=seed, copy=False,
                iterated_power=iterated_power)
    scores = model.fit_transform(body).astype(np.float32)
    out = np.concatenate([np.zeros((1, dim), np.float32), scores])
    return out, model.explained_variance_ratio_.astype(np.float64)


def largest_unit(emb: np.ndarray) -> np.ndarray:
    """Divide by the largest column standard deviation over the real items."""
    scale = float(emb[1:].std(axis=0).max()) if len(emb) > 1 else 0.0
    return (emb / max(scale, 1e-12)).astype(np.float32)


def concat_pca(
    modalities: Mapping[str, np.ndarray], dim: int, **pca_args: Any
) -> tuple[np.ndarray, dict[str, list[float]]]:
    """The organisers' recipe: standardise each column, concatenate, PCA to ``dim``.

    Args:
        modalities: name → (V, D_m) raw features.
        dim: components kept.
        **pca_args: ``svd_solver``, ``seed``, ``iterated_power`` of :func:`pca`.

    Returns:
        ``(emb, info)``: float32 (V, dim) on the largest-unit scale, and
        ``{"concat": explained-variance ratios}``.
    """
    x = standardised_concat(modalities)
    pcs, ratio = pca(x, dim, **pca_args)
    del x
    return largest_unit(pcs), {"concat": ratio.tolist()}


def per_modality_pca(
    modalities: Mapping[str, np.ndarray],
    dims: Mapping[str, int],
    weights: Mapping[str, float],
    **pca_args: Any,
) -> tuple[np.ndarray, dict[str, list[float]]]:
    """PCA of each modality alone, each block scaled to unit total variance times its weight.

    Block ``m`` is ``weight[m] · pcs_m / sqrt(total variance of pcs_m)``, so with equal
    weights each modality contributes the same variance whatever its width or noise.

    Args:
        modalities: name → (V, D_m) raw features.
        dims: name → components kept for that modality.
        weights: name → its weight in the fusion (0 drops the modality's influence).
        **pca_args: ``svd_solver``, ``seed``, ``iterated_power`` of :func:`pca`.

    Returns:
        ``(emb, info)``: float32 (V, Σ dims) on the largest-unit scale, and
        ``{name: explained-variance ratios}`` per modality.
    """
    blocks, info = [], {}
    for name, raw in modalities.items():
        pcs, ratio = pca(standardise(raw), dims[name], **pca_args)
        total = float(pcs[1:].var(axis=0).sum()) if len(pcs) > 1 else 0.0
        blocks.append(pcs * np.float32(weights[name] / max(np.sqrt(total), 1e-12)))
        info[name] = ratio.tolist()
    return largest_unit(np.concatenate(blocks, axis=1)), info


def whiten(emb: np.ndarray) -> np.ndarray:
    """PCA whitening: rotate onto the principal axes and give each unit variance.

    Args:
        emb: (V, d) embedding, row 0 the padding item.

    Returns:
        float32 (V, d'), d' = number of non-degenerate axes (≤ d): over rows 1..V-1 the
        columns have mean 0 and covariance exactly the identity; row 0 stays zero.
    """
    body = emb[1:].astype(np.float64)
    body -= body.mean(axis=0)
    cov = body.T @ body / max(len(body), 1)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(-values, kind="stable")
    keep = order[values[order] > values.max(initial=0.0) * 1e-10]
    white = body @ (vectors[:, keep] / np.sqrt(values[keep]))
    return np.concatenate([np.zeros((1, len(keep))), white]).astype(np.float32)
