"""mmctr
"""

__version__ = "0.1"

import os as _os
import sys as _sys

# libgomp's default (spinning) wait policy stalls every parallel region when other
# processes share the cores: 4.2x slower scoring measured on a shared 2-core machine
# (benchmarks/results.md). Must be set before torch is imported; override it in the shell.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


# pyarrow's default pool (mimalloc) keeps the memory of freed tables: after feature
# engineering has read the raw parquet files, `kedro run --pipelines
# feature_engineering,semantic_similarity` on the full preset peaked at 7.46 GB (1 min 56 s)
# with it, 5.93 GB (2 min 05 s) with the system allocator and 5.74 GB (1 min 50 s) with
# jemalloc, which Linux wheels of pyarrow carry. Read when pyarrow first allocates;
# override it in the shell.
_os.environ.setdefault(
    "ARROW_DEFAULT_MEMORY_POOL", "jemalloc" if _sys.platform == "linux" else "system"
)
