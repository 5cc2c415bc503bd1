"""Serving benchmark: the MLflow model, the HTTP server, onnxruntime and the inference pipeline.

    python -m benchmarks.serving            # full run (~5 min on 2 cores), writes benchmarks/serving.md
    python -m benchmarks.serving --quick    # smoke run (~1-2 min), prints only

Measured, on this machine:

- latency (p50, p99 over ``--requests`` requests, after a warm-up) of one request of 1, 16
  and 256 rows through the loaded pyfunc model in process (``model.predict``: checks,
  features, network), over HTTP (``mlflow models serve --env-manager local``, one
  keep-alive connection, JSON ``dataframe_records``) and through onnxruntime (the network
  alone on ready batch tensors, and with the project's feature code in front of it);
- batch throughput of ``kedro run --pipelines inference`` over the 379,142-row size of
  the test set, features included, in a temporary copy of the project (wall time of the
  whole session: bundle load, reading, checks, features, scoring, writing);
- 8 concurrent clients for 60 s against the served model (1-row requests): requests
  answered and failed, p50/p99.

The model is the ``default`` training preset's at the real vocabulary sizes (91,718 items,
11,740 tags) with seeded random weights and item table (timing does not depend on the
weights); rows have real-like history lengths (log-normal, median 6, mean 8, at most 100)
and uniform item ids. Standalone: it imports the project, not the other benchmark scripts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
TEST_ROWS = 379_142  # the MicroLens_1M_x1 test set
VOCAB = {"item": 91_718, "tag": 11_740, "likes": 11, "views": 11, "max_len": 100,
         "emb_dim": 128, "num_tags": 5, "row_stats": 12, "collab_stats": 12}
COLLAB = {"dim": 32, "links": 200}  # conf/base/parameters_collaborative.yml
SIZES = (1, 16, 256)
TARGETS = {"pyfunc_1_row_p99_ms": 10.0, "batch_rows_per_s": 100_000}


# ---- the world --------------------------------------------------------------------------


def default_model_params() -> dict:
    """The ``default`` preset's model, as conf/base/parameters_training.yml sets it."""
    conf = yaml.safe_load((ROOT / "conf/base/parameters_training.yml").read_text())
    model = dict(conf["training"]["presets"]["default"]["model"])
    return {k: v for k, v in model.items() if k != "name"}


def make_bundle(seed: int = 0):
    """The default model at real vocabulary sizes, random weights and item table."""
    from mmctr.models import build_model
    from mmctr.serving.bundle import make_bundle as bundle_of

    rng = np.random.default_rng(seed)
    n = VOCAB["item"]
    torch.manual_seed(seed)
    model = build_model("transformer_dcn", default_model_params(), VOCAB).eval()
    tags = rng.integers(1, VOCAB["tag"], size=(n, 5)).astype(np.int32)
    tags[:, :2] = 0
    emb = rng.normal(size=(n, 128)).astype(np.float32)
    tags[0], emb[0] = 0, 0.0
    counts = rng.poisson(30, size=(n, 2)).astype(np.float32)
    artifact = {"model_name": "transformer_dcn", "model_params": default_model_params(),
                "vocab": VOCAB, "state_dict": model.state_dict()}
    return bundle_of(artifact, {"item_tags": tags, "item_emb": emb}, None,
                     {"target_count": counts[:, 0], "history_count": counts[:, 1]}, 0.5, 100,
                     random_collab(rng, n))


