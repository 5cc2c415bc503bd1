"""The training library: resolve ``params:training``, build the model, fit it.

Plain functions below the stages: the ``training`` stage, ``tuning``, ``ablation``, the
tracking hook and the benchmarks all train through :func:`fit` and read the configuration
through :func:`resolve_training`, so no stage imports another.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from mmctr.config import deep_merge, from_params
from mmctr.engine.trainer import EpochCallback, TrainConfig, train_model
from mmctr.models import build_model, count_parameters

logger = logging.getLogger(__name__)

__all__ = ["fit", "model_vocab", "resolve_training", "trainable_parameters"]


def resolve_training(params: Mapping[str, Any]) -> tuple[str, dict[str, Any], TrainConfig]:
    """Split ``params:training`` into (model name, model params, TrainConfig).

    ``presets[preset]`` gives the model and the optimisation settings; any key also
    set at the top level of ``training`` overrides the preset (``model`` key by key),
    so ``--params training.batch_size=64`` or ``training.model.seed_mask=true`` win.

    Args:
        params: the ``training`` parameter block.

    Returns:
        The model's registry name, its parameters, and the training configuration.
    """
    params = dict(params)
    preset = params.pop("preset", "default")
    presets = params.pop("presets", {})
    if preset not in presets:
        raise ValueError(f"params:training: unknown preset '{preset}'; known: {sorted(presets)}")
    merged = deep_merge(presets[preset], params)
    model_params = dict(merged.pop("model", {}))
    name = model_params.pop("name", "transformer_dcn")
    return name, model_params, from_params(TrainConfig, merged, "params:training")


def model_vocab(
    vocab: Mapping[str, int],
    item_semantics: Mapping[str, np.ndarray] | None,
    train_similarity: Mapping[str, np.ndarray] | None = None,
    item_features: Mapping[str, np.ndarray] | None = None,
) -> dict[str, int]:
    """The feature vocabulary plus the sizes of the semantic item columns, the width of
    the per-row statistics (``row_stats``, ``collab_stats``) when the similarity stage made
    them, and
    ``emb_dim`` from the item table the model reads (``item_emb``'s width: the
    item_embedding recipe may change it) when ``item_features`` is given."""
    out = dict(vocab)
    for key in ("row_stats", "collab_stats"):
        if train_similarity is not None and key in train_similarity:
            out[key] = int(np.asarray(train_similarity[key]).shape[1])
    if item_features is not None:
        out["emb_dim"] = int(np.asarray(item_features["item_emb"]).shape[1])
    if item_semantics is not None:
        codes = np.asarray(item_semantics["rq_codes"])
        out["rq_layers"] = int(codes.shape[1])
        out["rq_codes"] = int(codes.max())
        out["num_neighbors"] = int(np.asarray(item_semantics["neighbors"]).shape[1])
        if "collab" in item_semantics:
            out["collab_dim"] = int(np.asarray(item_semantics["collab"]).shape[1])
    return out


def fit(
    name: str,
    model_params: dict[str, Any],
    cfg: TrainConfig,
    train_rows: Mapping[str, np.ndarray],
    valid_rows: Mapping[str, np.ndarray],
    item_sources: Mapping[str, Mapping[str, np.ndarray] | None],
    vocab: dict[str, int],
    on_epoch_end: EpochCallback | None = None,
) -> dict[str, Any]:
    """Build ``name`` with ``model_params``, train it, return the model artifact.

    The artifact holds the best weights and everything needed to rebuild the model
    (``mmctr.models.load_model``): name, parameters, vocabulary, training config,
    history, best epoch and metric, trainable parameter count and training time.
    ``on_epoch_end`` is handed to :func:`mmctr.engine.trainer.train_model`.
    """
    torch.manual_seed(cfg.seed)
    model = build_model(name, model_params, vocab)
    model.prepare(train_rows)
    n_params = count_parameters(model)
    logger.info("training %s (%s trainable parameters) with %s", name, f"{n_params:,}", cfg)
    start = time.perf_counter()
    result = train_model(cfg, model, train_rows, valid_rows, item_sources,
                         run_info={"model_name": name, "model_params": model_params, "vocab": vocab},
                         on_epoch_end=on_epoch_end)
    return {
        "model_name": name,
        "model_params": dict(model_params),
        "vocab": dict(vocab),
        "state_dict": result.state_dict,
        "train_config": asdict(cfg),
        "history": result.history,
        "best_epoch": result.best_epoch,
        "best_metric": {"valid_auc": result.best_auc},
        "trainable_parameters": n_params,
        "train_seconds": time.perf_counter() - start,
    }


def trainable_parameters(artifact: Mapping[str, Any]) -> int:
    """Trainable parameters of the saved model.

    The model is rebuilt on the ``meta`` device (no memory, no weights) and its
    ``requires_grad`` parameters counted; if that fails, the floating-point tensors
    of the state dict are summed (which also counts float buffers, if any).
    """
    try:
        with torch.device("meta"):
            model = build_model(artifact["model_name"], artifact["model_params"], artifact["vocab"])
        return int(count_parameters(model))
    except Exception as err:  # noqa: BLE001 - a fallback count is better than none
        logger.warning("could not rebuild the model to count parameters (%s); "
                       "counting state_dict tensors instead", err)
        return int(sum(t.numel() for t in artifact["state_dict"].values()
                       if torch.is_floating_point(t)))
