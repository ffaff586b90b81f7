"""describe_nwb / describe_session: the text behind `neurodecode info FILE`."""

from __future__ import annotations

import re

import pytest

from neurodecode.errors import NWBFormatError
from neurodecode.io import describe_nwb, describe_session, read_nwb


def test_describe_linear_track(shared_data):
    path = shared_data / "hippocampus_linear_track" / "linear_track_units_position.nwb"
    text = describe_nwb(path)
    assert "Session nelpy-example-data-linear-track" in text
    assert "Units: 31 units, 28829 spikes" in text
    assert re.search(r"\(unknown area\)\s+31 units\s+28829 spikes", text)
    assert re.search(r"led_xy: 118965 samples x 2 \(x, y\), ~60 Hz, units pixels", text)
    assert "Intervals: 0 table(s)" in text
    assert text == describe_session(read_nwb(path))  # no read warnings to append


def test_describe_dandi_areas_trials_warning(shared_data):
    text = describe_nwb(shared_data / "nwb_corpus" / "sub-anm369963_ses-20170228.nwb")
    assert re.search(r"ALM\s+1 units\s+1679 spikes", text)
    assert "trials: 178 rows" in text
    assert "lick_left_times: 782 samples" in text
    assert "Warnings:" in text and "unit ids 1001" in text
    assert "subject:" in text and "anm369963" in text


def test_describe_reports_clear_error(shared_data):
    with pytest.raises(NWBFormatError, match="no Units table"):
        describe_nwb(shared_data / "nwb_corpus" / "pynwb_2.1.0_no_units.nwb")
