"""Bundles of models that read the collaborative stage: ``collab_stats`` scores as the
submission's path does; the ``collab`` item column of history ids travels with the bundle."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from mmctr.data.kernels import COLLAB_STATS, collab_stats, l2_normalise, prepare_collab
from mmctr.engine.scoring import score
from mmctr.models import build_model
from mmctr.pipelines.semantic_similarity.nodes import split_similarity
from mmctr.serving.bundle import (
    BundleError,
    ModelBundle,
    make_bundle,
    read_bundle,
    save_bundle,
)
from mmctr.serving.scorer import BundleScorer
from tests.pipelines.evaluation.tiny_inputs import (
    NUM_ITEMS,
    VOCAB,
    tiny_items,
    tiny_semantics,
)

from .conftest import MAX_HISTORY, PARAMS, padded_features, request_frame

CONF = Path(__file__).resolve().parents[2] / "conf" / "base"
THRESHOLD = 0.5
FACTOR_DIM = 3
COLLAB_PARAMS = {**PARAMS, "collab_input": True}
HISTORY_IDS_PARAMS = {**PARAMS, "history_ids": {"dim": 4, "hidden_units": [8]}}


def tiny_collab() -> dict[str, np.ndarray]:
    """Collaborative tables: a third of the items without a factor, a few links each."""
    rng = np.random.default_rng(5)
    has = (np.arange(NUM_ITEMS) % 3 != 0).astype(np.int8)
    factors = rng.normal(size=(NUM_ITEMS, FACTOR_DIM)).astype(np.float32) * has[:, None]
    link_ids = rng.integers(0, NUM_ITEMS, size=(NUM_ITEMS, 4)).astype(np.int32)
    link_ids[0] = 0
    return {"factors": factors, "has_factor": has,
            "basket_count": rng.uniform(0, 9, NUM_ITEMS).astype(np.float32),
            "link_ids": link_ids,
            "link_pmi": rng.uniform(0.1, 2.0, size=link_ids.shape).astype(np.float32)
            * (link_ids > 0)}


def _bundle(params: dict, item_collab: dict | None, semantics: dict) -> ModelBundle:
    vocab = {**VOCAB, "row_stats": 12, "collab_stats": len(COLLAB_STATS),
             "collab_dim": FACTOR_DIM}
    torch.manual_seed(0)
    model = build_model("transformer_dcn", params, vocab)
    artifact = {"model_name": "transformer_dcn", "model_params": params, "vocab": vocab,
                "state_dict": model.eval().state_dict(), "best_epoch": 1}
    popularity = {"target_count": np.arange(NUM_ITEMS, dtype=np.float32),
                  "history_count": np.full(NUM_ITEMS, 2.0, np.float32)}
    return make_bundle(artifact, tiny_items(), semantics, popularity, THRESHOLD, MAX_HISTORY,
                       item_collab)


def _round_trip(bundle: ModelBundle) -> ModelBundle:
    buffer = io.BytesIO()
    save_bundle(bundle, buffer)
    buffer.seek(0)
    return read_bundle(buffer, "memory")


def _semantics_with_factors() -> dict[str, np.ndarray]:
    return {**tiny_semantics(), "collab": l2_normalise(tiny_collab()["factors"])}


def _submission_scores(bundle: ModelBundle, rows, item_collab: dict | None,
                       sources: dict | None = None) -> np.ndarray:
    """The pipelines' path: padded features, the semantic stage's node, engine.score."""
    width = VOCAB["max_len"]
    features = padded_features(rows, width)
    params = yaml.safe_load((CONF / "parameters_semantic_similarity.yml").read_text())
    params = {**params["semantic_similarity"], "device": "cpu", "threshold": THRESHOLD,
              "chunk_size": 7}
    items = tiny_items()
    popularity = {"target_count": bundle.popularity[:, 0],
                  "history_count": bundle.popularity[:, 1]}
    similarity = split_similarity(features, l2_normalise(items["item_emb"]), params, items,
                                  popularity, item_collab)
    return score(bundle.artifact, features, similarity, sources or bundle.item_sources,
                 progress=False)


def test_collab_bundle_carries_the_tables_and_scores_the_submission():
    item_collab = tiny_collab()
    bundle = _round_trip(_bundle(COLLAB_PARAMS, item_collab, tiny_semantics()))
    assert set(bundle.collab) == {"factors", "has_factor", "link_ids", "link_pmi"}
    for key, table in bundle.collab.items():
        np.testing.assert_array_equal(table, item_collab[key])
    rows = request_frame(60, seed=4)
    expected = _submission_scores(bundle, rows, item_collab)
    np.testing.assert_allclose(BundleScorer(bundle).score(rows), expected, rtol=0, atol=1e-6)
    # a few rows (fewer items than the table) score as they do among the others
    np.testing.assert_allclose(BundleScorer(bundle).score(rows.iloc[:3]), expected[:3],
                               rtol=0, atol=1e-6)


def test_prepared_tables_give_the_same_collab_stats_as_the_raw_ones():
    """The scorer prepares the tables once (unit factors, id-sorted links): the same values."""
    item_collab, rng = tiny_collab(), np.random.default_rng(2)
    seq = rng.integers(0, NUM_ITEMS, size=(8, 6)).astype(np.int32)
    target = rng.integers(1, NUM_ITEMS, size=8).astype(np.int32)
    cpu = torch.device("cpu")
    full = collab_stats(seq, target, item_collab, THRESHOLD, 3, cpu)
    prepared = prepare_collab(item_collab)
    assert prepare_collab(prepared) is not None and "links" in prepared
    np.testing.assert_array_equal(collab_stats(seq, target, prepared, THRESHOLD, 3, cpu), full)
    assert full[:, -4:].any()  # the links were read


def test_a_model_without_collab_inputs_carries_no_tables():
    bundle = _bundle(PARAMS, tiny_collab(), _semantics_with_factors())
    assert bundle.collab == {} and "collab" not in bundle.item_sources["item_semantics"]


def test_collab_input_without_tables_is_one_error():
    with pytest.raises(BundleError, match="collaborative stage"):
        _bundle(COLLAB_PARAMS, None, tiny_semantics())


def test_history_ids_with_factors_round_trip():
    semantics = _semantics_with_factors()
    made = _bundle(HISTORY_IDS_PARAMS, None, semantics)
    bundle = _round_trip(made)
    np.testing.assert_array_equal(bundle.item_sources["item_semantics"]["collab"],
                                  semantics["collab"])
    assert bundle.collab == {}
    rows = request_frame(40, seed=6)
    sources = {"item_features": tiny_items(), "item_semantics": semantics}
    expected = _submission_scores(made, rows, None, sources)
    np.testing.assert_allclose(BundleScorer(bundle).score(rows), expected, rtol=0, atol=1e-6)
