"""Binning and alignment: exact counts, half-open bins, property tests against naive code."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodecode.data import SpikeTrains, align_spike_trains, bin_spike_trains
from neurodecode.data.binning import bin_edges, count_dtype, n_regular_bins


def naive_histogram(times, edges):
    """np.histogram over explicit edges, with the last bin made half-open like ours."""
    return np.histogram(times[times < edges[-1]], bins=edges)[0]


def test_half_open_bins_put_edge_spikes_right():
    st_ = SpikeTrains.from_list([[0.0, 0.25, 0.5, 0.75, 1.0]])
    counts, edges = bin_spike_trains(st_, 0.0, 1.0, 0.25)
    assert counts[:, 0].tolist() == [1, 1, 1, 1]  # 1.0 is the excluded right edge
    assert edges.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_partial_last_bin_is_dropped_but_float_whole_spans_are_whole():
    assert n_regular_bins(0.0, 1.0, 0.3) == 3
    assert n_regular_bins(0.0, 0.3, 0.1) == 3  # 0.3 / 0.1 = 2.9999999999999996
    with pytest.raises(ValueError, match="bin_size"):
        n_regular_bins(0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="empty bin range"):
        n_regular_bins(1.0, 1.0, 0.1)


def test_counts_are_smallest_unsigned_dtype():
    assert count_dtype(200) == np.uint8
    assert count_dtype(300) == np.uint16
    assert count_dtype(70_000) == np.uint32
    assert count_dtype(3, np.int64) == np.int64
    st_ = SpikeTrains.from_list([np.linspace(0, 0.999, 300)])
    counts, _ = bin_spike_trains(st_, 0.0, 1.0, 1.0)
    assert counts.dtype == np.uint16 and counts[0, 0] == 300


def test_alignment_overlapping_windows():
    st_ = SpikeTrains.from_list([[1.0, 1.25, 1.5], [1.375]])
    counts, rel = align_spike_trains(st_, [1.0, 1.25], (0.0, 0.5), 0.25)
    assert counts.shape == (2, 2, 2)
    # window 1 = [1.0,1.25),[1.25,1.5); window 2 = [1.25,1.5),[1.5,1.75): 1.25 in both
    assert counts[:, :, 0].tolist() == [[1, 1], [1, 1]]
    assert counts[:, :, 1].tolist() == [[0, 1], [1, 0]]
    np.testing.assert_allclose(rel, [0.0, 0.25, 0.5])


def test_align_rejects_nan_events():
    st_ = SpikeTrains.from_list([[1.0]])
    with pytest.raises(ValueError, match="event_times"):
        align_spike_trains(st_, [np.nan], (0.0, 1.0), 0.5)


spike_lists = st.lists(
    st.lists(st.floats(-5.0, 15.0, allow_nan=False).map(lambda x: round(x, 3)), max_size=40),
    min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(trains=spike_lists, start=st.floats(-2.0, 5.0), bin_size=st.sampled_from(
    [0.001, 0.01, 0.025, 0.1, 0.3, 1.0, 1 / 3]), n_bins=st.integers(1, 60))
def test_binning_conserves_spikes_in_range_and_matches_histogram(trains, start, bin_size, n_bins):
    spikes = SpikeTrains.from_list([sorted(t) for t in trains])
    stop = start + n_bins * bin_size
    counts, edges = bin_spike_trains(spikes, start, stop, bin_size)
    assert counts.shape[1] == spikes.n_units
    in_range = (spikes.times >= edges[0]) & (spikes.times < edges[-1])
    assert int(counts.sum()) == int(in_range.sum())
    for u in range(spikes.n_units):
        assert np.array_equal(counts[:, u], naive_histogram(spikes[u], edges))


@settings(max_examples=150, deadline=None)
@given(trains=spike_lists,
       events=st.lists(st.floats(-3.0, 12.0, allow_nan=False).map(lambda x: round(x, 2)),
                       min_size=1, max_size=12),
       t0=st.sampled_from([-1.0, -0.5, -0.1, 0.0, 0.05]),
       bin_size=st.sampled_from([0.01, 0.05, 0.1, 0.25, 1 / 3]), n_bins=st.integers(1, 20))
def test_align_equals_naive_per_trial_histogram(trains, events, t0, bin_size, n_bins):
    spikes = SpikeTrains.from_list([sorted(t) for t in trains])
    t1 = t0 + n_bins * bin_size
    counts, rel = align_spike_trains(spikes, events, (t0, t1), bin_size)
    assert counts.shape == (len(events), len(rel) - 1, spikes.n_units)
    for k, event in enumerate(events):
        edges = (event + t0) + np.arange(len(rel)) * bin_size
        for u in range(spikes.n_units):
            assert np.array_equal(counts[k, :, u], naive_histogram(spikes[u], edges))


def test_bin_edges_formula():
    np.testing.assert_array_equal(bin_edges(1.0, 3, 0.5), [1.0, 1.5, 2.0, 2.5])
