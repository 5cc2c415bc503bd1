"""Export nodes: the bundle's network as ``model.onnx``, checked with onnxruntime.

The graph's inputs are the model's batch tensors (docs/SERVING.md); the per-row
statistics stay outside it, computed by the project's own code. The node traces the
network on rows drawn from the bundle's item table, runs the exported graph with
onnxruntime on the same rows, at the full batch and one row at a time, and refuses to
write a model whose probabilities differ from PyTorch's by more than ``tolerance``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from mmctr.datasets.serving import BundleVersions
from mmctr.serving.onnx_export import (
    OnnxExportError,
    example_rows,
    export_onnx,
    onnx_inputs,
    run_onnx,
)
from mmctr.serving.scorer import BundleScorer

from .config import export_config

__all__ = ["export_model"]

logger = logging.getLogger(__name__)


def export_model(
    model_bundle: BundleVersions, params: dict[str, Any]
) -> tuple[bytes, dict[str, Any]]:
    """Export the chosen bundle version's network to ONNX and check it.

    Args:
        model_bundle: the saved bundle versions.
        params: the ``export`` parameter block.

    Returns:
        ``model_onnx`` (the serialised graph) and ``onnx_export_report`` (inputs, shapes,
        the largest difference to PyTorch over the check rows, the bundle version).

    Raises:
        OnnxExportError: a model the exporter cannot express, or scores that differ.
    """
    cfg = export_config(params)
    version, bundle = model_bundle.load(cfg.version)
    scorer = BundleScorer(bundle, device="cpu")
    rows = example_rows(scorer, cfg.check_rows, cfg.seed)
    model = export_onnx(scorer, rows, cfg.opset)
    inputs = onnx_inputs(scorer, rows)
    expected = scorer.score_rows(rows)
    batch_diff = float(np.abs(run_onnx(model, inputs) - expected).max())
    single = run_onnx(model, {k: v[:1] for k, v in inputs.items()})
    diff = max(batch_diff, float(np.abs(single - expected[:1]).max()))
    if not diff <= cfg.tolerance:
        raise OnnxExportError(f"the ONNX model's probabilities differ from PyTorch's by "
                              f"{diff:.3g} (> params:export.tolerance {cfg.tolerance:g})")
    logger.info("ONNX export of %s (bundle %s): %d inputs, max |onnx - torch| %.2g",
                bundle.meta["model_name"], version or "-", len(inputs), diff)
    report = {
        "bundle_version": version,
        "model_name": bundle.meta["model_name"],
        "opset": cfg.opset,
        "inputs": {k: {"dtype": str(v.dtype), "shape": ["batch", *v.shape[1:]]}
                   for k, v in inputs.items()},
        "output": {"prob": {"dtype": "float32", "shape": ["batch"]}},
        "check_rows": cfg.check_rows,
        "max_abs_diff": diff,
    }
    return model, report
