"""Raster and decoded-trace figures: what is drawn, and the saved file."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.data import Session, SpikeTrains
from neurodecode.plot.rasters import plot_decoded_trace, plot_decoding_summary, plot_raster


@pytest.fixture
def trains():
    return SpikeTrains.from_list([[0.1, 0.5, 2.5], [0.2, 0.3], [1.5]], unit_ids=[10, 11, 12])


def test_raster_draws_spikes_in_window_in_the_given_order(trains):
    ax = plot_raster(Session(trains), (0.0, 1.0), order=[1, 0])
    offsets = ax.collections[0].get_offsets()
    # Unit 1 (top row, y=1) has 2 spikes in the window, unit 0 (y=0) has 2; unit 2 is left out.
    assert sorted(map(tuple, np.asarray(offsets).tolist())) == [
        (0.1, 0.0), (0.2, 1.0), (0.3, 1.0), (0.5, 0.0)]
    assert ax.get_xlim() == (0.0, 1.0)
    with pytest.raises(ValueError, match="order"):
        plot_raster(trains, (0, 1), order=[3])
    with pytest.raises(ValueError, match="window"):
        plot_raster(trains, (1, 1))


def test_trace_breaks_at_gaps():
    t = np.r_[np.arange(5), np.arange(10, 15)] * 0.2
    ax = plot_decoded_trace(t, t, t + 0.1, units="cm")
    true_line = ax.get_lines()[0]
    assert np.isnan(true_line.get_ydata()).sum() == 1
    assert ax.get_ylabel() == "position (cm)"
    with pytest.raises(ValueError, match="length"):
        plot_decoded_trace(t, t[:-1], t)


def test_summary_is_saved_as_png(tmp_path, trains):
    t = np.arange(0, 3, 0.2)
    path = tmp_path / "figs" / "summary.png"
    fig = plot_decoding_summary(trains, t, np.sin(t), np.sin(t) + 0.05, path=path,
                                title="demo", units="cm")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == 2
    assert not list(path.parent.glob(".*tmp"))  # written atomically, no leftovers
