import numpy as np
import pytest

from mmctr.engine.scoring import ScoringConfig, check_scoring, score, score_split
from mmctr.errors import ParameterError
from tests.pipelines.evaluation.tiny_inputs import (
    tiny_artifact,
    tiny_items,
    tiny_semantics,
    tiny_similarity,
    tiny_split,
)


def test_score_split_is_score_with_the_configuration():
    artifact, items, semantics = tiny_artifact(), tiny_items(), tiny_semantics()
    features = tiny_split(7, seed=3)
    sim = tiny_similarity(features, seed=3)
    cfg = ScoringConfig(batch_size=3, device="cpu", bf16=False, progress=False)
    got = score_split(artifact, features, sim, items, semantics, cfg)
    want = score(artifact, features, sim, {"item_features": items, "item_semantics": semantics},
                 batch_size=3, device="cpu", bf16=False, progress=False)
    assert got.dtype == np.float32 and got.shape == (7,)
    np.testing.assert_array_equal(got, want)


def test_check_names_the_block_and_key():
    check_scoring(ScoringConfig(), "params:evaluation")
    with pytest.raises(ParameterError, match=r"params:submission.device must be auto, cpu, cuda"):
        check_scoring(ScoringConfig(device="gpu"), "params:submission")
    with pytest.raises(ParameterError, match=r"params:evaluation.bf16 must be auto, true or false"):
        check_scoring(ScoringConfig(bf16="yes"), "params:evaluation")
