"""Scale benchmark: the data stages on both paths at 0.25x-2x the real scale.

    python -m benchmarks.scale                       # 0.25 0.5 1 2, both paths
    python -m benchmarks.scale --scales 0.25 0.5 --paths spark

For each scale a raw world of the real shape (3.6M train rows at 1x, 10k valid, 379k test,
91,717 items; histories of mean length ~8 in width 100) is written as parquet a row group
at a time, so 2x fits. Then each stage runs in a process of its own, in order:

* ``features``: raw tables → checked features (``feature_engineering`` / ``spark_features``);
* ``collaborative``: baskets, pair counts, PMI links and SVD factors of the train histories
  (``collaborative`` / ``spark_collaborative``);
* ``similarity``: popularity and per-row similarity of every split, the collaborative
  statistics included (``semantic_similarity``'s row work / ``spark_similarity``);
* ``als`` (Spark only, with ``--als``): the collaborative stage with MLlib ALS factors
  (``params:spark.factors: als``) instead of the SVD.

Measured per stage: wall time of the process (for Spark, JVM start included) and peak
memory of its whole process tree (the JVM and Python workers included), sampled every
0.2 s from ``/proc`` (proportional set size, so shared pages count once). A memory-path
stage whose expected peak (twice the previous scale's) exceeds the memory available now
is skipped and reported as such. Results go to ``benchmarks/scale.json`` after every stage
and to ``benchmarks/scale.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

logger = logging.getLogger("benchmarks.scale")

REAL = {"train": 3_600_000, "valid": 10_000, "test": 379_142, "items": 91_717, "tags": 11_739}
WIDTH, CHUNK = 100, 1 << 17  # history width; rows generated (= one row group) at a time
STAGES = {"memory": ("features", "collaborative", "similarity"),
          "spark": ("features", "collaborative", "similarity")}
HERE = Path(__file__).resolve().parent
SIMILARITY = {"threshold": 0.5, "chunk_size": 16384, "device": "cpu"}
COLLABORATIVE: dict[str, Any] = {}  # the stage's defaults (params:collaborative)
FEATURES = {"max_len": 100, "seq_width": 100, "tags_width": 5, "emb_dim": 128,
            "level_max": 10, "history_bins": 101, "chunk_rows": 262144}


# --- the raw world --------------------------------------------------------------------


def _lists(matrix: np.ndarray) -> pa.Array:
    offsets = np.arange(len(matrix) + 1, dtype=np.int32) * matrix.shape[1]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(matrix.ravel()))


def _rows(rng: np.random.Generator, n: int, labelled: bool) -> pa.Table:
    lengths = np.minimum(rng.geometric(1 / 8, size=n), WIDTH)
    seq = rng.integers(1, REAL["items"] + 1, size=(n, WIDTH), dtype=np.int64)
    seq[np.arange(WIDTH)[None, :] < (WIDTH - lengths)[:, None]] = 0
    columns = {"user_id": pa.array(rng.integers(1, 1_000_000, n, dtype=np.int64)),
               "item_seq": _lists(seq),
               "likes_level": pa.array(rng.integers(0, 11, n, dtype=np.int64)),
               "views_level": pa.array(rng.integers(0, 11, n, dtype=np.int64)),
               "item_id": pa.array(rng.integers(1, REAL["items"] + 1, n, dtype=np.int64))}
    if labelled:
        columns["label"] = pa.array((rng.random(n) < 0.2).astype(np.int64))
    return pa.table(columns)


def _write_split(path: Path, rows: int, labelled: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    writer = None
    for start in range(0, rows, CHUNK):
        table = _rows(rng, min(CHUNK, rows - start), labelled)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def _write_items(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = REAL["items"] + 1
    tags = np.sort(rng.integers(1, REAL["tags"] + 1, size=(n, 5)), axis=1)
    emb = rng.standard_normal((n, 128)).astype(np.float32)
    tags[0], emb[0] = 0, 0.0
    pq.write_table(pa.table({"item_id": pa.array(np.arange(n, dtype=np.int64)),
                             "item_tags": _lists(tags), "item_emb_d128": _lists(emb)}), path)


def generate(folder: Path, scale: float, seed: int = 0) -> Path:
    """The raw world at ``scale`` in ``folder`` (kept: a second run reuses it)."""
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    _write_items(folder / "item_info.parquet", seed)
    for index, split in enumerate(("train", "valid", "test")):
        rows = int(REAL[split] * (scale if split != "valid" else 1))
        _write_split(folder / f"{split}.parquet", rows, split != "test", seed + 1 + index)
    (folder / "done").write_text("ok")
    return folder


# --- one stage, in a process of its own --------------------------------------------------


def _memory_stage(stage: str, raw: Path, work: Path) -> None:
    import pandas as pd

    from mmctr.datasets import NpzDataset
    from mmctr.pipelines.collaborative.nodes import learn_item_factors
    from mmctr.pipelines.feature_engineering.nodes import build_features
    from mmctr.pipelines.semantic_similarity import nodes as sim

    def npz(name: str) -> NpzDataset:
        return NpzDataset(filepath=str(work / f"{name}.npz"))

    if stage == "features":
        tables = [pd.read_parquet(raw / f"{n}.parquet", dtype_backend="pyarrow")
                  for n in ("train", "valid", "test", "item_info")]
        out = build_features(*tables, FEATURES)
        del tables
        for name in ("train", "valid", "test", "items"):
            npz(f"{name}_features").save(out.pop(name))
        (work / "vocab.json").write_text(json.dumps(out["vocab"]))
        return
    vocab = json.loads((work / "vocab.json").read_text())
    if stage == "collaborative":
        npz("item_collab").save(learn_item_factors(npz("train_features").load(), vocab,
                                                   COLLABORATIVE)[0])
        return
    items, collab = npz("items_features").load(), npz("item_collab").load()
    popularity = sim.item_popularity(npz("train_features").load(), vocab)
    emb = sim.normalise_embeddings(items)
    for split in ("train", "valid", "test"):
        npz(f"{split}_similarity").save(sim.split_similarity(
            npz(f"{split}_features").load(), emb, SIMILARITY, items, popularity, collab))


def _spark_stage(stage: str, raw: Path, work: Path, cores: int) -> None:
    import pandas as pd

    from mmctr.datasets import NpzDataset, ShardedDataset
    from mmctr.pipelines.spark_collaborative.nodes import learn_item_factors
    from mmctr.pipelines.spark_features.nodes import build_features
    from mmctr.pipelines.spark_similarity import nodes as sim
    from mmctr.spark.session import spark_session

    spark = spark_session({"spark.master": f"local[{cores}]", "spark.driver.memory": "2g",
                           "spark.sql.shuffle.partitions": "8", "spark.ui.enabled": "false",
                           "spark.sql.files.maxPartitionBytes": "16m",
                           "spark.sql.execution.arrow.maxRecordsPerBatch": "8192"})

    def shards(name: str) -> ShardedDataset:
        return ShardedDataset(filepath=str(work / name))

    items_npz = NpzDataset(filepath=str(work / "items_features.npz"))
    collab_npz = NpzDataset(filepath=str(work / "item_collab.npz"))
    if stage == "features":
        frames = [spark.read.parquet(str(raw / f"{n}.parquet")) for n in ("train", "valid", "test")]
        items = pd.read_parquet(raw / "item_info.parquet", dtype_backend="pyarrow")
        out = build_features(*frames, items, FEATURES)
        for split in ("train", "valid", "test"):
            shards(f"{split}_features").save(out[split])
        items_npz.save(out["items"])
        (work / "vocab.json").write_text(json.dumps(out["vocab"]))
        return
    vocab = json.loads((work / "vocab.json").read_text())
    train = shards("train_features").load()
    if stage in ("collaborative", "als"):
        factors = {"factors": "als"} if stage == "als" else {}
        collab = learn_item_factors(train, vocab, COLLABORATIVE, factors)[0]
        if stage == "collaborative":
            collab_npz.save(collab)
        return
    popularity = sim.item_popularity(train, vocab)
    for split in ("train", "valid", "test"):
        shards(f"{split}_similarity").save(sim.split_similarity(
            shards(f"{split}_features").load(), items_npz.load(), popularity, SIMILARITY,
            collab_npz.load()))


# --- measuring a process tree ------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _tree_bytes(root: int) -> int:
    """Proportional set size of ``root`` and every descendant (JVM, Python workers)."""
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack += _children(pid)
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        line = next((x for x in text.splitlines() if x.startswith("Pss:")), "Pss: 0 kB")
        total += int(line.split()[1]) * 1024
    return total


def measure(command: list[str]) -> dict[str, Any]:
    """Run ``command``; its wall time, peak tree memory and exit status."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=HERE.parent)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_bytes(process.pid))
        time.sleep(0.2)
    return {"seconds": time.perf_counter() - start, "peak_gb": peak / 1e9,
            "ok": process.returncode == 0}


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _available_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1e6
    return float("inf")


