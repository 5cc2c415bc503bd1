"""The MLflow model (models-from-code): a model bundle scored by the project's code.

MLflow runs this file when the model loads (``mlflow.pyfunc.load_model`` or
``mlflow models serve``); the bundle is the model's only artifact. Nothing is pickled:
the code is this file and the installed ``mmctr`` package (it must be installed where
the model is served), the data is the bundle (tensors and JSON).

A request that breaks the row schema raises :class:`mlflow.exceptions.MlflowException`
(``INVALID_PARAMETER_VALUE``) with the one-line message naming the row and the column:
the scoring server answers HTTP 400 with it.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from mmctr.serving.bundle import load_bundle
from mmctr.serving.requests import RequestError
from mmctr.serving.scorer import BundleScorer

#: the prediction column
PROBABILITY = "prob"


class BundleModel(mlflow.pyfunc.PythonModel):
    """``predict(rows) -> DataFrame[prob]`` with the bundle of ``artifacts["bundle"]``.

    ``model_config`` (``mlflow.pyfunc.load_model(..., model_config={...})``): ``device``
    (``cpu``), ``batch_size`` (4096), ``threads`` (torch threads, 1: a server answers small
    requests; serve with more ``--workers`` to use more cores)."""

    def load_context(self, context: Any) -> None:
        config = context.model_config or {}
        self.scorer = BundleScorer(load_bundle(context.artifacts["bundle"]),
                                   device=config.get("device", "cpu"),
                                   batch_size=int(config.get("batch_size", 4096)),
                                   threads=int(config.get("threads", 1)))

    def predict(self, context: Any, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.DataFrame:
        try:
            probs = self.scorer.score(model_input)
        except RequestError as exc:
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from None
        return pd.DataFrame({PROBABILITY: probs})


mlflow.models.set_model(BundleModel())
