"""Tiny raw MicroLens_1M_x1 tables in the exact real schema (docs/DATA_CONTRACT.md), for any test.

The frames are built as Arrow tables and converted with ``to_pandas()``, so they look
exactly like ``pd.read_parquet`` of the real files: list columns are object columns of
numpy arrays (int64 ids, float32 embeddings).

Example:
    >>> tables = make_raw_tables(n_train=50)
    >>> sorted(tables)
    ['item_info', 'test', 'train', 'valid']
    >>> write_raw_tables(tables, tmp_path / "MicroLens_1M_x1")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["LEVEL_MAX", "make_raw_tables", "write_raw_tables"]

LEVEL_MAX = 10  # likes_level / views_level lie in 0..10


def _lists(matrix: np.ndarray) -> pa.Array:
    """(N, W) array → Arrow ``list<...>`` column of width W."""
    n, width = matrix.shape
    offsets = np.arange(n + 1, dtype=np.int32) * width
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(matrix.ravel()))


def _histories(
    rng: np.random.Generator, n: int, n_items: int, seq_width: int
) -> np.ndarray:
    """(n, seq_width) int64 histories, left-padded with 0, newest last.

    Lengths are short (geometric, mean ≈ 8) as in the real data; row 0 has an empty
    history and row 1 (when there is one) a full one.
    """
    lengths = np.minimum(rng.geometric(1 / 8, size=n), seq_width)
    lengths[0] = 0
    if n > 1:
        lengths[1] = seq_width
    seq = rng.integers(1, n_items + 1, size=(n, seq_width), dtype=np.int64)
    seq[np.arange(seq_width)[None, :] < (seq_width - lengths)[:, None]] = 0
    return seq


def _split(
    rng: np.random.Generator,
    n: int,
    n_items: int,
    seq_width: int,
    label: bool,
) -> pd.DataFrame:
    columns = {
        "user_id": pa.array(rng.integers(1, max(n // 3, 2), size=n, dtype=np.int64)),
        "item_seq": _lists(_histories(rng, n, n_items, seq_width)),
        "likes_level": pa.array(rng.integers(0, LEVEL_MAX + 1, size=n, dtype=np.int64)),
        "views_level": pa.array(rng.integers(0, LEVEL_MAX + 1, size=n, dtype=np.int64)),
        "item_id": pa.array(rng.integers(1, n_items + 1, size=n, dtype=np.int64)),
    }
    if label:
        clicks = (rng.random(n) < 0.25).astype(np.int64)
        clicks[:2] = [0, 1][: min(n, 2)]  # both classes present
        columns["label"] = pa.array(clicks)
    return pa.table(columns).to_pandas()


def make_raw_tables(
    n_train: int = 64,
    n_valid: int = 16,
    n_test: int = 16,
    n_items: int = 30,
    n_tags: int = 12,
    seed: int = 0,
    *,
    seq_width: int = 100,
    tags_width: int = 5,
    emb_dim: int = 128,
    test_label: bool = False,
) -> dict[str, pd.DataFrame]:
    """Build tiny raw tables in the real schema.

    Args:
        n_train, n_valid, n_test: rows per split (each ≥ 1).
        n_items: real items, ids 1..n_items; ``item_info`` has ``n_items + 1`` rows
            (row 0 is the all-zero padding item).
        n_tags: real tags, ids 1..n_tags (tag ``n_tags`` is always used, so the tag
            vocabulary is ``n_tags + 1``).
        seed: the random seed (same seed, same tables).
        seq_width: ``item_seq`` width (100 in the real files).
        tags_width, emb_dim: ``item_tags`` / ``item_emb_d128`` widths (5 / 128).
        test_label: also give test a (meaningless) ``label`` column, as some releases do.

    Returns:
        ``{"train", "valid", "test", "item_info"}`` → DataFrame. train/valid/test:
        ``user_id``, ``item_seq`` (list of int64), ``likes_level``, ``views_level``,
        ``item_id`` (int64) and ``label`` (int64 0/1, not in test unless ``test_label``).
        item_info: ``item_id`` (row i holds item i), ``item_tags`` (list of int64,
        left-padded 0), ``item_emb_d128`` (list of float32).
    """
    rng = np.random.default_rng(seed)
    n_rows = n_items + 1
    n_real_tags = rng.integers(1, tags_width + 1, size=n_rows)
    tags = np.sort(rng.integers(1, n_tags + 1, size=(n_rows, tags_width)), axis=1)
    tags[np.arange(tags_width)[None, :] < (tags_width - n_real_tags)[:, None]] = 0
    tags[1, -1] = n_tags
    emb = rng.standard_normal((n_rows, emb_dim)).astype(np.float32)
    tags[0], emb[0] = 0, 0.0
    item_info = pa.table(
        {
            "item_id": pa.array(np.arange(n_rows, dtype=np.int64)),
            "item_tags": _lists(tags.astype(np.int64)),
            "item_emb_d128": _lists(emb),
        }
    ).to_pandas()
    tables = {
        "train": _split(rng, n_train, n_items, seq_width, label=True),
        "valid": _split(rng, n_valid, n_items, seq_width, label=True),
        "test": _split(rng, n_test, n_items, seq_width, label=test_label),
        "item_info": item_info,
    }
    return tables


def write_raw_tables(
    tables: dict[str, pd.DataFrame], directory: str | Path
) -> dict[str, Path]:
    """Write the tables as ``<name>.parquet`` files in ``directory`` (created if needed).

    Returns:
        ``{name: path}``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in tables.items():
        paths[name] = directory / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), paths[name])
    return paths