def random_collab(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Collaborative tables of the collaborative stage's shapes (a fifth without a factor)."""
    has = (rng.random(n) > 0.2).astype(np.int8)
    has[0] = 0
    links = rng.integers(1, n, size=(n, COLLAB["links"])).astype(np.int32)
    links[0] = 0
    return {"factors": rng.normal(size=(n, COLLAB["dim"])).astype(np.float32) * has[:, None],
            "has_factor": has, "link_ids": links,
            "link_pmi": rng.uniform(0.1, 3.0, size=links.shape).astype(np.float32)}


def make_requests(rows: int, seed: int = 1) -> pa.Table:
    """Rows in the MicroLens test schema: ``item_seq`` 100 wide, left-padded, plus ``ID``."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.rint(rng.lognormal(np.log(6), 0.758, size=rows)), 0, 100)
    seq = rng.integers(1, VOCAB["item"], size=(rows, 100))
    seq[np.arange(100)[None, :] < (100 - lengths)[:, None]] = 0
    return pa.table({
        "ID": np.arange(rows, dtype=np.int64),
        "user_id": rng.integers(1, 1_000_000, size=rows),
        "item_seq": pa.ListArray.from_arrays(np.arange(0, rows * 100 + 1, 100, dtype=np.int32),
                                             seq.reshape(-1)),
        "likes_level": rng.integers(0, 11, size=rows),
        "views_level": rng.integers(0, 11, size=rows),
        "item_id": rng.integers(1, VOCAB["item"], size=rows),
    })


def request_frames(table: pa.Table, size: int, count: int) -> list[pd.DataFrame]:
    """``count`` request frames of ``size`` rows, histories as a JSON client sends them."""
    frames = []
    for i in range(count):
        chunk = table.slice((i * size) % (table.num_rows - size), size).to_pandas()
        chunk["item_seq"] = [s[s != 0].tolist() for s in chunk["item_seq"]]
        frames.append(chunk.drop(columns="ID"))
    return frames


# ---- timing -----------------------------------------------------------------------------


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "requests": len(ms)}


def time_calls(call: Callable[[object], object], inputs: list, warmup: int = 10) -> dict:
    """p50/p99 of ``call(x)`` over ``inputs`` after ``warmup`` untimed calls."""
    for x in inputs[:warmup]:
        call(x)
    seconds = []
    for x in inputs:
        start = time.perf_counter()
        call(x)
        seconds.append(time.perf_counter() - start)
    return percentiles(seconds)


# ---- the measurements -----------------------------------------------------------------------


def pyfunc_latency(model_dir: Path, table: pa.Table, requests: int) -> dict:
    import mlflow

    model = mlflow.pyfunc.load_model(str(model_dir))
    return {size: time_calls(model.predict, request_frames(table, size, requests))
            for size in SIZES}


def onnx_latency(bundle, table: pa.Table, requests: int) -> dict:
    import onnxruntime as ort

    from mmctr.serving.onnx_export import (
        example_rows,
        export_onnx,
        onnx_inputs,
        run_onnx,
    )
    from mmctr.serving.scorer import BundleScorer

    scorer = BundleScorer(bundle)
    session = ort.InferenceSession(export_onnx(scorer, example_rows(scorer, 64, 0)),
                                   providers=["CPUExecutionProvider"])
    out = {}
    for size in SIZES:
        frames = request_frames(table, size, requests)
        ready = [onnx_inputs(scorer, scorer.features(f)) for f in frames]
        out[size] = {
            "network": time_calls(lambda x: run_onnx(session, x), ready),
            "with_features": time_calls(
                lambda f: run_onnx(session, onnx_inputs(scorer, scorer.features(f))), frames),
        }
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _body(frame: pd.DataFrame) -> bytes:
    rows = [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
            for r in frame.to_dict(orient="records")]
    return json.dumps({"dataframe_records": rows}).encode()


def _post(conn: http.client.HTTPConnection, body: bytes) -> int:
    conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
    answer = conn.getresponse()
    answer.read()
    return answer.status


class Server:
    """``mlflow models serve`` of a model folder, on a free port, for the ``with`` block."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir, self.port, self.process = model_dir, _free_port(), None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(self.model_dir),
             "--env-manager", "local", "-h", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                conn = self.connect()
                conn.request("GET", "/ping")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(1)
        raise RuntimeError("the scoring server did not start within 300 s")

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def __exit__(self, *exc: object) -> None:
        os.killpg(self.process.pid, 15)
        self.process.wait(timeout=60)


def http_latency(server: Server, table: pa.Table, requests: int) -> dict:
    conn = server.connect()

    def call(body: bytes) -> None:
        if _post(conn, body) != 200:
            raise RuntimeError("a good request was refused")

    return {size: time_calls(call, [_body(f) for f in request_frames(table, size, requests)])
            for size in SIZES}


def load_test(server: Server, table: pa.Table, clients: int, seconds: float) -> dict:
    bodies = [_body(f) for f in request_frames(table, 1, 500)]
    latencies: list[float] = []
    failed = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        conn, i = server.connect(), k
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                ok = _post(conn, bodies[i % len(bodies)]) == 200
            except OSError:
                ok, conn = False, server.connect()
            with lock:
                latencies.append(time.perf_counter() - start) if ok else None
                failed[0] += not ok
            i += clients

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"clients": clients, "seconds": seconds, "answered": len(latencies),
            "failed": failed[0], "requests_per_s": len(latencies) / seconds,
            **percentiles(latencies)}


