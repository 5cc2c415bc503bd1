"""mmctr's benchmarks: scripts run by hand, never by the test suite.

- :mod:`benchmarks.speed`: speed and memory (``python -m benchmarks.speed``), one module per
  measured section, the report apart (writes ``benchmarks/results.md``).
- :mod:`benchmarks.accuracy`: the default model against the tree baseline and the oracle on
  several synthetic worlds, through ``kedro run`` (writes ``benchmarks/accuracy.md``).
- :mod:`benchmarks.item_embedding`: wall time and peak memory of each item-embedding recipe.
- :mod:`benchmarks.common`: what they share (the machine, clocks, peak memory, project
  copies, markdown tables).
"""
