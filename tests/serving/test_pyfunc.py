"""The MLflow model in process: the bundle's scores, a bad request as MLflow's 400 error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, ErrorCode

from mmctr.serving.bundle import save_bundle

from .conftest import request_frame


@pytest.fixture(scope="module")
def model(bundle, tmp_path_factory):
    import mlflow

    folder = tmp_path_factory.mktemp("pyfunc")
    save_bundle(bundle, folder / "bundle.pt")
    from mmctr.serving.mlflow_model import save_pyfunc

    save_pyfunc(folder / "bundle.pt", folder / "model")
    threads = torch.get_num_threads()
    yield mlflow.pyfunc.load_model(str(folder / "model"))  # a server's setting: 1 thread
    torch.set_num_threads(threads)


def test_pyfunc_scores_the_bundle_with_one_thread(model, scorer):
    assert torch.get_num_threads() == 1
    rows = request_frame(12)
    out = model.predict(rows)
    assert list(out.columns) == ["prob"]
    np.testing.assert_allclose(out["prob"].to_numpy(), scorer.score(rows), rtol=0, atol=1e-6)


def test_model_folder_holds_code_and_bundle_not_pickles(model):
    flavor = model.metadata.flavors["python_function"]
    assert flavor["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert "python_model" not in flavor  # no cloudpickled object
    assert set(flavor["artifacts"]) == {"bundle"}


@pytest.mark.parametrize("bad", ["item", "column"])
def test_bad_request_raises_invalid_parameter_value(model, bad):
    rows = request_frame(4)
    rows = rows.assign(item_id=[1, 2, 3, 99]) if bad == "item" else rows.drop(columns="item_id")
    with pytest.raises(MlflowException) as caught:
        model.predict(rows)
    assert caught.value.error_code == ErrorCode.Name(INVALID_PARAMETER_VALUE)
    assert "column 'item_id'" in caught.value.message
    assert "row 3," in caught.value.message or bad == "column"
