from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from neurodecode.datasets.biclustering import make_biclustering_data
from neurodecode.plot.biclusters import plot_bicluster_raster, plot_traces


def test_raster_sorts_neurons_and_shades_every_state_run():
    import matplotlib.pyplot as plt

    X, truth = make_biclustering_data(n_clusters=2, neurons_per_cluster=3, n_time=120,
                                      random_state=0)
    labels = truth["labels"][::-1].copy()
    ax = plot_bicluster_raster(X, labels, truth["states"])
    runs = 1 + np.count_nonzero(np.diff(truth["states"]))
    assert len(ax.patches) == runs                      # one shaded span per state run
    assert len(ax.lines) == 1                           # one boundary between 2 clusters
    mesh = ax.collections[0].get_array().reshape(6, 120)
    np.testing.assert_array_equal(mesh, X.values[:, np.argsort(labels, kind="stable")].T)
    plt.close("all")


def test_raster_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="expected"):
        plot_bicluster_raster(np.zeros((5, 3)), [0, 1], np.zeros(5, int))


def test_traces_one_panel_per_quantity_one_line_per_chain():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    trace = {"loglik": rng.normal(size=(3, 40)), "n_clusters": rng.integers(1, 4, (3, 40))}
    fig = plot_traces(trace, burn_in=20)
    assert len(fig.axes) == 2
    assert len(fig.axes[0].lines) == 3 + 1              # chains + burn-in marker
    with pytest.raises(KeyError, match="no entries"):
        plot_traces(trace, names=["r_hat"])
    plt.close("all")