# --- the report --------------------------------------------------------------------------


def _cell(result: dict[str, Any] | None) -> str:
    if result is None:
        return "not run"
    if result.get("skipped"):
        return f"skipped ({result['skipped']})"
    if not result["ok"]:
        return f"failed after {result['seconds']:.0f} s"
    return (f"{result['seconds']:.0f} s, {result['peak_gb']:.2f} GB "
            f"(writes {result.get('output_gb', 0):.2f} GB)")


def _total(stages: dict[str, Any], path: str) -> tuple[float, float] | None:
    """(seconds, peak GB) of a path's stages at one scale; None when one did not finish."""
    cells = [stages.get(f"{path}/{stage}") for stage in STAGES[path]]
    if not all(c and c.get("ok") for c in cells):
        return None
    return sum(c["seconds"] for c in cells), max(c["peak_gb"] for c in cells)


def render(results: dict[str, Any], machine: str) -> str:
    """benchmarks/scale.md from the results."""
    lines = ["# Scale benchmark: data stages, in memory and on Spark", "",
             f"`python -m benchmarks.scale {results['args']}` on {machine}, "
             f"{results['date']}. Each cell: wall time of the stage's process, peak memory "
             "of its process tree (JVM and Python workers included).", "",
             "| scale | train rows | stage | in memory | Spark |", "|---|---|---|---|---|"]
    for scale, stages in results["scales"].items():
        rows = int(REAL["train"] * float(scale))
        for stage in ("features", "collaborative", "similarity", "als"):
            memory, spark = stages.get(f"memory/{stage}"), stages.get(f"spark/{stage}")
            if memory is None and spark is None:
                continue
            memory_cell = _cell(memory) if stage != "als" else "—"
            lines.append(f"| {scale}x | {rows:,} | {stage} | {memory_cell} | {_cell(spark)} |")
        memory, spark = _total(stages, "memory"), _total(stages, "spark")
        if memory and spark:
            lines.append(f"| {scale}x | {rows:,} | **all three** | {memory[0]:.0f} s, peak "
                         f"{memory[1]:.2f} GB | {spark[0]:.0f} s, peak {spark[1]:.2f} GB "
                         f"(**{spark[0] / memory[0]:.2f}×** the time) |")
    return "\n".join(lines + [""])


