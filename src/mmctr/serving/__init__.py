"""Serving: a trained model as a self-contained bundle, scored outside the project.

No Kedro here. :mod:`.bundle` writes and reads the bundle (tensors and JSON only),
:mod:`.requests` checks request rows, :mod:`.scorer` scores them with the project's own
feature and batch code; the ``inference`` and ``export`` pipelines, the MLflow model
(:mod:`.mlflow_model`) and the ONNX export (:mod:`.onnx_export`) are built on them. :class:`.scorer.BundleScorer` (imported from
its module: it loads the models and kernels) scores a request frame.
"""

from mmctr.serving.bundle import (
    BundleError,
    ModelBundle,
    load_bundle,
    make_bundle,
    read_bundle,
    save_bundle,
)
from mmctr.serving.requests import RequestError, RequestSpec, parse_requests

__all__ = [
    "BundleError",
    "ModelBundle",
    "RequestError",
    "RequestSpec",
    "load_bundle",
    "make_bundle",
    "parse_requests",
    "read_bundle",
    "save_bundle",
]
