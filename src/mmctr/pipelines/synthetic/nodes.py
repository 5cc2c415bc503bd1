"""Nodes of the ``synthetic`` stage: data in the exact MicroLens_1M_x1 schema (docs/DATA_CONTRACT.md).

The generative model (documented in :mod:`.generator`) is drawn once (``make_world``);
each split is then sampled in chunks of ``chunk_rows`` rows from its own seeded random
stream, so the output depends on the seed, the preset and the knobs only. What a model
must never read (true probabilities, hidden test labels) leaves through
``synthetic_truth`` / ``synthetic_oracle`` only.

List columns (``item_seq``, ``item_tags``, ``item_emb_d128``) are object columns of numpy
row views of one 2-D array, built through pyarrow from the flat values and offsets: they
are saved as parquet ``list`` types, and ``pd.read_parquet`` gives the same columns back.
(A ``pd.ArrowDtype`` list column would be zero-copy but its parquet file does not load
with ``pd.read_parquet`` in pandas 3.1.)
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.metrics import log_loss, roc_auc_score
from tqdm.auto import tqdm

from mmctr.config import from_params
from mmctr.pipelines.synthetic.config import synthetic_config
from mmctr.pipelines.synthetic.generator import (
    SEQ_WIDTH,
    RawViewConfig,
    World,
    build_world,
    raw_item_views,
    sample_rows,
)

__all__ = [
    "item_info",
    "make_world",
    "oracle_report",
    "raw_item_features",
    "test_split",
    "train_split",
    "valid_split",
]

logger = logging.getLogger(__name__)

_STREAMS = {"train": 2, "valid": 3, "test": 4}  # random stream of each split (world: 0, 1)


def _list_column(values: np.ndarray) -> np.ndarray:
    """Object array of the rows of ``values`` (zero-copy views), via a pyarrow list array.

    Args:
        values: (N, W) array.

    Returns:
        (N,) object array; element i is ``values[i]`` (W,) with the same dtype.
    """
    n, width = values.shape
    offsets = pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int64))
    flat = pa.array(np.ascontiguousarray(values).reshape(-1))
    return pa.LargeListArray.from_arrays(offsets, flat).to_numpy(zero_copy_only=False)


def _lean_arrow_pool(nbytes: int) -> None:
    """Route pyarrow's allocations to jemalloc before a frame of ``nbytes`` is saved.

    Saving converts each list column to Arrow through a growing buffer. For the full
    train split (2.9 GB of ``item_seq``) pyarrow's default mimalloc pool peaks ~1.2 GB
    higher than jemalloc during that conversion (measured max RSS of the whole full-preset
    run: 8.6 vs 7.6 GB). Process-wide and harmless; skipped below 1 GiB or where jemalloc is not built in.
    """
    if nbytes < 2**30:
        return
    try:
        if pa.default_memory_pool().backend_name != "jemalloc":
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)  # hand freed memory back at once
    except NotImplementedError:  # pragma: no cover - pyarrow built without jemalloc
        return
    logger.info("Using pyarrow's jemalloc pool for a %.1f GB save (lower peak memory)", nbytes / 1e9)


def make_world(params: dict[str, Any]) -> World:
    """Draw the items, tags, embeddings and users and calibrate the click bias.

    Args:
        params: ``params:synthetic`` (see ``conf/base/parameters_synthetic.yml``).

    Returns:
        The :class:`~mmctr.pipelines.synthetic.generator.World` every split is drawn from.
    """
    cfg = synthetic_config(params)
    logger.info("Synthetic preset %r, seed %d: %s", cfg.preset, cfg.seed, cfg.sizes)
    _lean_arrow_pool(cfg.sizes.n_train * SEQ_WIDTH * 8)
    return build_world(cfg)


def item_info(world: World) -> pd.DataFrame:
    """``item_info.parquet``: row i holds item i, row 0 the all-zero padding item.

    Args:
        world: the drawn world.

    Returns:
        Columns ``item_id`` int64, ``item_tags`` list<int64> (5, left-padded with 0),
        ``item_emb_d128`` list<float32> (128).
    """
    return pd.DataFrame({
        "item_id": np.arange(len(world.tags), dtype=np.int64),
        "item_tags": _list_column(world.tags.astype(np.int64)),
        "item_emb_d128": _list_column(world.emb),
    })


def _split(world: World, split: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Draw one split chunk by chunk; return its raw frame and its hidden truth."""
    cfg = world.cfg
    n = int(getattr(world.sizes, f"n_{split}"))
    logger.info("Generating %s: %d rows (chunks of %d)", split, n, cfg.chunk_rows)
    seq = np.zeros((n, SEQ_WIDTH), dtype=np.int64)  # 2.9 GB at the full train size
    names = ("user_id", "likes_level", "views_level", "item_id", "length")
    cols = {name: np.empty(n, dtype=np.int64) for name in names}
    prob, label = np.empty(n), np.empty(n, dtype=np.int64)
    content = np.empty(n)  # the click logit without the hidden per-item and per-user offsets
    groups = np.empty(n)  # its co-consumption term (0 when off)
    starts = range(0, n, cfg.chunk_rows)
    # disable=None: no bar without a terminal (it would become one long log line)
    bar = tqdm(starts, desc=f"synthetic {split}", disable=True if len(starts) < 2 else None)
    for chunk, lo in enumerate(bar):
        hi = min(lo + cfg.chunk_rows, n)
        rng = np.random.default_rng([cfg.seed, _STREAMS[split], chunk])
        rows = sample_rows(world, hi - lo, rng, warm_targets=split == "train")
        prob[lo:hi] = 1 / (1 + np.exp(-(world.bias + rows["score"])))
        groups[lo:hi] = rows["group_score"]
        content[lo:hi] = (rows["score"] - cfg.w_item * world.effect[rows["item_id"]]
                          - cfg.w_user * world.user_bias[rows["user_id"] - 1]
                          - rows["group_score"])
        label[lo:hi] = rng.random(hi - lo) < prob[lo:hi]
        for name in names:
            cols[name][lo:hi] = rows[name]
        length = rows["length"]
        row = np.repeat(np.arange(hi - lo), length)
        pos = np.arange(len(row)) - (np.cumsum(length) - length)[row]  # 0 = oldest
        seq[lo + row, SEQ_WIDTH - length[row] + pos] = rows["history"]  # newest last
    frame = pd.DataFrame({
        "user_id": cols["user_id"],
        "item_seq": _list_column(seq),
        "likes_level": cols["likes_level"],
        "views_level": cols["views_level"],
        "item_id": cols["item_id"],
        "label": label.astype(np.float64),
    })
    length = cols["length"]
    stats = {
        "rows": n,
        "click_rate": float(label.mean()) if n else float("nan"),
        "history_mean": float(length.mean()) if n else 0.0,
        "history_median": float(np.median(length)) if n else 0.0,
        "history_max": int(length.max(initial=0)),
        "history_empty": int((length == 0).sum()),
        "cold_targets": int(world.cold[cols["item_id"]].sum()),
    }
    logger.info("%s: click rate %.3f, history mean %.2f / median %.0f / max %d",
                split, stats["click_rate"], stats["history_mean"], stats["history_median"],
                stats["history_max"])
    truth = {"stats": stats, "label": label, "prob": prob, "content": content,
             "co_consumption": content + groups}
    return frame, truth


