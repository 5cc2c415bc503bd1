"""Bad raw inputs, one per contract breach, shared by the unit and the catalog tests.

Each case corrupts fresh tables from :func:`tests.fixtures.make_raw_tables` and names what
the error message must contain: the file, the column, the first offending row (0-based)
and the expectation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tests.fixtures import make_raw_tables

Tables = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class BadInput:
    name: str
    corrupt: Callable[[Tables], Tables]
    file: str
    column: str | None
    row: int | None
    expected: str  # a piece of the message's "expected ..." part
    found: str = ""  # a piece of the message's "found ..." part
    params: dict[str, Any] = field(default_factory=dict)
    parquet: bool = True  # the corruption survives a parquet round trip


def _set_cell(frame: pd.DataFrame, column: str, row: int, value: Any) -> pd.DataFrame:
    """A copy of ``frame`` with one list cell replaced (object columns)."""
    frame = frame.copy()
    cells = frame[column].to_numpy(dtype=object).copy()
    cells[row] = value
    frame[column] = pd.Series(cells, index=frame.index, dtype=object)
    return frame


def _edit_list(
    frame: pd.DataFrame, column: str, row: int, edit: Callable
) -> pd.DataFrame:
    return _set_cell(frame, column, row, edit(np.array(frame[column].iloc[row])))


def _with(tables: Tables, **frames: pd.DataFrame) -> Tables:
    return {**tables, **frames}


def _set_value(frame: pd.DataFrame, column: str, row: int, value: Any) -> pd.DataFrame:
    frame = frame.copy()
    values = frame[column].to_numpy().copy()
    values[row] = value
    frame[column] = values
    return frame


def _swap_rows(frame: pd.DataFrame, a: int, b: int) -> pd.DataFrame:
    order = np.arange(len(frame))
    order[[a, b]] = order[[b, a]]
    return frame.iloc[order].reset_index(drop=True)


def _retable(tables: Tables, split: str, **kwargs: Any) -> Tables:
    """Replace ``split`` with the same split generated with other widths."""
    return _with(tables, **{split: make_raw_tables(**kwargs)[split]})


def _right_padded(frame: pd.DataFrame, row: int) -> pd.DataFrame:
    """``row``'s history moved to the left end (zeros after the items)."""
    seq = np.array(frame["item_seq"].iloc[row])
    items = seq[seq != 0]
    return _set_cell(frame, "item_seq", row, np.r_[items, np.zeros(len(seq) - len(items), seq.dtype)])


def _gap(frame: pd.DataFrame, row: int) -> pd.DataFrame:
    """A 0 between two items of ``row``'s (full) history."""
    seq = np.array(frame["item_seq"].iloc[row])
    seq[-3] = 0
    return _set_cell(frame, "item_seq", row, seq)


def _float_with_half(frame: pd.DataFrame, column: str, row: int) -> pd.DataFrame:
    frame = frame.copy()
    values = frame[column].to_numpy(dtype=np.float64)
    values[row] = 2.5
    frame[column] = values
    return frame