def pipeline_throughput(bundle, table: pa.Table, workdir: Path, threads: int | None) -> dict:
    """``kedro run --pipelines inference`` over ``table`` in a temporary project copy
    (``inference.threads``: ``threads``; ``None``: the default)."""
    from kedro.io.core import Version

    from mmctr.datasets.serving import ModelBundleDataset

    project = workdir / f"project-{threads}"
    shutil.copytree(ROOT / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf/local").mkdir()
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    (project / "src").mkdir()
    ModelBundleDataset(filepath=str(project / "data/06_models/model_bundle.pt"),
                       version=Version(None, None)).save(bundle)
    requests = project / "data/01_raw/requests.parquet"
    requests.parent.mkdir(parents=True)
    pq.write_table(table, requests)
    extra = f",inference.threads={threads}" if threads else ""
    script = (
        "import time, sys\n"
        "from kedro.framework.cli import main\n"
        "sys.argv = ['kedro', 'run', '--pipelines', 'inference', '--params',"
        f" 'inference.progress=false,inference.device=cpu{extra}']\n"
        "start = time.perf_counter()\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('SECONDS', time.perf_counter() - start)\n")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "true",
           "COLUMNS": "300",  # log lines unwrapped
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], cwd=project, env=env,
                          capture_output=True, text=True)
    total = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    session = float(done.stdout.rsplit("SECONDS", 1)[1].split()[0])
    found = re.search(r"scored and written\s+in\s+([\d.]+)\s+s", done.stdout + done.stderr)
    node = float(found.group(1))
    rows = pq.read_metadata(project / "data/07_model_output/predictions.parquet").num_rows
    return {"threads": threads or torch.get_num_threads(), "rows": rows, "rows_s": node,
            "rows_per_s_rows": rows / node, "session_s": session, "process_s": total,
            "rows_per_s": rows / session, "rows_per_s_with_startup": rows / total}


# ---- the report -------------------------------------------------------------------------


def machine() -> str:
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
        name = next(line.split(":", 1)[1].strip() for line in lines if "Model name" in line)
    except (OSError, StopIteration):
        name = platform.processor() or "unknown CPU"
    return f"{name}, {os.cpu_count()} logical CPUs, torch {torch.__version__}"


