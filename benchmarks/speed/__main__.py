"""``python -m benchmarks.speed``: run the chosen sections, print the report, write it for a
full run (see :mod:`benchmarks.speed`)."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import ROOT, load_avg, log

from . import __doc__ as DOC
from . import runtime
from .arrays import head, make_items, make_rows
from .attention import attention_kernels
from .data_path import measure_data_path
from .epoch import measure_epoch
from .peak import cross_layer_gemms, measure_peak
from .pipelines import measure_pipelines
from .plan import QUICK, SECTIONS, Plan
from .report import render
from .scoring import measure_scoring
from .threads import measure_threads, probe_scoring
from .training import run_training

#: the sections on the shared arrays that take (plan, rows, item sources): (key, measurement)
ON_ARRAYS = (("data", measure_data_path), ("scoring", measure_scoring))


def parser() -> argparse.ArgumentParser:
    out = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=DOC.split("\n\n")[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    out.add_argument("--quick", action="store_true", help="short smoke run (small sizes)")
    out.add_argument("--sections", default=",".join(SECTIONS),
                     help=f"comma-separated subset of {','.join(SECTIONS)}")
    out.add_argument("--output", type=Path, default=None,
                     help="markdown file to write (default: benchmarks/results.md for a full "
                          "run of every section; nothing otherwise)")
    out.add_argument("--seed-bf16-steps", type=int, default=None,
                     help="bf16 seed steps (minutes each without native bf16; 0 skips)")
    out.add_argument("--omp-default", action="store_true",
                     help="keep OpenMP's default wait policy and spin count (default: "
                          "GOMP_SPINCOUNT=1000 unless the shell set either)")
    out.add_argument("--device", default="auto",
                     help="auto (default: CUDA when present), cpu, cuda or cuda:N: where the peak, train, epoch, "
                          "data and scoring sections run")
    out.add_argument("--probe", type=int, default=None, help=argparse.SUPPRESS)
    out.add_argument("--probe-gemm", type=int, default=None, help=argparse.SUPPRESS)
    return out


def _probe(args: argparse.Namespace) -> bool:
    """Run a measurement of a child process (``threads``, ``peak``); True if it was one."""
    if args.probe is not None:  # a `threads` subprocess
        print(json.dumps(probe_scoring(args.probe)))
    elif args.probe_gemm is not None:  # the cross-layer GEMMs without keep_freed_memory
        print(json.dumps(cross_layer_gemms(args.probe_gemm)))
    else:
        return False
    return True


def _arrays(plan: Plan, sections: Sequence[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The item table and the rows the array sections share (as many as the largest needs)."""
    rng = np.random.default_rng(2025)
    t0 = time.perf_counter()
    item_sources = make_items(rng)
    n_rows = max(plan.scoring_rows, 200_000,
                 plan.data_rows if "data" in sections else 0,
                 plan.epoch_rows if "epoch" in sections else 0)
    rows = make_rows(n_rows, rng)
    lengths = (rows["item_seq"] != 0).sum(1)
    log(f"generated {len(lengths):,} rows in {time.perf_counter() - t0:.1f}s: history length "
        f"mean {lengths.mean():.2f}, median {np.median(lengths):.0f}, max {lengths.max()}")
    return item_sources, rows


def _measure_arrays(plan: Plan, sections: Sequence[str], res: dict[str, Any]) -> None:
    """``train``, ``epoch``, ``data`` and ``scoring`` on one set of synthetic arrays."""
    if not {"train", "epoch", "data", "scoring"} & set(sections):
        return
    item_sources, rows = _arrays(plan, sections)
    if "train" in sections:
        res["train"] = run_training(plan, rows, item_sources)
    if "epoch" in sections:
        res["epoch"] = measure_epoch(plan, head(rows, plan.epoch_rows), item_sources)
    for key, measure in ON_ARRAYS:
        if key in sections:
            res[key] = measure(plan, rows, item_sources)
    del rows, item_sources
    gc.collect()


def _measure_pipelines(plan: Plan, res: dict[str, Any]) -> None:
    try:
        res["pipelines"] = measure_pipelines(plan)
    except RuntimeError as exc:  # reported, the other sections' figures kept
        res["pipelines_error"] = str(exc).strip().splitlines()[-1][:500]
        log(f"pipelines failed: {res['pipelines_error']}")


def measure(plan: Plan, sections: Sequence[str]) -> dict[str, Any]:
    """Every chosen section's results, with the machine and the load around them."""
    start = time.perf_counter()
    res: dict[str, Any] = {"machine": runtime.machine_info(), "load_start": load_avg()}
    log(f"machine: {json.dumps(res['machine'])}; load {res['load_start']}")
    if "threads" in sections:
        res["threads"] = measure_threads(plan)
    if "peak" in sections:
        res["peak"] = measure_peak(plan)
    if "attention" in sections:
        res["attention"] = attention_kernels()
        log(f"attention kernels: {res['attention']}")
    _measure_arrays(plan, sections, res)
    if "pipelines" in sections:
        _measure_pipelines(plan, res)
    res["load_end"] = load_avg()
    res["total_s"] = time.perf_counter() - start
    return res


def main(argv: Sequence[str] | None = None) -> None:
    cli = parser()
    args = cli.parse_args(argv)
    if _probe(args):
        return
    raw_argv = list(sys.argv[1:] if argv is None else argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        cli.error(f"unknown section(s) {unknown}; known: {list(SECTIONS)}")
    plan = QUICK if args.quick else Plan()
    if args.seed_bf16_steps is not None:
        plan = dataclasses.replace(plan, seed_bf16_steps=args.seed_bf16_steps)
    output = args.output
    if output is None and not args.quick and set(sections) == set(SECTIONS):
        output = ROOT / "benchmarks" / "results.md"
    runtime.configure(args.device)
    text = render(measure(plan, sections), raw_argv)
    print("\n" + text)
    if output is not None:
        output.write_text(text)
        log(f"wrote {output}")


if __name__ == "__main__":
    main()
