"""AllenSDK's stimulus-table rules, re-written: concatenation, parsing, conditions, masking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurodecode.errors import NWBFormatError
from neurodecode.io.allen_stimulus import (
    assign_condition_ids,
    concat_presentations,
    mask_invalid_presentations,
    parse_stimulus_columns,
    stimulus_views,
)


def _table(starts, name, **columns):
    return pd.DataFrame({"start_time": starts, "stop_time": np.asarray(starts) + 0.5,
                         "stimulus_name": name, **columns})


def test_concat_sorts_stably_and_numbers_rows():
    a = _table([3.0, 1.0], "a", tags=[["x"], ["x"]])
    b = _table([1.0, 0.0], "b", frame=[5.0, -1.0])
    t = concat_presentations({"b_presentations": b, "a_presentations": a})
    assert t["start_time"].tolist() == [0.0, 1.0, 1.0, 3.0]
    # the tie at 1.0 keeps concatenation (name) order: a before b
    assert t["stimulus_name"].tolist() == ["b", "a", "b", "a"]
    assert t.index.tolist() == [0, 1, 2, 3] and "tags" not in t
    assert np.isnan(t["frame"].iloc[1])


def test_concat_errors_and_na_text():
    with pytest.raises(NWBFormatError, match="f.nwb: no intervals"):
        concat_presentations({}, "f.nwb")
    with pytest.raises(NWBFormatError, match="intervals/x_presentations lacks"):
        concat_presentations({"x_presentations": pd.DataFrame({"start_time": [0.0]})}, "f.nwb")
    t = concat_presentations({"a_presentations": _table([0.0], "a", image_name=["N/A"])})
    assert t["image_name"].tolist() == [""]


def test_parse_numbers_lists_nulls_and_text():
    t = pd.DataFrame({"size": ["[250.0, 250.0]", "null", ""],
                      "spatial_frequency": ["0.04", "null", "0.08"],
                      "mask": ["circle", "None", ""],
                      "image_name": ["im000", "omitted", "None"],
                      "flag": ["True", "False", "True"]})
    p = parse_stimulus_columns(t)
    assert p["size"].iloc[0] == (250.0, 250.0) and np.isnan(p["size"].iloc[1])
    assert p["spatial_frequency"].dtype == np.float64
    assert p["mask"].tolist() == ["circle", "", ""]  # a text column: null text is ""
    assert p["image_name"].tolist() == ["im000", "omitted", ""]
    assert p["flag"].tolist() == ["True", "False", "True"]  # not numbers: left alone


def test_condition_ids_first_appearance_nan_equal_and_ignore_times():
    t = pd.DataFrame({"start_time": [0.0, 1, 2, 3, 4], "stop_time": [1.0, 2, 3, 4, 5],
                      "stimulus_block": [0.0, 0, 1, 1, 1], "duration": [1.0] * 5,
                      "stimulus_name": ["g", "g", "g", "s", "g"],
                      "orientation": [90.0, np.nan, 90.0, np.nan, np.nan],
                      "size": [(1.0, 1.0)] * 5})
    ids, conditions = assign_condition_ids(t)
    assert ids.tolist() == [0, 1, 0, 2, 1]
    assert conditions["stimulus_name"].tolist() == ["g", "g", "s"]
    assert "stimulus_block" not in conditions and "start_time" not in conditions


def test_mask_only_stimulus_tagged_and_touching_counts():
    t = pd.DataFrame({"start_time": [0.0, 1.0, 2.0], "stop_time": [1.0, 2.0, 3.0],
                      "stimulus_name": ["g"] * 3, "orientation": [0.0, 90.0, 0.0],
                      "stimulus_condition_id": [0, 1, 0], "image_name": ["a", "b", "c"]})
    bad = pd.DataFrame({"start_time": [3.0, 0.2], "stop_time": [4.0, 0.4],
                        "tags": [["EcephysSession", "7", "stimulus"], ["probeA"]]})
    m, masked = mask_invalid_presentations(t, bad)
    assert masked.tolist() == [False, False, True]  # 3.0 touches [2, 3]; probeA tag ignored
    assert m.loc[2, "stimulus_name"] == "invalid_presentation"
    assert np.isnan(m.loc[2, "orientation"]) and m.loc[2, "stimulus_condition_id"] == -1
    assert m.loc[2, "image_name"] == "" and m.loc[2, "start_time"] == 2.0
    same, none = mask_invalid_presentations(t, None)
    assert same is t and not none.any()


def test_views_drop_empty_columns_and_count_repeats():
    t = pd.DataFrame({"start_time": [0.0, 1, 2, 3], "stop_time": [1.0, 2, 3, 4],
                      "stimulus_name": ["m", "x", "m", "m"], "frame": [0.0, np.nan, 1.0, 0.0],
                      "orientation": [np.nan, 45.0, np.nan, np.nan],
                      "stimulus_condition_id": [0, 1, 2, 0]})
    t["phase"] = pd.Series([0.25, (1.0, 1.0), 0.5, 0.75], dtype=object)
    views = stimulus_views(t, reserved=("x",))
    assert list(views) == ["m"]
    assert views["m"]["phase"].dtype == np.float64  # numbers again once the tuple row is gone
    m = views["m"]
    assert "orientation" not in m and m["frame"].dtype == np.int64
    assert m["repeat"].tolist() == [0, 0, 1]
