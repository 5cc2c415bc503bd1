"""Training engine: plain PyTorch and numpy, no Kedro (usable from a notebook)."""
