"""The raw-table checks: every bad input is refused with a message that names the file,
the column, the first offending row and what was expected."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mmctr.data.contract import (
    RawDataError,
    check_range,
    list_matrix,
    parse_raw_tables,
)
from mmctr.pipelines.feature_engineering.nodes import build_features
from tests.data.cases import BAD_INPUTS, BadInput
from tests.fixtures import make_raw_tables


def _build(tables: dict[str, pd.DataFrame], **params):
    return build_features(
        tables["train"], tables["valid"], tables["test"], tables["item_info"], params
    )


def _assert_names_everything(error: RawDataError, case: BadInput) -> None:
    message = str(error)
    assert message.startswith(case.file), message
    assert (error.file, error.column, error.row) == (case.file, case.column, case.row)
    if case.column is not None:
        assert f"column '{case.column}'" in message
    if case.row is not None:
        assert f"row {case.row}:" in message
    assert f"expected {case.expected}" in message
    assert case.found in message.split("found", 1)[1]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.name)
def test_bad_input_is_refused_with_a_precise_message(case: BadInput) -> None:
    tables = case.corrupt(make_raw_tables())
    with pytest.raises(RawDataError) as caught:
        _build(tables, **case.params)
    _assert_names_everything(caught.value, case)


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.name)
def test_bad_input_row_is_found_across_chunks(case: BadInput) -> None:
    """Converting 3 rows at a time reports the same first offending row."""
    tables = case.corrupt(make_raw_tables())
    with pytest.raises(RawDataError) as caught:
        _build(tables, chunk_rows=3, **case.params)
    _assert_names_everything(caught.value, case)


def test_good_tables_pass() -> None:
    tables = make_raw_tables()
    parsed = parse_raw_tables(
        tables["train"], tables["valid"], tables["test"], tables["item_info"]
    )
    assert set(parsed) == {"train", "valid", "test", "item_info"}
    assert parsed["train"]["item_seq"].shape == (64, 100)
    assert "label" not in parsed["test"]


def test_meaningless_test_label_is_ignored() -> None:
    tables = make_raw_tables(test_label=True)
    tables["test"] = tables["test"].assign(label="?")  # not even a number
    out = _build(tables)
    assert "label" not in out["test"]


def test_whole_float_labels_and_extra_columns_are_accepted() -> None:
    tables = make_raw_tables()
    tables["train"] = tables["train"].assign(
        label=tables["train"]["label"].astype(np.float64), extra="x"
    )
    out = _build(tables)
    np.testing.assert_array_equal(out["train"]["label"], tables["train"]["label"])


def test_arrow_backed_frames_give_the_same_arrays() -> None:
    """``pd.read_parquet(..., dtype_backend="pyarrow")`` frames are read just as well."""
    tables = make_raw_tables()
    arrow_tables = {
        name: pa.Table.from_pandas(frame, preserve_index=False).to_pandas(
            types_mapper=pd.ArrowDtype
        )
        for name, frame in tables.items()
    }
    assert isinstance(arrow_tables["train"]["item_seq"].dtype, pd.ArrowDtype)
    expected, got = _build(tables), _build(arrow_tables, chunk_rows=5)
    for key in ("train", "valid", "test", "items"):
        assert expected[key].keys() == got[key].keys()
        for name in expected[key]:
            assert got[key][name].dtype == expected[key][name].dtype
            np.testing.assert_array_equal(got[key][name], expected[key][name])


def test_arrow_null_inside_a_list_is_refused() -> None:
    series = pd.Series(
        pa.array([[1, 2], [3, None]], type=pa.list_(pa.int64())),
        dtype=pd.ArrowDtype(pa.list_(pa.int64())),
    )
    with pytest.raises(RawDataError, match=r"row 1: expected no null inside a list"):
        list_matrix(series, "f.parquet", "c", dtype=np.int32)


def test_values_too_large_for_int32_are_refused_not_wrapped() -> None:
    series = pd.Series([np.array([1, 2**32 + 1])], dtype=object)
    with pytest.raises(
        RawDataError,
        match=r"row 0: expected values that fit in int32 in -2147483648..2147483647",
    ):
        list_matrix(series, "f.parquet", "c", dtype=np.int32)


def test_error_survives_pickling() -> None:
    error = RawDataError("train.parquet", "item_seq", 5, "100 items", "99 items")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and copy.row == 5


def test_check_range_reports_the_offset_row() -> None:
    values = np.array([[0, 1], [2, 9], [9, 9]])
    with pytest.raises(RawDataError) as caught:
        check_range(values, "f.parquet", "c", low=0, high=5, row_offset=10)
    assert caught.value.row == 11
    assert caught.value.found == "9"


@pytest.mark.parametrize(("split", "keep", "found"), [
    ("train", [0, 1], "train.parquet, column 'label': expected at least 20 rows with at least "
     "5 clicks and 5 non-clicks (the minimum to train and validate on), found 2 rows: "
     "1 click(s), 1 non-click(s)"),
    ("valid", None, "valid.parquet, column 'label': expected at least 10 rows with at least "
     "2 clicks and 2 non-clicks"),
])
def test_a_split_below_the_minimum_is_refused(split, keep, found) -> None:
    from mmctr.data.contract import MIN_ROWS

    tables = make_raw_tables()
    frame = tables[split]
    if keep is None:  # enough rows, too few clicks
        keep = list(frame.index[frame["label"] == 0][: MIN_ROWS[split]])
        keep += list(frame.index[frame["label"] == 1][:1])
    else:  # the first click and the first non-click
        keep = [frame.index[frame["label"] == 1][0], frame.index[frame["label"] == 0][0]]
    tables[split] = frame.loc[sorted(keep)].reset_index(drop=True)
    with pytest.raises(RawDataError) as caught:
        _build(tables)
    assert found in str(caught.value)


def test_the_minimum_lies_below_the_fixtures_and_the_tiny_preset() -> None:
    import yaml

    from mmctr.data.contract import MIN_ROWS, MIN_ROWS_PER_CLASS
    from tests.conftest import PROJECT_ROOT

    tables = make_raw_tables()
    for split in ("train", "valid"):
        labels = tables[split]["label"]
        assert len(labels) >= MIN_ROWS[split]
        assert min(labels.sum(), (1 - labels).sum()) >= MIN_ROWS_PER_CLASS[split]
    presets = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_synthetic.yml").read_text())
    tiny = presets["synthetic"]["presets"]["tiny"]
    assert tiny["n_train"] >= 10 * MIN_ROWS["train"] and tiny["n_valid"] >= 10 * MIN_ROWS["valid"]