BAD_INPUTS = [
    BadInput(
        "missing_column",
        lambda t: _with(t, train=t["train"].drop(columns="likes_level")),
        "train.parquet",
        "likes_level",
        None,
        "a column 'likes_level'",
        "no such column",
    ),
    BadInput(
        "missing_label_in_valid",
        lambda t: _with(t, valid=t["valid"].drop(columns="label")),
        "valid.parquet",
        "label",
        None,
        "a column 'label'",
    ),
    BadInput(
        "item_seq_not_a_list",
        lambda t: _with(t, valid=t["valid"].assign(item_seq=t["valid"]["item_id"])),
        "valid.parquet",
        "item_seq",
        0,
        "a list of numbers in every row",
        "int64",
    ),
    BadInput(
        "item_seq_strings",
        lambda t: _with(t, train=_set_cell(t["train"], "item_seq", 4, "1 2 3")),
        "train.parquet",
        "item_seq",
        4,
        "a list of numbers in every row",
        "str",
        parquet=False,  # a parquet column cannot mix lists and strings
    ),
    BadInput(
        "level_float_not_whole",
        lambda t: _with(t, train=_float_with_half(t["train"], "likes_level", 3)),
        "train.parquet",
        "likes_level",
        3,
        "integer values",
        "2.5",
    ),
    BadInput(
        "level_string",
        lambda t: _with(
            t, test=t["test"].assign(views_level=t["test"]["views_level"].astype(str))
        ),
        "test.parquet",
        "views_level",
        0,
        "an integer column",
        "str",
    ),
    BadInput(
        "level_out_of_range",
        lambda t: _with(t, valid=_set_value(t["valid"], "likes_level", 2, 11)),
        "valid.parquet",
        "likes_level",
        2,
        "levels in 0..10",
        "11",
    ),
    BadInput(
        "label_not_binary",
        lambda t: _with(t, train=_set_value(t["train"], "label", 6, 2)),
        "train.parquet",
        "label",
        6,
        "labels in 0..1",
        "2",
    ),
    BadInput(
        "null_user_id",
        lambda t: _with(
            t,
            train=t["train"].assign(
                user_id=t["train"]["user_id"].where(t["train"].index != 3)
            ),
        ),
        "train.parquet",
        "user_id",
        3,
        "a value in every row",
        "a null",
    ),
    BadInput(
        "null_history",
        lambda t: _with(t, test=_set_cell(t["test"], "item_seq", 5, None)),
        "test.parquet",
        "item_seq",
        5,
        "a list in every row",
        "a null",
    ),
    BadInput(
        "ragged_item_seq",
        lambda t: _with(
            t, train=_edit_list(t["train"], "item_seq", 5, lambda s: s[1:])
        ),
        "train.parquet",
        "item_seq",
        5,
        "100 items per row (seq_width)",
        "99 items",
    ),
    BadInput(
        "wrong_width_item_seq",
        lambda t: _retable(
            _retable(_retable(t, "train", seq_width=50), "valid", seq_width=50),
            "test",
            seq_width=50,
        ),
        "train.parquet",
        "item_seq",
        0,
        "100 items per row (seq_width)",
        "50 items",
    ),
    BadInput(
        "test_width_differs_from_train",
        lambda t: _retable(t, "test", seq_width=50),
        "test.parquet",
        "item_seq",
        0,
        "100 items per row (as in train.parquet)",
        "50 items",
    ),
    BadInput(
        "test_width_differs_from_train_inferred",
        lambda t: _retable(_retable(t, "train", seq_width=80), "valid", seq_width=80),
        "test.parquet",
        "item_seq",
        0,
        "80 items per row (as in train.parquet)",
        "100 items",
        params={"seq_width": None},
    ),
    BadInput(
        "wrong_width_item_tags",
        lambda t: _with(
            t,
            item_info=_edit_list(
                t["item_info"], "item_tags", 7, lambda s: np.append(s, 1)
            ),
        ),
        "item_info.parquet",
        "item_tags",
        7,
        "5 items per row (tags_width)",
        "6 items",
    ),
    BadInput(
        "wrong_width_item_emb",
        lambda t: _with(
            t,
            item_info=_edit_list(t["item_info"], "item_emb_d128", 2, lambda e: e[:127]),
        ),
        "item_info.parquet",
        "item_emb_d128",
        2,
        "128 items per row (emb_dim)",
        "127 items",
    ),
    BadInput(
        "target_id_outside_item_table",
        lambda t: _with(
            t, train=_set_value(t["train"], "item_id", 4, len(t["item_info"]))
        ),
        "train.parquet",
        "item_id",
        4,
        "target item ids (item 0 is padding) in 1..30",
        "31",
    ),
    BadInput(
        "history_id_outside_item_table",
        lambda t: _with(
            t,
            valid=_edit_list(
                t["valid"], "item_seq", 6, lambda s: np.r_[s[:-1], len(t["item_info"])]
            ),
        ),
        "valid.parquet",
        "item_seq",
        6,
        "item ids (rows of item_info) in 0..30",
        "31",
    ),
    BadInput(
        "negative_history_id",
        lambda t: _with(
            t, test=_edit_list(t["test"], "item_seq", 2, lambda s: np.r_[-1, s[1:]])
        ),
        "test.parquet",
        "item_seq",
        2,
        "item ids (rows of item_info) in 0..30",
        "-1",
    ),
    BadInput(
        "negative_tag",
        lambda t: _with(
            t,
            item_info=_edit_list(
                t["item_info"], "item_tags", 3, lambda s: np.r_[-2, s[1:]]
            ),
        ),
        "item_info.parquet",
        "item_tags",
        3,
        "tag ids >= 0",
        "-2",
    ),
    BadInput(
        "item_row_not_holding_item",
        lambda t: _with(t, item_info=_swap_rows(t["item_info"], 3, 4)),
        "item_info.parquet",
        "item_id",
        3,
        "item id 3 (row i holds item i)",
        "4",
    ),
    BadInput(
        "duplicate_item_id",
        lambda t: _with(t, item_info=_set_value(t["item_info"], "item_id", 5, 4)),
        "item_info.parquet",
        "item_id",
        5,
        "unique ids",
        "4 again (first at row 4)",
    ),
    BadInput(
        "infinite_embedding",
        lambda t: _with(
            t,
            item_info=_edit_list(
                t["item_info"],
                "item_emb_d128",
                5,
                lambda e: np.r_[e[:7], np.inf, e[8:]].astype(np.float32),
            ),
        ),
        "item_info.parquet",
        "item_emb_d128",
        5,
        "finite float32 values",
        "inf",
    ),
    BadInput(
        "nan_embedding",
        lambda t: _with(
            t,
            item_info=_edit_list(
                t["item_info"],
                "item_emb_d128",
                9,
                lambda e: np.r_[e[:3], np.nan, e[4:]].astype(np.float32),
            ),
        ),
        "item_info.parquet",
        "item_emb_d128",
        9,
        "finite float32 values",
        "nan",
        parquet=False,  # pandas writes NaN inside a list as null (refused as a null)
    ),
    BadInput(
        "absurd_embedding",
        lambda t: _with(
            t,
            item_info=_edit_list(
                t["item_info"],
                "item_emb_d128",
                6,
                lambda e: np.r_[e[:2], 1e20, e[3:]].astype(np.float32),
            ),
        ),
        "item_info.parquet",
        "item_emb_d128",
        6,
        "embedding values in -10000.0..10000.0",
        "1.0000000200408773e+20",
    ),
    BadInput(
        "empty_file",
        lambda t: _with(t, valid=t["valid"].iloc[:0]),
        "valid.parquet",
        None,
        None,
        "at least one row",
        "0 rows",
    ),
    BadInput(
        "empty_item_info",
        lambda t: _with(t, item_info=t["item_info"].iloc[:0]),
        "item_info.parquet",
        None,
        None,
        "at least one row",
        "0 rows",
    ),
    BadInput(
        "right_padded_history",
        lambda t: _with(t, train=_right_padded(t["train"], 3)),
        "train.parquet",
        "item_seq",
        3,
        "histories left-padded with 0",
        "followed by 0",
    ),
    BadInput(
        "gap_inside_history",
        lambda t: _with(t, valid=_gap(t["valid"], 1)),  # row 1 has a full history
        "valid.parquet",
        "item_seq",
        1,
        "histories left-padded with 0",
        "at position 96 followed by 0 at position 97",
    ),
    BadInput(
        "one_class_in_valid",
        lambda t: _with(t, valid=t["valid"].assign(label=0)),
        "valid.parquet",
        "label",
        None,
        "both classes (0 and 1)",
        "only label 0 in all 16 rows",
    ),
    BadInput(
        "one_class_in_train",
        lambda t: _with(t, train=t["train"].assign(label=1.0)),
        "train.parquet",
        "label",
        None,
        "both classes (0 and 1)",
        "only label 1 in all 64 rows",
    ),
    BadInput(
        "test_ids_not_row_order",
        lambda t: _with(t, test=t["test"].assign(ID=np.arange(len(t["test"]))[::-1])),
        "test.parquet",
        "ID",
        0,
        "IDs 0..N-1 in row order",
        "15",
    ),
    BadInput(
        "test_ids_from_one",
        lambda t: _with(t, test=t["test"].assign(ID=np.arange(1, len(t["test"]) + 1))),
        "test.parquet",
        "ID",
        0,
        "IDs 0..N-1 in row order",
        "1",
    ),
    BadInput(
        "target_is_padding_item",
        lambda t: _with(t, test=_set_value(t["test"], "item_id", 7, 0)),
        "test.parquet",
        "item_id",
        7,
        "target item ids (item 0 is padding) in 1..30",
        "0",
    ),
]
