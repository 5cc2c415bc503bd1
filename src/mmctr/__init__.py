"""mmctr
"""

__version__ = "0.1"

import os as _os
import sys as _sys

# OpenMP threads between parallel regions: libgomp's default spins ~300,000 iterations,
# which stalls every region when other processes share the cores; PASSIVE (sleep at once)
# halves the training throughput of small models on an idle machine, whose kernels follow
# each other within microseconds. A short spin keeps most of both: on 2 idle cores the
# default model trained at ~75k samples/s with it against 43k under PASSIVE, and with two
# busy processes sharing the cores all three settings trained alike (22-32k); see the
# `threads` table of benchmarks/results.md for scoring. Read when torch loads OpenMP: set
# before torch is imported, unless the shell chose a policy or a spin count.
if "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ.setdefault("GOMP_SPINCOUNT", "1000")


# pyarrow's default pool (mimalloc) keeps the memory of freed tables: after feature
# engineering has read the raw parquet files, `kedro run --pipelines
# feature_engineering,semantic_similarity` on the full preset peaked at 7.46 GB (1 min 56 s)
# with it, 5.93 GB (2 min 05 s) with the system allocator and 5.74 GB (1 min 50 s) with
# jemalloc, which Linux wheels of pyarrow carry. Read when pyarrow first allocates;
# override it in the shell.
_os.environ.setdefault(
    "ARROW_DEFAULT_MEMORY_POOL", "jemalloc" if _sys.platform == "linux" else "system"
)
