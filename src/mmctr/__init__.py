"""mmctr
"""

__version__ = "0.1"

import os as _os

# libgomp's default (spinning) wait policy stalls every parallel region when other
# processes share the cores: 4.2x slower scoring measured on a shared 2-core machine
# (benchmarks/results.md). Must be set before torch is imported; override it in the shell.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

