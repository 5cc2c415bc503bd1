"""Kept for old command lines: ``python benchmarks/benchmark.py ARGS`` runs
``python -m benchmarks.speed ARGS`` (the speed benchmark, a package since)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.speed.__main__ import main

if __name__ == "__main__":
    main()
