"""mmctr speed and memory benchmark: everything measured in one run.

    python -m benchmarks.speed            # full run (~8-15 min on 2 cores), writes results.md
    python -m benchmarks.speed --quick    # smoke run (~2-3 min), prints only
    python -m benchmarks.speed --sections peak,train   # some sections (prints only)
    python -m benchmarks.speed --device cpu   # the CPU on a machine with a GPU (default: auto)

One module per section; :mod:`.report` and :mod:`.targets` turn their results into
``benchmarks/results.md``; :mod:`.__main__` runs them.

- ``threads`` (:mod:`.threads`): the scoring workload in fresh processes under OpenMP's
  defaults, ``OMP_WAIT_POLICY=PASSIVE``, a short spin ``GOMP_SPINCOUNT=1000`` (what ``import
  mmctr`` and this benchmark set, unless ``--omp-default`` or the shell chose) and one thread.
- ``peak`` (:mod:`.peak`): fp32 and bf16 GFLOP/s of large square matmuls (best of several;
  bf16 in the three operand layouts a Linear layer's forward/backward use).
- ``attention`` (:mod:`.attention`): which scaled-dot-product-attention kernel the
  Transformer layer runs in training and in eval (profiler).
- ``train`` (:mod:`.training`): samples/s and achieved GFLOP/s of ``transformer_dcn`` at the
  ``seed`` training preset (fp32, bf16 autocast, and ``cross_net: mix``) and at the
  ``default`` preset (fp32, bf16), on batches cut by the model's ``history_width`` exactly as
  training does. Each step is :func:`mmctr.engine.trainer.train_step`, the trainer's own
  step. FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` over forward +
  backward at the executed shapes: on a meta-device twin that replays each timed step's
  history-length buckets (so counting adds nothing to the timed step), checked against a
  count over a real step.
- ``epoch`` (:mod:`.epoch`): one epoch of the default model at real scale.
- ``data`` (:mod:`.data_path`): the data path alone: ``BatchAssembler`` on a real-scale split
  (3,600,000 rows x width 100, 91,718-item table), and its ratio to the default model's
  consumption rate.
- ``pipelines`` (:mod:`.pipelines`): wall time and peak RSS of ``kedro run --pipelines
  feature_engineering,item_embedding,semantic_similarity`` on the ``full`` synthetic preset,
  in a temporary copy of the project (removed afterwards); then the same run on pyarrow's own
  default pool, ``ARROW_DEFAULT_MEMORY_POOL=mimalloc`` (``import mmctr`` picks jemalloc on
  Linux: mimalloc keeps the memory of freed tables).
- ``scoring`` (:mod:`.scoring`): :func:`mmctr.engine.trainer.predict` of the default model
  over the 379,142-row test-set size.

Data for ``train``/``epoch``/``data``/``scoring`` is generated here (:mod:`.arrays`) with the
real vocabulary sizes and real-like history lengths (log-normal, median 6, mean 8, clipped to
0..100, as the synthetic generator); item ids are uniform (the worst case for the gathers'
caches). Public tools only: torch, numpy, PyYAML, kedro (the project's own dependencies).
"""

import os
import sys

# OpenMP reads its wait policy and spin count once, when torch loads it. libgomp's
# default (a long spin, then sleep) stalls every parallel region on a shared machine whose
# other jobs keep the cores busy; PASSIVE threads sleep at once, which slows small kernels
# on an idle machine; `import mmctr` sets a short spin (GOMP_SPINCOUNT=1000) unless the
# shell chose, and so does this benchmark unless --omp-default. The ``threads`` section
# measures each setting in fresh processes.
OMP_ENV = {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
if "--omp-default" not in sys.argv and "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "1000")

import torch  # noqa: E402, F401  (loads OpenMP with the setting above)

OMP_AT_TORCH = {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}  # what OpenMP read
