"""The bundle file: round trip without unpickling, one clear line for a bad file."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch

from mmctr.serving.bundle import BundleError, load_bundle, read_bundle, save_bundle


def _bytes(bundle) -> bytes:
    buffer = io.BytesIO()
    save_bundle(bundle, buffer)
    return buffer.getvalue()


def test_round_trip_keeps_weights_tables_and_settings(bundle):
    back = read_bundle(io.BytesIO(_bytes(bundle)), "b.pt")
    assert back.meta == bundle.meta
    assert back.state_dict.keys() == bundle.state_dict.keys()
    for key, value in bundle.state_dict.items():
        assert torch.equal(back.state_dict[key], value)
    for source, arrays in bundle.item_sources.items():
        for key, value in arrays.items():
            np.testing.assert_array_equal(back.item_sources[source][key], value)
    np.testing.assert_array_equal(back.popularity, bundle.popularity)
    assert back.meta["features"] == {"max_len": 6, "max_history": 10, "threshold": 0.5}


def test_bundle_loads_with_weights_only(bundle):
    # tensors, strings and dicts only: the restricted unpickler accepts it as it is
    raw = torch.load(io.BytesIO(_bytes(bundle)), weights_only=True)
    assert raw["format"] == "mmctr-model-bundle"


def test_a_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "mmctr-model-bundle", "payload": pickle.dumps},  # a callable
               path)
    with pytest.raises(BundleError, match="not a readable model bundle"):
        load_bundle(path)


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "text", "missing"])
def test_a_damaged_bundle_is_one_line(bundle, tmp_path, damage):
    data = _bytes(bundle)
    path = tmp_path / "model_bundle.pt"
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":  # one byte inside the largest tensor (the item embeddings)
        emb = bundle.item_sources["item_features"]["item_emb"]
        at = data.find(emb[1].tobytes()) + 100  # row 0 is zeros: found anywhere
        assert at > 100
        path.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "text":
        path.write_text("not a bundle")
    with pytest.raises(BundleError) as caught:
        load_bundle(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    if damage == "flipped":
        assert "digest" in message
