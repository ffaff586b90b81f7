import numpy as np
import pytest

from neurodecode.data import SpikeTrains
from neurodecode.data.spiketrains import concatenate_ranges
from neurodecode.errors import SpikeTimesWarning


def test_from_list_layout_matches_nwb_index():
    st = SpikeTrains.from_list([[0.1, 0.3], [], [0.2, 0.5, 0.9]], unit_ids=[4, 5, 6])
    assert st.offsets.tolist() == [0, 2, 2, 5]
    assert st.counts.tolist() == [2, 0, 3]
    nwb = SpikeTrains.from_nwb_index(st.times, np.array([2, 2, 5], dtype=np.uint8), [4, 5, 6])
    assert nwb.equals(st)
    assert nwb.offsets.dtype == np.int64
    assert st.unit(6).tolist() == [0.2, 0.5, 0.9]
    assert st[-1].tolist() == [0.2, 0.5, 0.9]
    assert st.labels.tolist() == [0, 0, 2, 2, 2]


def test_small_index_dtypes_are_widened_before_arithmetic():
    # 300 spikes in one unit: a uint8 end index would wrap if not widened first.
    times = np.sort(np.random.default_rng(0).uniform(0, 10, 300))
    st = SpikeTrains.from_nwb_index(times, np.array([300], dtype=np.uint16))
    assert st.n_spikes == 300


def test_unsorted_times_refused_by_default_and_sorted_on_request():
    with pytest.raises(ValueError, match=r"not sorted.*unit ids 8"):
        SpikeTrains.from_list([[0.1, 0.2], [0.5, 0.3]], unit_ids=[7, 8])
    with pytest.warns(SpikeTimesWarning, match="unit ids 8"):
        st = SpikeTrains.from_list([[0.1, 0.2], [0.5, 0.3]], unit_ids=[7, 8], sort="sort")
    assert st.unit(8).tolist() == [0.3, 0.5]


def test_nan_times_dropped_with_a_warning_naming_the_unit():
    with pytest.warns(SpikeTimesWarning, match=r"NaN spike times in 1 unit\(s\) \(unit ids 1\)"):
        st = SpikeTrains.from_list([[0.1], [np.nan, 0.4]], sort="sort")
    assert st.counts.tolist() == [1, 1]


def test_descent_across_unit_boundary_is_not_unsorted():
    st = SpikeTrains.from_list([[5.0, 6.0], [1.0, 2.0]])
    assert st.counts.tolist() == [2, 2]


def test_bad_offsets_and_ids_are_clear_errors():
    with pytest.raises(ValueError, match="offsets"):
        SpikeTrains([0.1, 0.2], [0, 3])
    with pytest.raises(ValueError, match="unit_ids"):
        SpikeTrains([0.1, 0.2], [0, 1, 2], unit_ids=[1])
    with pytest.raises(ValueError, match="unique"):
        SpikeTrains([0.1, 0.2], [0, 1, 2], unit_ids=[1, 1])


def test_select_and_restrict():
    st = SpikeTrains.from_list([[0.1, 0.6, 1.2], [0.5], [0.05, 0.7]], unit_ids=[1, 2, 3])
    sub = st.select([2, 0])
    assert sub.unit_ids.tolist() == [3, 1]
    assert sub[0].tolist() == [0.05, 0.7]
    masked = st.select(np.array([False, True, True]))
    assert masked.unit_ids.tolist() == [2, 3]
    win = st.restrict(0.5, 1.2)  # half-open: 1.2 excluded, 0.5 included
    assert [w.tolist() for w in win] == [[0.6], [0.5], [0.7]]


def test_from_labels_sorts_by_unit_then_time():
    st = SpikeTrains.from_labels([0.3, 0.1, 0.2, 0.05], [1, 0, 1, 1])
    assert [t.tolist() for t in st] == [[0.1], [0.05, 0.2, 0.3]]


def test_concatenate_ranges_matches_python():
    rng = np.random.default_rng(1)
    starts = rng.integers(0, 50, 20)
    stops = starts + rng.integers(0, 5, 20)
    expected = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops, strict=True)])
    assert np.array_equal(concatenate_ranges(starts, stops), expected)
    assert concatenate_ranges(np.array([3]), np.array([3])).size == 0
