"""Sizes, targets and how much each run measures (full run vs ``--quick``)."""

from __future__ import annotations

import dataclasses

from mmctr.data.kernels import ROW_STATS

SECTIONS = ("threads", "peak", "attention", "train", "epoch", "data", "pipelines", "scoring")

# MicroLens_1M_x1 sizes (docs/DATA_CONTRACT.md)
VOCAB = {"item": 91_718, "tag": 11_740, "likes": 11, "views": 11, "max_len": 100,
         "emb_dim": 128, "num_tags": 5, "row_stats": len(ROW_STATS)}
TRAIN_ROWS, TEST_ROWS, WIDTH = 3_600_000, 379_142, 100
HISTORY_MEDIAN, HISTORY_MEAN = 6.0, 8.0

# the speed and memory targets
TARGET_FP32_PEAK = 0.50
TARGET_BF16_PEAK = 0.35
TARGET_DATA_RATIO = 50.0
TARGET_PIPELINE_S = 300.0
TARGET_PIPELINE_GB = 8.0
TARGET_SCORING_S = 120.0
TARGET_CROSS_RATIO = 10.0
TARGET_DEFAULT_BF16_SPEEDUP = 1.5
TARGET_EPOCH_S = 480.0
# the data stages between the raw files and training (item_embedding: the item table's
# embedding, by default the provided one, which semantic_similarity reads)
DATA_STAGES = "feature_engineering,item_embedding,semantic_similarity"


@dataclasses.dataclass(frozen=True)
class Plan:
    """How much to measure (full run vs ``--quick``)."""

    fp32_sizes: tuple[int, ...] = (2048, 4096)
    fp32_reps: int = 3
    bf16_size: int = 2048  # nt / tn layouts
    bf16_nn_size: int = 1024  # the slow layout: one smaller matmul
    bf16_reps: int = 3
    seed_warmup: int = 5  # the allocator's heap settles over the first steps
    seed_steps: int = 6
    seed_bf16_steps: int = 1  # emulated bf16 only (~5 min a step on an AVX2-only CPU): 0 skips it
    default_warmup: int = 20
    default_steps: int = 200
    default_bf16_steps: int = 3  # emulated bf16 only
    epoch_rows: int = TRAIN_ROWS
    data_rows: int = TRAIN_ROWS
    data_seconds: float = 10.0
    scoring_rows: int = TEST_ROWS
    pipeline_preset: str = "full"
    probe_rows: int = 40_000


QUICK = Plan(fp32_sizes=(1024,), fp32_reps=2, bf16_size=512, bf16_nn_size=256, bf16_reps=1,
             seed_warmup=1, seed_steps=1, seed_bf16_steps=0, default_warmup=1,
             default_steps=20, default_bf16_steps=1, data_rows=400_000, data_seconds=2.0,
             epoch_rows=200_000,
             scoring_rows=40_000, pipeline_preset="tiny", probe_rows=10_000)
