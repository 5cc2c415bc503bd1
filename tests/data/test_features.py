import numpy as np

from mmctr.data.features import build_split_features


def test_build_split_features_left_pads_a_wider_max_len() -> None:
    parsed = {"item_seq": np.array([[0, 5, 6], [7, 8, 9]], dtype=np.int32)}
    out = build_split_features(parsed, max_len=5)
    np.testing.assert_array_equal(out["item_seq"], [[0, 0, 0, 5, 6], [0, 0, 7, 8, 9]])
