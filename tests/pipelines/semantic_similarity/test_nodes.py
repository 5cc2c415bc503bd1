"""Node tests of the ``semantic_similarity`` stage: tiny, seeded inputs (ARCHITECTURE.md §2)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from mmctr.data.kernels import ROW_STATS
from mmctr.pipelines.semantic_similarity.config import SemanticSimilarityConfig
from mmctr.pipelines.semantic_similarity.nodes import (
    assemble_item_semantics,
    item_popularity,
    normalise_embeddings,
    residual_quantization,
    split_similarity,
    top_k_neighbours,
)

NUM_ITEMS = 41  # 40 real items + padding row 0
DIM = 16
PARAMS = {
    "top_k": 5,
    "rq_layers": 3,
    "rq_codes": 6,
    "rq_fit_sample": 1000,
    "threshold": 0.2,
    "chunk_size": 7,
    "topk_chunk_size": 7,
    "seed": 3,
    "device": "cpu",
}


@pytest.fixture
def item_features() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(NUM_ITEMS, DIM)).astype(np.float32) * 3
    emb[0] = 0.0  # padding
    emb[7] = 0.0  # a real item without an embedding
    tags = rng.integers(1, 20, size=(NUM_ITEMS, 5)).astype(np.int32)
    tags[0] = 0
    return {"item_emb": emb, "item_tags": tags}


@pytest.fixture
def normed(item_features) -> np.ndarray:
    return normalise_embeddings(item_features)


@pytest.fixture
def split_features() -> dict[str, np.ndarray]:
    """Left-padded histories of every length 0..width, including an empty one."""
    rng = np.random.default_rng(1)
    rows, width = 23, 6
    seq = np.zeros((rows, width), dtype=np.int32)
    for r in range(rows):
        length = r % (width + 1)
        if length:
            seq[r, -length:] = rng.integers(1, NUM_ITEMS, size=length)
    seq[5, -1] = 7  # a zero-embedding history item
    target = rng.integers(1, NUM_ITEMS, size=rows).astype(np.int32)
    target[3] = seq[3, -1]  # target also in its own history
    return {"item_seq": seq, "item_id": target}


def _brute_topk(emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sim = emb.astype(np.float64) @ emb.astype(np.float64).T
    np.fill_diagonal(sim, -np.inf)
    sim[:, 0] = -np.inf
    ids = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    scores = np.take_along_axis(sim, ids, axis=1)
    ids[0], scores[0] = 0, 0.0
    return ids, scores


def test_normalise_keeps_zero_rows(item_features, normed):
    norms = np.linalg.norm(normed, axis=1)
    assert normed.dtype == np.float32
    assert norms[0] == 0.0 and norms[7] == 0.0
    np.testing.assert_allclose(np.delete(norms, [0, 7]), 1.0, rtol=1e-6)
    assert item_features["item_emb"][1, 0] != normed[1, 0]  # input left alone


def test_top_k_matches_brute_force(normed):
    k = PARAMS["top_k"]
    out = top_k_neighbours(normed, PARAMS)  # chunk 7 < 41 items
    ids, scores = _brute_topk(normed, k)
    assert out["neighbors"].dtype == np.int32 and out["neighbors"].shape == (
        NUM_ITEMS,
        k,
    )
    assert out["neighbor_scores"].dtype == np.float32
    real = np.array(
        [i for i in range(NUM_ITEMS) if i not in (0, 7)]
    )  # 7: all ties at 0
    np.testing.assert_array_equal(out["neighbors"][real], ids[real])
    np.testing.assert_allclose(out["neighbor_scores"], scores, atol=1e-6)
    assert not np.any(out["neighbors"][0]) and not np.any(out["neighbor_scores"][0])
    rows = np.arange(1, NUM_ITEMS)[:, None]
    assert not np.any(out["neighbors"][1:] == rows)  # never itself
    assert not np.any(out["neighbors"][1:] == 0)  # never padding


def test_top_k_chunked_equals_unchunked(normed):
    small = top_k_neighbours(normed, PARAMS)
    whole = top_k_neighbours(normed, {**PARAMS, "topk_chunk_size": 10_000})
    np.testing.assert_array_equal(small["neighbors"], whole["neighbors"])
    np.testing.assert_allclose(
        small["neighbor_scores"], whole["neighbor_scores"], atol=1e-6
    )


def test_top_k_rejects_too_few_items(normed):
    with pytest.raises(ValueError, match="top_k"):
        top_k_neighbours(normed[:5], PARAMS)


def test_residual_quantization_error_falls(normed):
    codes, books, report, fig = residual_quantization(normed, PARAMS)
    layers, num_codes = PARAMS["rq_layers"], PARAMS["rq_codes"]
    assert codes.dtype == np.int32 and codes.shape == (NUM_ITEMS, layers)
    assert (
        not np.any(codes[0]) and codes[1:].min() >= 1 and codes[1:].max() <= num_codes
    )
    assert sorted(books) == [f"layer_{i}" for i in range(layers)]
    assert all(
        b.shape == (num_codes, DIM) and b.dtype == np.float32 for b in books.values()
    )
    mse = [row["mse"] for row in report["layers"]]
    rel = [row["relative_error"] for row in report["layers"]]
    assert len(mse) == layers + 1 and rel[0] == pytest.approx(1.0)
    assert all(b <= a + 1e-12 for a, b in zip(mse, mse[1:], strict=False))
    assert mse[-1] < mse[-2] and rel[-1] < rel[0]
    # the report's errors are those of the reconstruction from codes and codebooks
    recon = sum(books[f"layer_{i}"][codes[1:, i] - 1] for i in range(layers))
    expected = np.mean(np.square(normed[1:].astype(np.float64) - recon))
    assert report["final_mse"] == pytest.approx(expected, rel=1e-4)
    assert isinstance(fig, Figure)


def test_residual_quantization_is_seeded(normed):
    first = residual_quantization(normed, PARAMS)
    second = residual_quantization(normed, PARAMS)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[2] == second[2]


def test_residual_quantization_rejects_too_many_codes(normed):
    with pytest.raises(ValueError, match="rq_codes"):
        residual_quantization(normed, {**PARAMS, "rq_codes": 100})


def test_split_similarity_matches_direct_computation(normed, split_features):
    out = split_similarity(split_features, normed, PARAMS)  # chunk 7 < 23 rows
    seq, target = split_features["item_seq"], split_features["item_id"]
    assert out["hist_sim"].dtype == np.float32 and out["hist_sim"].shape == seq.shape
    assert out["sim_stats"].dtype == np.float32 and out["sim_stats"].shape == (
        len(seq),
        4,
    )
    for r in range(len(seq)):
        expected = np.zeros(seq.shape[1])
        real = [(c, i) for c, i in enumerate(seq[r]) if i != 0]
        for c, i in real:
            expected[c] = float(np.dot(normed[i], normed[target[r]]))
        np.testing.assert_allclose(out["hist_sim"][r], expected, atol=1e-6)
        values = np.array([expected[c] for c, _ in real])
        stats = (
            [
                values.max(),
                values.mean(),
                values[-1],
                (values > PARAMS["threshold"]).sum(),
            ]
            if real
            else [0.0, 0.0, 0.0, 0.0]
        )
        np.testing.assert_allclose(out["sim_stats"][r], stats, atol=1e-6)
    assert out["hist_sim"][3, -1] == pytest.approx(1.0, abs=1e-6)  # target in history
    assert out["hist_sim"][5, -1] == 0.0  # zero-embedding item
    assert not np.any(out["sim_stats"][0])  # row 0 has no history


def test_split_similarity_chunked_equals_unchunked(normed, split_features):
    small = split_similarity(split_features, normed, PARAMS)
    whole = split_similarity(split_features, normed, {**PARAMS, "chunk_size": 1000})
    for key in ("hist_sim", "sim_stats"):
        np.testing.assert_allclose(small[key], whole[key], atol=1e-6)


def test_split_similarity_working_memory_is_bounded_by_chunk_size(
    normed, split_features, monkeypatch
):
    """The (pairs, D) gather buffers, the only per-block allocations that grow with the
    data, never hold more than ``chunk_size × width`` pairs, whatever the row count."""
    from mmctr.data import kernels as _kernels

    capacity: list[int] = []
    get = _kernels._PairBuffers.get

    def spy(self, num_pairs):
        out = get(self, num_pairs)
        capacity.append(len(self._hist))
        return out

    monkeypatch.setattr(_kernels._PairBuffers, "get", spy)
    width = split_features["item_seq"].shape[1]
    largest = {}
    for chunk in (2, 7, 1000):
        capacity.clear()
        split_similarity(split_features, normed, {**PARAMS, "chunk_size": chunk})
        assert max(capacity) <= chunk * width
        largest[chunk] = max(capacity)
    assert largest[2] < largest[7] < largest[1000]
    assert largest[1000] == int((split_features["item_seq"] != 0).sum())  # one block


def test_split_similarity_rejects_unknown_items(normed, split_features):
    bad = {**split_features, "item_id": split_features["item_id"].copy()}
    bad["item_id"][2] = NUM_ITEMS
    with pytest.raises(ValueError, match="item ids"):
        split_similarity(bad, normed, PARAMS)


def test_assemble_item_semantics(normed):
    neighbours = top_k_neighbours(normed, PARAMS)
    codes = residual_quantization(normed, PARAMS)[0]
    out = assemble_item_semantics(neighbours, codes)
    assert sorted(out) == ["neighbor_scores", "neighbors", "rq_codes"]
    with pytest.raises(ValueError, match="items"):
        assemble_item_semantics(neighbours, codes[:-1])


def test_config_rejects_unknown_and_bad_values(normed):
    with pytest.raises(ValueError, match="unknown"):
        top_k_neighbours(normed, {**PARAMS, "topk": 3})
    with pytest.raises(ValueError, match="chunk_size"):
        SemanticSimilarityConfig(chunk_size=0)
    with pytest.raises(ValueError, match="device"):
        SemanticSimilarityConfig(device="tpu")


def test_split_similarity_without_history(normed):
    features = {
        "item_seq": np.zeros((9, 4), dtype=np.int32),
        "item_id": np.arange(1, 10, dtype=np.int32),
    }
    out = split_similarity(features, normed, PARAMS)
    assert out["hist_sim"].shape == (9, 4) and not np.any(out["hist_sim"])
    assert out["sim_stats"].shape == (9, 4) and not np.any(out["sim_stats"])


def _row_stats_by_hand(seq, target, normed, tags, sim, popularity):
    """ROW_STATS of one row, computed item by item."""
    real = [(col, int(i)) for col, i in enumerate(seq) if i != 0]
    width = len(seq)
    t = normed[target]
    target_tags = [int(x) for x in tags[target] if x]  # slots (a tag may repeat)

    def cos_mean(items):
        total = sum((normed[i] for _, i in items), np.zeros_like(t))
        norm = np.linalg.norm(total)
        return float(t @ total / norm) if norm > 0 else 0.0

    def window(values, k):
        keep = [v for (col, _), v in zip(real, values, strict=True) if col >= width - k]
        return float(np.mean(keep)) if keep else 0.0

    sims = [float(sim[col]) for col, _ in real]
    def share(items):
        carried = {int(x) for _, i in items for x in tags[i] if x}
        return sum(x in carried for x in target_tags) / max(len(target_tags), 1)

    shares = [share([(c, i)]) for c, i in real]
    newest3 = [(c, i) for c, i in real if c >= width - 3]
    return [
        np.log1p(len(real)),
        np.log1p(popularity["target_count"][target]),
        np.log1p(popularity["history_count"][target]),
        cos_mean(real),
        cos_mean(newest3),
        window(sims, 3),
        window(sims, 10),
        float(np.std(sims)) if sims else 0.0,
        share(real),
        float(np.mean(shares)) if shares else 0.0,
        window(shares, 3),
        len(target_tags),
    ]


def test_row_stats_match_direct_computation(item_features, normed, split_features):
    popularity = item_popularity(split_features, {"item": NUM_ITEMS})
    out = split_similarity(split_features, normed, PARAMS, item_features, popularity)
    stats = out["row_stats"]
    assert stats.dtype == np.float32 and stats.shape == (len(stats), len(ROW_STATS))
    seq, target = split_features["item_seq"], split_features["item_id"]
    for r in range(len(seq)):
        expected = _row_stats_by_hand(seq[r], target[r], normed, item_features["item_tags"],
                                      out["hist_sim"][r], popularity)
        np.testing.assert_allclose(stats[r], expected, atol=1e-5, err_msg=f"row {r}")
    # chunking (7 rows per block here) changes nothing
    whole = split_similarity(split_features, normed, {**PARAMS, "chunk_size": 1000},
                             item_features, popularity)
    np.testing.assert_allclose(whole["row_stats"], stats, atol=1e-6)


def test_item_popularity_counts_train_targets_and_histories(split_features):
    pop = item_popularity(split_features, {"item": NUM_ITEMS})
    seq, target = split_features["item_seq"], split_features["item_id"]
    for item in (1, 7, 20):
        assert pop["target_count"][item] == (target == item).sum()
        assert pop["history_count"][item] == (seq == item).sum()
    assert pop["target_count"][0] == pop["history_count"][0] == 0


def test_split_similarity_without_item_table_has_no_row_stats(normed, split_features):
    assert "row_stats" not in split_similarity(split_features, normed, PARAMS)


def test_more_codes_or_neighbours_than_items_is_a_parameter_error_with_the_fix():
    import torch

    from mmctr.data.kernels import (
        residual_quantize,
        topk_cosine,
    )
    from mmctr.errors import ParameterError

    emb = np.random.default_rng(0).standard_normal((31, 8)).astype(np.float32)
    emb[0] = 0
    with pytest.raises(ParameterError, match=r"params:semantic_similarity.rq_codes=256 needs at "
                       r"least 256 items with a non-zero embedding, the item table has 30"):
        residual_quantize(emb, layers=2, codes=256, fit_sample=100, seed=0)
    with pytest.raises(ParameterError, match=r"top_k=40 needs at least 42 item rows"):
        topk_cosine(emb, k=40, chunk=8, device=torch.device("cpu"))
