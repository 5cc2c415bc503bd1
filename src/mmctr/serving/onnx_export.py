"""The network of a bundle as an ONNX model whose inputs are the model's batch tensors.

The graph holds the network only: its inputs are the batch of ARCHITECTURE.md §4 at the
bundle's full history width (``item_seq`` (B, max_len), ``item_id`` (B,), the gathered
item columns, ``sim_stats``/``row_stats``/``collab_stats``), its output the click probability (B,). The
per-row statistics are computed outside it by the project's own code
(:meth:`BundleScorer.assembler <mmctr.serving.scorer.BundleScorer.assembler>`,
:func:`onnx_inputs`), as in training. The batch dimension is dynamic.

Needs the ``serving`` extra (``onnx``, ``onnxscript``, ``onnxruntime``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from mmctr.engine.batching import BatchAssembler, merge_rows
from mmctr.errors import MmctrError
from mmctr.serving.scorer import BundleScorer

__all__ = [
    "OnnxExportError",
    "example_rows",
    "export_onnx",
    "onnx_inputs",
    "run_onnx",
]

OUTPUT = "prob"


class OnnxExportError(MmctrError, RuntimeError):
    """The model cannot be exported, or its ONNX scores differ from PyTorch's."""


class _Probabilities(nn.Module):
    """``model(batch)`` with the batch as positional tensors, sigmoid applied: (B,)."""

    def __init__(self, model: nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model, self.names = model, names

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(dict(zip(self.names, tensors, strict=True))).float())


def example_rows(scorer: BundleScorer, rows: int, seed: int) -> dict[str, np.ndarray]:
    """Checked rows drawn from the bundle's item table (every history length 0..max_len).

    Args:
        scorer: the loaded bundle.
        rows: how many.
        seed: seeds the draw.
    """
    spec, rng = scorer.spec, np.random.default_rng(seed)
    lengths = np.arange(rows) % (spec.max_len + 1)
    seq = rng.integers(1, spec.num_items, size=(rows, spec.max_len)).astype(np.int32)
    seq[np.arange(spec.max_len)[None, :] < (spec.max_len - lengths)[:, None]] = 0
    return {
        "item_seq": seq,
        "item_id": rng.integers(1, spec.num_items, size=rows).astype(np.int32),
        "likes_level": rng.integers(0, spec.likes, size=rows).astype(np.int32),
        "views_level": rng.integers(0, spec.views, size=rows).astype(np.int32),
        "user_id": rng.integers(0, 1 << 20, size=rows).astype(np.int64),
    }


def _batch(scorer: BundleScorer, rows: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """The full-width batch of every row (no per-batch history cut: ONNX shapes are fixed)."""
    merged = merge_rows(rows, scorer.similarity(rows))
    assembler = BatchAssembler(merged, scorer.items, scorer.model.row_features, None,
                               torch.device("cpu"))
    return assembler(torch.arange(len(assembler)))


def onnx_inputs(scorer: BundleScorer, rows: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The ONNX model's inputs for checked rows (``scorer.features(frame)``)."""
    return {k: v.numpy() for k, v in _batch(scorer, rows).items()}


def export_onnx(scorer: BundleScorer, example: Mapping[str, np.ndarray],
                opset: int = 18) -> bytes:
    """The bundle's network as a serialised ONNX model (dynamic batch).

    Args:
        scorer: the loaded bundle (on the CPU).
        example: checked rows to trace with (at least 2: a batch of 1 would be fixed).
        opset: the ONNX opset.

    Raises:
        OnnxExportError: when the exporter cannot express the model.
    """
    _require("onnxscript")
    batch = _batch(scorer, example)
    names = tuple(batch)
    wrapper = _Probabilities(scorer.model.cpu(), names).eval()
    dim = torch.export.Dim("batch", min=1)
    shapes = (tuple({0: dim} for _ in names),)  # one entry: the *tensors tuple
    try:
        program = torch.onnx.export(wrapper, tuple(batch[n] for n in names), dynamo=True,
                                    input_names=list(names), output_names=[OUTPUT],
                                    dynamic_shapes=shapes, opset_version=opset,
                                    external_data=False, verbose=False)
    except Exception as exc:  # noqa: BLE001 - the exporter raises many types; all mean "cannot export"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise OnnxExportError(f"{scorer.bundle.meta['model_name']} cannot be exported to "
                              f"ONNX ({type(exc).__name__}: {first}); see docs/SERVING.md "
                              "for the configurations that export") from None
    return program.model_proto.SerializeToString()


def _require(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise OnnxExportError(f"the ONNX export needs '{module}': install the serving extra "
                              "(pip install -e \".[serving]\")")


def run_onnx(model: bytes | Any, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """Probabilities (float32, row order) from onnxruntime on the CPU.

    Args:
        model: serialised ONNX bytes, or an ``onnxruntime.InferenceSession``.
        inputs: :func:`onnx_inputs` (inputs the graph does not read are dropped).
    """
    _require("onnxruntime")
    import onnxruntime as ort

    session = model if isinstance(model, ort.InferenceSession) else ort.InferenceSession(
        bytes(model), providers=["CPUExecutionProvider"])
    feed = {i.name: inputs[i.name] for i in session.get_inputs()}
    return np.asarray(session.run([OUTPUT], feed)[0], dtype=np.float32)
