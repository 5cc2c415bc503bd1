"""``benchmarks/results.md`` from one run's results: one function per section, then
:func:`render`, which strings them together under the machine and the targets table."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks.common import command_line, markdown_table

from .plan import DATA_STAGES
from .targets import pct, rate, targets


def header(res: dict[str, Any], argv: Sequence[str]) -> list[str]:
    lines = ["# mmctr benchmark results", "",
             f"Produced by `{command_line('benchmarks.speed', argv)}` "
             f"in {res['total_s'] / 60:.1f} min; every figure below comes from this one run. "
             "Regenerate with the same command.", ""]
    lines += ["## Machine", ""]
    info = dict(res["machine"], **{"load average (1/5/15 min) at start": res["load_start"],
                                   "load average at end": res["load_end"]})
    lines += markdown_table(["", ""], list(info.items()))
    lines += ["Other engineers run jobs on this machine concurrently: a load average above the "
              "core count means the benchmark shared the CPU, and every rate below is lower "
              "than on an idle machine.", ""]
    lines += ["## Targets", ""]
    lines += markdown_table(["target", "measured", "result", "why / by how much"], targets(res))
    return lines


def threads(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    lines += ["## OpenMP threads, idle and shared", "",
              f"The scoring workload (default model, {res['threads'][0]['rows']:,} "
              "rows, after a warm-up pass) and 200 fp32 training steps of the default model "
              "(after 20 untimed) in fresh processes. libgomp's default spins "
              "~300,000 iterations and then sleeps at every parallel region's barrier; when "
              "other jobs keep the cores busy, each barrier waits for a descheduled thread. "
              "`OMP_WAIT_POLICY=PASSIVE` threads sleep at once, slow to wake for the next "
              "small kernel when the cores are idle. `GOMP_SPINCOUNT=1000` spins briefly: "
              "what `import mmctr` sets unless the shell set a policy or a spin count, and "
              "so does this benchmark unless `--omp-default`. Which wins depends on the load "
              "(see the load column); OpenMP reads the variables once, when torch loads.", ""]
    base = {t["busy"]: t for t in reversed(res["threads"])}  # the first row per load
    lines += markdown_table(["setting", "busy processes started", "threads", "scoring rows/s",
                     "vs defaults", "training samples/s", "vs defaults", "load avg"],
                    [[t["label"], t["busy"], t["threads"], f"{t['rows_per_s']:,.0f}",
                      f"{t['rows_per_s'] / base[t['busy']]['rows_per_s']:.2f}x",
                      f"{t['train_samples_per_s']:,.0f}",
                      f"{t['train_samples_per_s'] / base[t['busy']]['train_samples_per_s']:.2f}x",
                      t["load"]]
                     for t in res["threads"]])
    return lines


def peak(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    lines += ["## Matmul peak", "",
              "Square matmuls, best of the repetitions after a warm-up. `nn` = A @ B, "
              "`nt` = A @ Bᵀ (a Linear's forward), `tn` = Aᵀ @ B (its weight gradient); "
              "the `nn` layout is also its input gradient. The peak of a dtype is its "
              "best square row; the seed cross-layer rows (its forward, input and weight "
              "gradients at batch 128, a fresh output each call as in training) show what "
              "that skinny shape reaches. Rows marked 'glibc's default allocator' repeat "
              "them in a child process without `keep_freed_memory`: there every fresh "
              "output of 165-330 MB comes from new pages that the kernel faults in, which "
              "is what made the weight-gradient layout look slow.", ""]
    lines += markdown_table(["dtype", "layout", "n", "reps", "GFLOP/s"],
                    [[d, lay, n, r, f"{g:.2f}"] for d, lay, n, r, g in res["peak"]["rows"]])
    lines += [f"Peak: fp32 **{res['peak']['fp32']:.1f}** GFLOP/s, bf16 **{res['peak']['bf16']:.1f}** "
              "GFLOP/s.", ""]
    return lines


def attention(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    a = res["attention"]
    lines += ["## Attention kernel", "",
              "The Transformer layers call attention with `need_weights=False`, so it runs "
              "as `scaled_dot_product_attention`; the kernel it picks (profiler, seed "
              "layer with dropout 0.2):", ""]
    lines += markdown_table(["mode", "kernel"], [["training", a["train"]], ["eval / scoring", a["eval"]]])
    lines += ["On the CPU the fused (flash) kernel has no dropout, so training with "
              "attention dropout falls back to the exact math path; CUDA's fused kernels "
              "take dropout.", ""]
    return lines


def _train_table(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    peak = res.get("peak")
    rows = []
    for r in res["train"]:
        rows.append([r["label"], r["precision"], f"{r['params']:,}", r["batch_size"], r["steps"],
                     f"{np.mean(r['widths']):.0f} ({min(r['widths'])}–{max(r['widths'])})",
                     f"{r['token_width']:.1f}",
                     f"{r['step_s']:.3f}", rate(r["samples_per_s"]), rate(r["consume_per_s"]),
                     f"{r['gflop_per_step']:.2f}", f"{r['gflops']:.1f}",
                     pct(r["gflops"] / peak["fp32"]) if peak else "–",
                     pct(r["gflops"] / peak["bf16"]) if peak else "–", r["load"]])
    lines += ["## Training throughput", "",
              "One step = `mmctr.engine.trainer.train_step` (forward, BCE, backward, clip, fused "
              "Adam) on a batch from `BatchAssembler` cut to the model's `history_width`, after "
              "warm-up step(s). Precision: `fp32`; `bf16, fp32 masters` = what the trainer "
              "runs with bf16 on (Linear weights kept in bf16, fp32 masters in the optimizer, "
              "refreshed after each step); `bf16 autocast` = plain autocast over fp32 weights "
              "(re-cast every step), for comparison. 'batch width': the batch's cut; "
              "'Transformer tokens/row': positions the encoder ran per row after length "
              "buckets. samples/s counts assembly + step; 'model samples/s' the step alone. "
              "FLOPs: forward + backward matmuls/attention (`FlopCounterMode`) at the executed "
              "shapes, counted on a meta-device twin that replays the step's buckets (no "
              "counting overhead in the timed step); achieved GFLOP/s as a fraction of both "
              "peaks measured above.", ""]
    lines += markdown_table(["config", "precision", "parameters", "batch", "timed steps",
                     "batch width mean (min–max)", "Transformer tokens/row",
                     "s/step", "samples/s", "model samples/s", "GFLOP/step", "GFLOP/s",
                     "% of fp32 peak", "% of bf16 peak", "load avg"], rows)
    return lines


def _train_notes(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    checks = [f"{r['label']}: real step {c[0] / 1e9:.2f} GFLOP, meta count {c[1] / 1e9:.2f} GFLOP"
              for r in res["train"] if (c := r["flop_check"])]
    if checks:
        lines += ["FLOP count check on the warm-up step (counted over the real step vs "
                  "from its shapes on the meta device): " + "; ".join(checks) + ".", ""]
    notes = [f"{r['label']}: {r['note']}." for r in res["train"] if r.get("note")]
    notes += [f"{r['label']}, one profiled step ({b['wall_s'] * 1e3:.1f} ms): matmuls "
              f"{b['matmul_s'] * 1e3:.1f} ms ({b['gflops']:.1f} GFLOP/s), optimizer (fused Adam"
              f"{', master copies' if r['precision'].endswith('masters') else ''}, zero_grad) "
              f"{b['optimizer_s'] * 1e3:.1f} ms, everything else {b['other_s'] * 1e3:.1f} ms."
              for r in res["train"] if (b := r.get("breakdown"))]
    lines += [*notes, ""] if notes else []
    return lines


def _cross_net(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    by = {r["label"]: r for r in res["train"]}
    if "seed fp32" in by and "seed fp32, cross_net: mix" in by:
        full, mix = by["seed fp32"], by["seed fp32, cross_net: mix"]
        lines += ["### Cross network: full (CrossNetV2) vs `cross_net: mix` (seed, same batches)", ""]
        lines += markdown_table(
            ["", "cross net MFLOP/sample", "step MFLOP/sample", "parameters", "samples/s"],
            [[lab, f"{r['cross_flops_per_sample'] / 1e6:.1f}", f"{r['flops_per_sample'] / 1e6:.0f}",
              f"{r['params']:,}", f"{r['samples_per_s']:,.1f}"] for lab, r in (("full", full), ("mix", mix))]
            + [["ratio", f"{full['cross_flops_per_sample'] / max(mix['cross_flops_per_sample'], 1):.1f}x",
                f"{full['flops_per_sample'] / mix['flops_per_sample']:.2f}x",
                f"{full['params'] / mix['params']:.2f}x",
                f"{mix['samples_per_s'] / full['samples_per_s']:.2f}x"]])
    return lines


def train(res: dict[str, Any]) -> list[str]:
    return [*_train_table(res), *_train_notes(res), *_cross_net(res)]


def epoch(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    e = res["epoch"]
    lines += ["## The default model at real scale", "",
              f"One epoch of the default training configuration (`kedro run`'s model, "
              f"{e['params']:,} parameters, batch {e['batch_size']}, `bf16: auto` → "
              f"{e['precision']}) over {e['rows']:,} rows, exactly as the trainer steps "
              "(assembly + `train_step`, no validation).", ""]
    lines += markdown_table(["rows", "steps", "precision", "minutes", "samples/s", "load avg"],
                    [[f"{e['rows']:,}", f"{e['steps']:,}", e["precision"],
                      f"{e['seconds'] / 60:.2f}", f"{e['samples_per_s']:,.0f}", e["load"]]])
    return lines


def data(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    lines += ["## Data path alone", "",
              "`BatchAssembler` on a real-scale split (rows x width 100 int32; item table "
              "91,718 rows with 5 tags and 128-d float32 embeddings), shuffled epoch order, "
              "histories cut per batch as in training.", ""]
    lines += markdown_table(["preset", "rows", "batch", "item columns", "setup s", "batches timed",
                     "mean width", "batches/s", "samples/s", "load avg"],
                    [[d["preset"], f"{d['rows']:,}", d["batch_size"], d["features"],
                      f"{d['setup_s']:.2f}", d["batches"], f"{d['mean_width']:.1f}",
                      f"{d['batches_per_s']:,.0f}", f"{d['samples_per_s']:,.0f}", d["load"]]
                     for d in res["data"]])
    return lines


def pipelines(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    p = res["pipelines"]
    lines += ["## feature_engineering + item_embedding + semantic_similarity", "",
              f"`kedro run --pipelines {DATA_STAGES}` on the "
              f"`{p['preset']}` synthetic preset in a temporary copy of the project (the "
              f"synthetic run before it took {p['synthetic_s']:.0f}s and is not counted; the "
              "runs inherit this process's environment, OpenMP setting included). Peak "
              "memory = the kedro process's maximum RSS (`wait4`); the node at the peak from "
              "RSS sampled every 0.25 s.", ""]
    arrow = os.environ.get("ARROW_DEFAULT_MEMORY_POOL", "unset (pyarrow's default)")
    runs = [(f"as configured (ARROW_DEFAULT_MEMORY_POOL {arrow})", p)]
    if p.get("arrow_mimalloc"):
        runs.append(("ARROW_DEFAULT_MEMORY_POOL=mimalloc (pyarrow's default)", p["arrow_mimalloc"]))
    lines += markdown_table(["run", "wall time", "peak RSS", "node at the peak", "nodes", "load avg"],
                    [[lab, f"{r['wall_s']:.0f}s ({r['wall_s'] / 60:.2f} min)", f"{r['peak_gb']:.2f} GB",
                      r["peak_node"], len(r["nodes"]), r["load"]] for lab, r in runs])
    if p.get("arrow_mimalloc"):
        lines += ["The second run repeats the first on pyarrow's own default pool "
                  "(mimalloc), which keeps memory it has freed (the raw parquet tables) in "
                  "the process; `import mmctr` sets `ARROW_DEFAULT_MEMORY_POOL` to jemalloc "
                  "on Linux unless it is set. The targets table uses the first run.", ""]
    return lines


def scoring(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    s = res["scoring"]
    lines += ["## Test-set scoring", "",
              "`mmctr.engine.trainer.predict` with the default model over a `BatchAssembler` "
              "(item table build included), batch size from `parameters_submission.yml`.", ""]
    lines += markdown_table(["rows", "batch", "seconds", "rows/s", "load avg"],
                    [[f"{s['rows']:,}", s["batch_size"], f"{s['seconds']:.1f}",
                      f"{s['rows_per_s']:,.0f}", s["load"]]])
    return lines


EXACT_SPEEDUPS = [
    "## Exact speed-ups in the default configuration", "",
    "- History cut per batch: `BatchAssembler` cuts every batch to "
    "`model.history_width(longest, width)` (tests: logits equal to the uncut model "
    "within 1e-5, both mask modes).",
    "- Length buckets (CPU): inside a batch, rows are grouped by the columns they "
    "need (`first_k_cols * 2**b`) and the Transformer runs each group at its own width "
    "(tests: logits and gradients equal to the whole batch within 1e-5, both mask "
    "modes); see 'Transformer tokens/row' above.",
    "- Attention as one `scaled_dot_product_attention` call on views of the packed "
    "QKV projection, without `nn.MultiheadAttention`'s layout copies (test: equal to "
    "`nn.TransformerEncoder` within 1e-5; kernel table above).",
    "- Vectorised batch assembly: `index_select` gathers on columns narrowed to the "
    "cut width, no per-row Python.",
    "- On CUDA: pinned host tensors and non-blocking copies; the item table lives on "
    "the device.",
    "- No host-device synchronisation in `train_step`: the loss is summed on the "
    "device and read only at progress-bar updates (`log_every`) and epoch end.",
    "- Fused Adam (`make_optimizer`): one multi-tensor kernel instead of a loop over "
    "parameters (same update rule).",
    "- bf16 with fp32 master weights (`training.bf16: auto`, on where the hardware "
    "multiplies bf16): the Linear weights live in bf16, so no step re-casts them; "
    "the optimizer updates fp32 masters and refreshes the copies in one pass (test: "
    "the same weights as plain autocast, and within tolerance of fp32).",
    "- Freed memory kept for reuse on CPU (`training.keep_freed_memory`): glibc would "
    "return every large freed block (a weight gradient, a cast weight) to the kernel "
    "and page-fault it back on the next step.",
    "",
]


#: the sections' renderers in the report's order, by the results key they read
SECTIONS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "threads": threads, "peak": peak, "attention": attention, "train": train, "epoch": epoch,
    "data": data, "pipelines": pipelines, "scoring": scoring}


def render(res: dict[str, Any], argv: Sequence[str]) -> str:
    """The markdown report of ``res`` (a run started with ``argv``)."""
    lines = header(res, argv)
    for key, section in SECTIONS.items():
        if key in res:
            lines += section(res)
    return "\n".join(lines + EXACT_SPEEDUPS)