def _machine(cores: int) -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return f"{model}, {os.cpu_count()} cores (Spark local[{cores}]), {platform.system()}"


def _run_stage(path: str, stage: str, scale: float, args: argparse.Namespace,
               previous: dict[str, Any] | None) -> dict[str, Any]:
    expected = 2.2 * previous["peak_gb"] if previous and previous.get("ok") else 0.0
    if path == "memory" and expected > _available_gb():
        return {"skipped": f"needs ~{expected:.0f} GB, {_available_gb():.0f} GB available"}
    raw = generate(args.data / f"raw-{scale}", scale)
    work = args.data / f"{path}-{scale}"
    work.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "benchmarks.scale", "--child", stage, "--path", path,
               "--raw", str(raw), "--work", str(work), "--cores", str(args.cores)]
    logger.info("%s/%s at %sx ...", path, stage, scale)
    before = _folder_bytes(work)
    result = measure(command)
    result["output_gb"] = (_folder_bytes(work) - before) / 1e9
    logger.info("%s/%s at %sx: %s", path, stage, scale, _cell(result))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0])
    parser.add_argument("--paths", nargs="+", default=["memory", "spark"])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--als", action="store_true", help="also time MLlib ALS (Spark)")
    parser.add_argument("--data", type=Path, default=Path("data/scale_benchmark"))
    parser.add_argument("--child"), parser.add_argument("--path")
    parser.add_argument("--raw", type=Path), parser.add_argument("--work", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        if args.path == "memory":
            _memory_stage(args.child, args.raw, args.work)
        else:
            _spark_stage(args.child, args.raw, args.work, args.cores)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = HERE / "scale.json"
    results = json.loads(out.read_text()) if out.exists() else {"scales": {}}
    results.update(args=" ".join(argv if argv is not None else sys.argv[1:]),
                   date=datetime.date.today().isoformat())
    for scale in args.scales:
        stages = results["scales"].setdefault(str(scale), {})
        for path in args.paths:
            for stage in STAGES[path] + (("als",) if args.als and path == "spark" else ()):
                smaller = results["scales"].get(str(scale / 2), {})
                stages[f"{path}/{stage}"] = _run_stage(path, stage, scale, args,
                                                       smaller.get(f"{path}/{stage}"))
                out.write_text(json.dumps(results, indent=1))
                (HERE / "scale.md").write_text(render(results, _machine(args.cores)))


if __name__ == "__main__":
    main()