def train_split(world: World) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``train.parquet`` (targets never cold items) and its truth.

    Args:
        world: the drawn world.

    Returns:
        The raw frame (``user_id``, ``item_seq`` list<int64> (100), ``likes_level``,
        ``views_level``, ``item_id``, ``label`` float64 0/1) and a dict of ``stats``
        (dict), ``label`` (N,) int64 and ``prob`` (N,) float64.
    """
    return _split(world, "train")


def valid_split(world: World) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``valid.parquet`` (same columns as train) and its truth (see :func:`train_split`)."""
    return _split(world, "valid")


def test_split(world: World) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``test.parquet`` *without* the ``label`` column, and its truth."""
    frame, truth = _split(world, "test")
    return frame.drop(columns="label"), truth


def _auc(label: np.ndarray, prob: np.ndarray) -> float | None:
    return float(roc_auc_score(label, prob)) if len(np.unique(label)) == 2 else None


def _logloss(label: np.ndarray, prob: np.ndarray) -> float | None:
    return float(log_loss(label, prob, labels=[0, 1])) if len(label) else None


def oracle_report(
    world: World,
    train: dict[str, Any],
    valid: dict[str, Any],
    test: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Hidden truth and what a perfect model would score.

    Args:
        world: the drawn world.
        train, valid, test: the truth dicts of :func:`train_split` & co.

    Returns:
        ``synthetic_truth``: columns ``split`` ("valid"/"test"), ``row`` int64, ``label``
        int64, ``prob`` float64; ``synthetic_oracle``: AUC and log loss of the true
        probabilities per split, click rates, history statistics, sizes and seed.
    """
    truth = pd.concat(
        [pd.DataFrame({
            "split": np.full(len(t["label"]), name, dtype=object),
            "row": np.arange(len(t["label"]), dtype=np.int64),
            "label": t["label"].astype(np.int64),
            "prob": t["prob"].astype(np.float64),
        }) for name, t in (("valid", valid), ("test", test))],
        ignore_index=True,
    )
    cfg = world.cfg
    oracle: dict[str, Any] = {"preset": cfg.preset, "seed": cfg.seed}
    for name, t in (("train", train), ("valid", valid), ("test", test)):
        oracle[f"{name}_auc"] = _auc(t["label"], t["prob"])
        oracle[f"{name}_logloss"] = _logloss(t["label"], t["prob"])
        if "content" in t:  # what content alone can reach: no item/user offsets known
            oracle[f"{name}_content_auc"] = _auc(t["label"], t["content"])
        if "co_consumption" in t:  # content plus co-consumption (still no item/user offset)
            oracle[f"{name}_co_consumption_auc"] = _auc(t["label"], t["co_consumption"])
        oracle[f"{name}_mean_prob"] = float(t["prob"].mean()) if len(t["prob"]) else None
        oracle.update({f"{name}_{key}": value for key, value in t["stats"].items()})
    oracle.update({key: value for key, value in dataclasses.asdict(world.sizes).items()})
    oracle.update({
        "cold_items": int(world.cold.sum()),
        "bias": float(world.bias),
        "item_vocab": len(world.tags),
        "tag_vocab": world.sizes.n_tags + 1,
    })
    logger.info("Oracle AUC: valid %s, test %s", oracle["valid_auc"], oracle["test_auc"])
    logger.info("Test ceilings: content only %s, with co-consumption %s",
                oracle.get("test_content_auc"), oracle.get("test_co_consumption_auc"))
    return truth, oracle


