"""The model bundle: everything scoring needs, in one file of tensors and JSON.

A training run writes the bundle beside ``model.pt``: the weights, the model's name,
parameters and vocabulary, the item table (tags, embeddings, semantic columns), the
per-item train statistics that ``row_stats`` reads (popularity), the collaborative
stage's tables when the model reads them (``collab_stats``: factors, coverage and
links; ``history_ids`` from factors: the unit factors as the item column ``collab``), and
the settings of the feature code (history width, similarity threshold). Scoring a request
then needs no train, valid or raw file.

The file is ``torch.save`` of a dict of tensors and strings, read back with
``torch.load(weights_only=True)``: no object is unpickled, so a bundle from elsewhere
cannot run code. A SHA-256 digest of every tensor is stored in it and checked on load, so
a truncated or corrupted file gives one :class:`BundleError` line instead of wrong scores.
No Kedro here: the pipelines, the MLflow model and the ONNX export all use this module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from collections.abc import Mapping
from typing import IO, Any

import numpy as np
import torch

from mmctr.errors import MmctrError
from mmctr.models import load_model

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "BundleError",
    "ModelBundle",
    "load_bundle",
    "make_bundle",
    "read_bundle",
    "save_bundle",
]

BUNDLE_FORMAT = "mmctr-model-bundle"
BUNDLE_VERSION = 1
#: item-source arrays kept in the bundle: (source dataset, key), as in engine.batching
_ITEM_ARRAYS = (
    ("item_features", "item_tags"),
    ("item_features", "item_emb"),
    ("item_semantics", "rq_codes"),
    ("item_semantics", "neighbors"),
    ("item_semantics", "collab"),
)
#: item columns kept only when the model reads them (large: V x factor width)
_IF_READ = ("collab",)
#: the collaborative stage's arrays that ``collab_stats`` reads (mmctr.data.kernels)
_COLLAB_ARRAYS = ("factors", "has_factor", "link_ids", "link_pmi")
_RETRAIN = "copy the bundle again or retrain (kedro run --pipelines training)"


class BundleError(MmctrError, ValueError):
    """A model bundle cannot be read: missing, truncated, corrupted or of another format."""


@dataclasses.dataclass(frozen=True)
class ModelBundle:
    """A trained model and everything its features need.

    Attributes:
        meta: plain JSON data: ``model_name``, ``model_params``, ``vocab`` (the model's),
            ``features`` (``max_len``, ``max_history``, ``threshold``), ``training``
            (best epoch and metric), ``format``/``version``.
        state_dict: the model's weights and buffers (fp32, CPU).
        item_sources: ``{"item_features": {...}, "item_semantics": {...}}`` as the
            engine's batching reads them (row i = item i, row 0 padding).
        popularity: float32 (V, 2) train counts per item: as a target, inside histories.
        collab: the collaborative stage's ``factors``, ``has_factor``, ``link_ids`` and
            ``link_pmi`` (row i = item i) when the model reads ``collab_stats``; else empty.
    """

    meta: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    item_sources: dict[str, dict[str, np.ndarray]]
    popularity: np.ndarray
    collab: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    @property
    def artifact(self) -> dict[str, Any]:
        """The ``model`` artifact form that :func:`mmctr.models.load_model` rebuilds."""
        return {
            "model_name": self.meta["model_name"],
            "model_params": self.meta["model_params"],
            "vocab": self.meta["vocab"],
            "state_dict": self.state_dict,
        }

    @property
    def num_items(self) -> int:
        """Item table rows V (padding row 0 included)."""
        return int(len(self.item_sources["item_features"]["item_tags"]))


def make_bundle(
    artifact: Mapping[str, Any],
    item_features: Mapping[str, np.ndarray],
    item_semantics: Mapping[str, np.ndarray] | None,
    item_popularity: Mapping[str, np.ndarray],
    threshold: float,
    max_history: int,
    item_collab: Mapping[str, np.ndarray] | None = None,
) -> ModelBundle:
    """Gather a trained model and its scoring inputs into a bundle.

    Args:
        artifact: the ``model`` artifact (``mmctr.engine.fit.fit``).
        item_features: the item table the model trained on (``item_tags``, ``item_emb``).
        item_semantics: ``rq_codes`` and ``neighbors`` per item, or ``None``.
        item_popularity: ``target_count`` and ``history_count`` per item (train only).
        threshold: the similarity threshold of ``sim_stats`` (``semantic_similarity``).
        max_history: the widest history a request may carry (the data contract's width).
        item_collab: the collaborative stage's tables, or ``None``; kept when the model
            reads ``collab_stats``.

    Raises:
        BundleError: when the model reads ``collab_stats`` and ``item_collab`` is None.
    """
    model = load_model(artifact)
    sources = {"item_features": item_features, "item_semantics": item_semantics or {}}
    items: dict[str, dict[str, np.ndarray]] = {"item_features": {}, "item_semantics": {}}
    for source, key in _ITEM_ARRAYS:
        if key in sources[source] and (key not in _IF_READ or key in model.item_features):
            items[source][key] = np.ascontiguousarray(sources[source][key])
    collab = _collab_tables(model.row_features, item_collab)
    popularity = np.stack(
        [item_popularity["target_count"], item_popularity["history_count"]], axis=1
    ).astype(np.float32)
    vocab = dict(artifact["vocab"])
    meta = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "model_name": artifact["model_name"],
        "model_params": _plain(artifact["model_params"]),
        "vocab": _plain(vocab),
        "features": {
            "max_len": int(vocab["max_len"]),
            "max_history": int(max_history),
            "threshold": float(threshold),
        },
        "training": _plain({k: artifact[k] for k in ("best_epoch", "best_metric")
                            if k in artifact}),
    }
    state = {k: v.detach().to("cpu", torch.float32 if v.is_floating_point() else v.dtype)
             for k, v in artifact["state_dict"].items()}
    return ModelBundle(meta, state, items, popularity, collab)


def _collab_tables(row_features: tuple[str, ...], item_collab: Mapping[str, np.ndarray] | None
                   ) -> dict[str, np.ndarray]:
    """The collaborative arrays a model reading ``collab_stats`` needs (else none)."""
    if "collab_stats" not in row_features:
        return {}
    if item_collab is None:
        raise BundleError("the model reads collab_stats but no item_collab was given (the "
                          "collaborative stage's output): run the collaborative stage first")
    return {k: np.ascontiguousarray(item_collab[k]) for k in _COLLAB_ARRAYS if k in item_collab}


def _plain(value: Any) -> Any:
    """JSON-ready copy: tuples to lists, numpy scalars to Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _tensors(bundle: ModelBundle) -> dict[str, torch.Tensor]:
    """Every array of the bundle under a flat name."""
    out = {f"state_dict/{k}": v.contiguous() for k, v in bundle.state_dict.items()}
    for source, arrays in bundle.item_sources.items():
        out.update({f"{source}/{k}": torch.from_numpy(np.ascontiguousarray(v))
                    for k, v in arrays.items()})
    out["popularity"] = torch.from_numpy(np.ascontiguousarray(bundle.popularity))
    out.update({f"item_collab/{k}": torch.from_numpy(np.ascontiguousarray(v))
                for k, v in bundle.collab.items()})
    return out


def _digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes, in name order."""
    sha = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].contiguous()
        sha.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        sha.update(tensor.view(-1).view(torch.uint8).numpy().tobytes() if tensor.numel()
                   else b"")
    return sha.hexdigest()


def save_bundle(bundle: ModelBundle, fh: str | os.PathLike | IO[bytes]) -> None:
    """Write ``bundle`` (tensors + JSON + digest) to a path or binary file."""
    tensors = _tensors(bundle)
    torch.save({"format": BUNDLE_FORMAT, "meta": json.dumps(bundle.meta),
                "digest": _digest(tensors), "tensors": tensors}, fh)


def read_bundle(fh: IO[bytes], where: str) -> ModelBundle:
    """Read and check a bundle from a binary file; ``where`` names it in errors.

    Raises:
        BundleError: one line naming ``where``: unreadable, not a bundle, another
            format version, or a digest that does not match (corrupted).
    """
    try:
        raw = torch.load(io.BytesIO(fh.read()), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure means the same thing to the user
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise BundleError(f"{where}: not a readable model bundle ({type(exc).__name__}: "
                          f"{first}); it is truncated or corrupted: {_RETRAIN}") from None
    return _unpack(raw, where)


def _unpack(raw: Any, where: str) -> ModelBundle:
    if not isinstance(raw, dict) or raw.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{where}: not an mmctr model bundle (no '{BUNDLE_FORMAT}' "
                          f"header); {_RETRAIN}")
    meta = json.loads(raw["meta"])
    if meta.get("version") != BUNDLE_VERSION:
        raise BundleError(f"{where}: model bundle version {meta.get('version')!r}, this "
                          f"mmctr reads version {BUNDLE_VERSION}; {_RETRAIN}")
    tensors = raw["tensors"]
    if _digest(tensors) != raw.get("digest"):
        raise BundleError(f"{where}: the model bundle's content does not match its "
                          f"digest (corrupted); {_RETRAIN}")
    items: dict[str, dict[str, np.ndarray]] = {"item_features": {}, "item_semantics": {}}
    state, collab = {}, {}
    for name, tensor in tensors.items():
        head, _, key = name.partition("/")
        if head == "state_dict":
            state[key] = tensor
        elif head in items:
            items[head][key] = tensor.numpy()
        elif head == "item_collab":
            collab[key] = tensor.numpy()
    return ModelBundle(meta, state, items, tensors["popularity"].numpy(), collab)


def load_bundle(path: str | os.PathLike) -> ModelBundle:
    """Read the bundle at ``path`` (see :func:`read_bundle`)."""
    try:
        with open(path, "rb") as fh:
            return read_bundle(fh, str(path))
    except OSError as exc:
        raise BundleError(f"{path}: expected a model bundle, found {exc.strerror or exc}; "
                          f"{_RETRAIN}") from None
