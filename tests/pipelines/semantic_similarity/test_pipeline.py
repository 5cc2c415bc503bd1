"""Pipeline-slice run of ``semantic_similarity`` on an in-memory catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from mmctr.data.collaborative import FactorSettings, item_factors
from mmctr.data.kernels import COLLAB_STATS, ROW_STATS
from mmctr.pipelines.semantic_similarity import create_pipeline

CONF = Path(__file__).resolve().parents[3] / "conf"


def _params() -> dict:
    base = yaml.safe_load(
        (CONF / "base" / "parameters_semantic_similarity.yml").read_text()
    )
    test = yaml.safe_load(
        (CONF / "test" / "parameters_semantic_similarity.yml").read_text()
    )
    params = {**base["semantic_similarity"], **test["semantic_similarity"]}
    return {**params, "device": "cpu"}


def _split(
    rng: np.random.Generator, rows: int, width: int, items: int
) -> dict[str, np.ndarray]:
    lengths = rng.integers(0, width + 1, size=rows)
    seq = rng.integers(1, items, size=(rows, width)).astype(np.int32)
    seq[np.arange(width)[None, :] < (width - lengths)[:, None]] = 0  # left padding
    return {
        "item_seq": seq,
        "item_id": rng.integers(1, items, size=rows).astype(np.int32),
        "likes_level": rng.integers(0, 11, size=rows).astype(np.int32),
        "views_level": rng.integers(0, 11, size=rows).astype(np.int32),
        "user_id": rng.integers(1, 50, size=rows).astype(np.int64),
        "label": rng.integers(0, 2, size=rows).astype(np.float32),
    }


def test_pipeline_slice_outputs():
    rng = np.random.default_rng(0)
    items, width, dim = 120, 10, 128
    emb = rng.normal(size=(items, dim)).astype(np.float32)
    emb[0] = 0.0
    tags = rng.integers(1, 30, size=(items, 5)).astype(np.int32)
    tags[0] = 0
    rows = {"train": 300, "valid": 40, "test": 50}
    inputs = {
        "item_features_embedded": {"item_emb": emb, "item_tags": tags},
        "params:semantic_similarity": _params(),
        "vocab": {"item": items},
        **{f"{s}_features": _split(rng, n, width, items) for s, n in rows.items()},
    }
    inputs["item_collab"] = item_factors(inputs["train_features"]["item_seq"], items,
                                         FactorSettings(dim=4, links=5))[0]
    outputs = [
        "item_semantics",
        "rq_codebooks",
        "rq_report",
        "rq_reconstruction_plot",
        "item_popularity",
        *(f"{s}_similarity" for s in rows),
    ]
    catalog = DataCatalog(
        {
            **{name: MemoryDataset(value) for name, value in inputs.items()},
            **{name: MemoryDataset(copy_mode="assign") for name in outputs},
        }
    )
    pipeline = create_pipeline()
    assert all(n.name.endswith("_node") for n in pipeline.nodes)
    assert set(pipeline.outputs()) == set(outputs) - {"item_popularity"}  # consumed inside

    SequentialRunner().run(pipeline, catalog)

    params = inputs["params:semantic_similarity"]
    k, layers, codes = params["top_k"], params["rq_layers"], params["rq_codes"]
    sem = catalog["item_semantics"].load()
    assert sem["neighbors"].shape == (items, k) and sem["neighbors"].dtype == np.int32
    assert (
        sem["neighbor_scores"].shape == (items, k)
        and sem["neighbor_scores"].dtype == np.float32
    )
    assert (
        sem["rq_codes"].shape == (items, layers) and sem["rq_codes"].dtype == np.int32
    )
    np.testing.assert_allclose(np.linalg.norm(sem["collab"][1:], axis=1), 1, atol=1e-5)
    assert sem["rq_codes"][1:].min() >= 1 and sem["rq_codes"].max() <= codes
    books = catalog["rq_codebooks"].load()
    assert sorted(books) == [f"layer_{i}" for i in range(layers)]
    assert all(b.shape == (codes, dim) for b in books.values())
    report = catalog["rq_report"].load()
    assert len(report["layers"]) == layers + 1
    assert isinstance(catalog["rq_reconstruction_plot"].load(), Figure)

    for split, n in rows.items():
        out = catalog[f"{split}_similarity"].load()
        assert (
            out["hist_sim"].shape == (n, width) and out["hist_sim"].dtype == np.float32
        )
        assert out["sim_stats"].shape == (n, 4) and out["sim_stats"].dtype == np.float32
        assert out["row_stats"].shape == (n, len(ROW_STATS))
        assert out["collab_stats"].shape == (n, len(COLLAB_STATS))
        assert np.isfinite(out["collab_stats"]).all()
        assert np.isfinite(out["row_stats"]).all()
        seq = inputs[f"{split}_features"]["item_seq"]
        assert not np.any(out["hist_sim"][seq == 0])
