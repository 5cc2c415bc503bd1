"""item_feature.parquet checks: clear errors naming file, column, row and what was expected."""

import numpy as np
import pytest

from mmctr.data.contract import RawDataError
from mmctr.data.item_contract import parse_item_feature
from tests.pipelines.item_embedding.tiny_inputs import N_ITEMS, WIDTHS, raw_item_feature

COLUMNS = {"text": ("txt_emb_BERT", WIDTHS["text"]), "image": ("img_emb_CLIPRN50", WIDTHS["image"])}


def parse(frame):
    return parse_item_feature(frame, N_ITEMS + 1, COLUMNS)


def test_rows_in_any_order_align_by_item_id_and_extra_columns_are_ignored():
    frame = raw_item_feature()
    parsed = parse(frame.sample(frac=1.0, random_state=0))
    assert parsed["text"].shape == (N_ITEMS + 1, WIDTHS["text"]) and parsed["text"].dtype == np.float32
    assert (parsed["image"][0] == 0).all()
    np.testing.assert_array_equal(parsed["image"][7], frame["img_emb_CLIPRN50"][6])  # item 7


def test_wrong_width_names_file_column_row_and_width():
    frame = raw_item_feature()
    frame.at[3, "txt_emb_BERT"] = frame.at[3, "txt_emb_BERT"][:-1]
    with pytest.raises(RawDataError, match=r"item_feature\.parquet, column 'txt_emb_BERT', row 3: "
                                           r"expected 12 items per row \(width of modality 'text'\)"):
        parse(frame)


def test_missing_item_is_named():
    frame = raw_item_feature().drop(index=[16, 40])
    with pytest.raises(RawDataError, match=r"column 'item_id': expected a row for every item "
                                           r"1\.\.120 .* no row for item 17 \(2 item\(s\) missing\)"):
        parse(frame)


def test_non_finite_value_is_refused():
    frame = raw_item_feature()
    bad = frame.at[5, "img_emb_CLIPRN50"].copy()
    bad[2] = np.nan
    frame.at[5, "img_emb_CLIPRN50"] = bad
    with pytest.raises(RawDataError, match=r"column 'img_emb_CLIPRN50', row 5: expected finite"):
        parse(frame)


def test_duplicate_and_unknown_ids_are_refused():
    frame = raw_item_feature()
    frame.loc[9, "item_id"] = 3
    with pytest.raises(RawDataError, match=r"column 'item_id', row 9: expected unique ids"):
        parse(frame)
    frame = raw_item_feature()
    frame.loc[0, "item_id"] = N_ITEMS + 1
    with pytest.raises(RawDataError, match=r"column 'item_id', row 0: expected item ids of "
                                           r"item_info\.parquet in 0\.\.120"):
        parse(frame)


def test_missing_column_is_named():
    with pytest.raises(RawDataError, match=r"column 'img_emb_CLIPRN50'"):
        parse(raw_item_feature().drop(columns="img_emb_CLIPRN50"))


def test_absurd_magnitude_is_refused_and_raw_bert_clip_scales_pass():
    frame = raw_item_feature()
    wide = frame.at[4, "txt_emb_BERT"].copy()
    wide[:2] = [-9000.0, 40.0]  # far beyond raw BERT / CLIP values, still inside the bound
    frame.at[4, "txt_emb_BERT"] = wide
    assert parse(frame)["text"][5, 0] == -9000.0
    bad = frame.at[7, "img_emb_CLIPRN50"].copy()
    bad[3] = -1e20
    frame.at[7, "img_emb_CLIPRN50"] = bad
    with pytest.raises(RawDataError, match=r"column 'img_emb_CLIPRN50', row 7: expected embedding "
                                           r"values in -10000\.0\.\.10000\.0, found -1\.0+\d*e\+20"):
        parse(frame)
