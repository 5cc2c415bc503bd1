"""Save a model bundle as an MLflow ``pyfunc`` model (models-from-code, no pickle).

The model's code is :mod:`mmctr.serving.pyfunc` (copied into the model as a file), its
only artifact the bundle, its signature the request row schema and ``prob``, its input
example two rows drawn from the bundle's item table. The model needs the ``mmctr``
package installed where it is loaded or served (``--env-manager local``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from mmctr.serving.bundle import ModelBundle, load_bundle

__all__ = ["MODEL_CODE", "input_example", "save_pyfunc", "signature"]

#: the models-from-code file
MODEL_CODE = Path(__file__).with_name("pyfunc.py")


def input_example(bundle: ModelBundle, rows: int = 2) -> pd.DataFrame:
    """``rows`` request rows drawn from the bundle's item table (seeded)."""
    rng = np.random.default_rng(0)
    items = bundle.num_items
    return pd.DataFrame({
        "user_id": rng.integers(1, 1000, size=rows),
        "item_seq": [rng.integers(1, items, size=1 + i % 3).tolist() for i in range(rows)],
        "likes_level": np.zeros(rows, dtype=np.int64),
        "views_level": np.zeros(rows, dtype=np.int64),
        "item_id": rng.integers(1, items, size=rows),
    })


def signature():  # -> mlflow.models.ModelSignature (mlflow imported here only)
    """Request columns in, ``prob`` out. The input columns are typed ``Any`` and
    optional so that a bad request reaches the model's own check, whose message names
    the row and the column (MLflow's conversion names neither)."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    columns = ("user_id", "item_seq", "likes_level", "views_level", "item_id")
    inputs = Schema([ColSpec(AnyType(), name, required=False) for name in columns])
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec("float", "prob")]))


def save_pyfunc(bundle_path: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Write the MLflow model of the bundle at ``bundle_path`` into the folder ``dest``."""
    import mlflow
    import torch

    import mmctr

    bundle = load_bundle(bundle_path)  # a bad bundle fails here, not when served
    mlflow.pyfunc.save_model(
        path=str(dest),
        python_model=str(MODEL_CODE),
        artifacts={"bundle": str(bundle_path)},
        signature=signature(),
        input_example=input_example(bundle),
        pip_requirements=[f"mmctr=={mmctr.__version__}",
                          f"torch=={torch.__version__.split('+')[0]}",
                          f"mlflow=={mlflow.__version__}"],
        metadata={"mmctr_model": bundle.meta["model_name"]},
    )
    return Path(dest)