def raw_item_features(world: World) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``item_feature.parquet`` and ``item_emb.parquet`` in the real download's schema.

    Args:
        world: the drawn world (its config's ``raw_features`` block shapes the views).

    Returns:
        ``item_feature``: one row per item 1..n_items: ``item_id`` int64, ``item_title``
        str (a column the pipeline must ignore), ``txt_emb_BERT`` list<float32> (768),
        ``img_emb_CLIPRN50`` list<float32> (1024); ``item_emb``: ``item_id`` int64,
        ``item_emb_d128`` list<float32> (128) by the organisers' recipe (standardise,
        concatenate, PCA to 128).
    """
    from mmctr.data.recipes import concat_pca

    rv = from_params(RawViewConfig, world.cfg.raw_features, "params:synthetic.raw_features")
    views = raw_item_views(world, rv)
    n = len(views["text"])
    ids = np.arange(1, n + 1, dtype=np.int64)
    padded = {name: np.concatenate([np.zeros((1, v.shape[1]), v.dtype), v])
              for name, v in views.items()}
    organisers, _ = concat_pca(padded, 128, svd_solver="randomized", seed=0)
    del padded
    feature = pd.DataFrame({
        "item_id": ids,
        "item_title": np.array([f"synthetic item {i}" for i in ids], dtype=object),
        "txt_emb_BERT": _list_column(views["text"]),
        "img_emb_CLIPRN50": _list_column(views["image"]),
    })
    emb = pd.DataFrame({"item_id": ids, "item_emb_d128": _list_column(organisers[1:])})
    logger.info("Raw item features: %d items, text %d, image %d", n,
                views["text"].shape[1], views["image"].shape[1])
    return feature, emb