def _latency_table(results: dict) -> list[str]:
    lines = ["| path | rows/request | p50 ms | p99 ms | requests |", "|---|---:|---:|---:|---:|"]
    rows = [("pyfunc in process (checks + features + network)", results["pyfunc"]),
            ("HTTP, `mlflow models serve` (JSON)", results["http"]),
            ("onnxruntime, network only", {k: v["network"] for k, v in results["onnx"].items()}),
            ("onnxruntime + project features",
             {k: v["with_features"] for k, v in results["onnx"].items()})]
    for name, by_size in rows:
        for size, r in by_size.items():
            lines.append(f"| {name} | {size} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                         f"{r['requests']} |")
    return lines


def _batch_line(batch: dict) -> str:
    met = batch["rows_per_s_rows"] >= TARGETS["batch_rows_per_s"]
    return (f"| {batch['threads']} | {batch['rows']:,} | {batch['rows_s']:.1f} | "
            f"**{batch['rows_per_s_rows']:,.0f}** | {batch['session_s']:.1f} | "
            f"{batch['rows_per_s']:,.0f} | {batch['rows_per_s_with_startup']:,.0f} | "
            f"{'met' if met else 'missed'} |")


def render(results: dict) -> str:
    load = results["load"]
    one = results["pyfunc"][1]["p99_ms"]
    lines = [
        "# Serving benchmark", "",
        f"`python -m benchmarks.serving` on {results['machine']}, {results['date']}"
        f" (mlflow {results['versions']['mlflow']}, onnxruntime "
        f"{results['versions']['onnxruntime']}). The `default` model at the real vocabulary "
        "sizes, random weights; rows with real-like history lengths. Load average when it "
        f"ended: {os.getloadavg()[0]:.1f} (other jobs on the machine make every figure an "
        "upper bound of what it does alone).",
        "", "## Latency of one request", "", *_latency_table(results), "",
        f"Target: 1-row p99 <= {TARGETS['pyfunc_1_row_p99_ms']:.0f} ms through the pyfunc "
        f"model: {one:.2f} ms ({'met' if one <= TARGETS['pyfunc_1_row_p99_ms'] else 'missed'}).",
        "", "## Batch throughput of the `inference` pipeline", "",
        "`kedro run --pipelines inference` over the test set's size. *Rows*: the node's "
        "loop over the file (read, checks, features, network, write; its log line); "
        "*session*: the whole `kedro run` from the command's start (imports, hooks, input "
        f"fingerprints, bundle load). Target >= {TARGETS['batch_rows_per_s']:,} rows/s "
        "end to end, features included (judged on the rows).", "",
        "| torch threads | rows | rows s | rows/s | session s | session rows/s | "
        "with process start | target |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
        _batch_line(results["pipeline"]), _batch_line(results["pipeline_1_thread"]),
        "", "## Under load", "",
        f"{load['clients']} concurrent clients, {load['seconds']:.0f} s, 1-row requests against "
        f"`mlflow models serve` (one worker): {load['answered']:,} answered, "
        f"{load['failed']} failed, {load['requests_per_s']:.0f} requests/s, "
        f"p50 {load['p50_ms']:.1f} ms, p99 {load['p99_ms']:.1f} ms.", "",
    ]
    return "\n".join(lines)


def run(quick: bool) -> dict:
    import mlflow
    import onnxruntime

    from mmctr.serving.bundle import save_bundle
    from mmctr.serving.mlflow_model import save_pyfunc

    requests, seconds = (60, 10.0) if quick else (250, 60.0)
    bundle = make_bundle()
    table = make_requests(20_000 if quick else TEST_ROWS)
    results = {"machine": machine(), "date": dt.date.today().isoformat(),
               "versions": {"mlflow": mlflow.__version__,
                            "onnxruntime": onnxruntime.__version__}}
    with tempfile.TemporaryDirectory(prefix="mmctr-serving-bench-") as tmp:
        work = Path(tmp)
        results["pipeline"] = pipeline_throughput(bundle, table, work, None)
        print("pipeline", results["pipeline"], flush=True)
        results["pipeline_1_thread"] = pipeline_throughput(bundle, table, work, 1)
        print("pipeline, 1 thread", results["pipeline_1_thread"], flush=True)
        save_bundle(bundle, work / "bundle.pt")
        save_pyfunc(work / "bundle.pt", work / "model")
        results["pyfunc"] = pyfunc_latency(work / "model", table, requests)
        print("pyfunc", results["pyfunc"], flush=True)
        results["onnx"] = onnx_latency(bundle, table, requests)
        print("onnx", results["onnx"], flush=True)
        with Server(work / "model") as server:
            results["http"] = http_latency(server, table, requests)
            print("http", results["http"], flush=True)
            results["load"] = load_test(server, table, 8, seconds)
            print("load", results["load"], flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run; prints only")
    args = parser.parse_args()
    results = run(args.quick)
    report = render(results)
    print(report)
    if not args.quick:
        (ROOT / "benchmarks/serving.md").write_text(report)
        (ROOT / "benchmarks/serving.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
