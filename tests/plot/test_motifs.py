"""Motif figures draw what they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from neurodecode.datasets.motifs import make_recording_motifs
from neurodecode.plot.motifs import (
    plot_motif_detections,
    plot_motif_kernels,
    plot_pruning_curve,
)


def test_kernel_figure_has_learned_and_true_panels():
    data = make_recording_motifs(n_units=10, n_motifs=2, motif_size=4, duration=1.0,
                                 random_state=0)
    fig = plot_motif_kernels(data.kernels * 0.5, data.kernels, bin_size=0.001)
    assert len(fig.axes) == 4
    img = fig.axes[2].images[0].get_array()
    np.testing.assert_allclose(np.asarray(img), data.kernels[0])
    with pytest.raises(ValueError, match="differ"):
        plot_motif_kernels(data.kernels, data.kernels[:, :3])


def test_detection_raster_and_pruning_curve():
    data = make_recording_motifs(n_units=10, n_motifs=2, motif_size=4, duration=2.0,
                                 motif_rate=3.0, random_state=0)
    fig = plot_motif_detections(data.spikes, scores=data.labels.astype(float),
                                detections=data.labels, labels=data.labels, start=0, stop=2)
    assert len(fig.axes) == 2
    n_spikes = int((data.spikes.values > 0).sum())
    assert len(fig.axes[0].collections[0].get_offsets()) == n_spikes
    curve = pd.DataFrame({"n_synapses": [1, 10, 100], "f1": [0.1, 0.5, 0.9]})
    fig = plot_pruning_curve(curve, reference=0.95)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [0.1, 0.5, 0.9])
    with pytest.raises(ValueError, match="columns"):
        plot_pruning_curve(curve, metric="auc")
