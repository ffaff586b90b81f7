"""Embedding figures: what is drawn, and a saved file."""

from __future__ import annotations

import numpy as np
import pytest

from neurodecode.plot.embeddings import (
    plot_consistency,
    plot_embedding,
    plot_loss,
    save_figure,
)


def test_embedding_scatter_2d_3d_and_subsampling(rng, tmp_path):
    Z = rng.normal(size=(500, 3))
    ax = plot_embedding(Z, color=Z[:, 0], dims=(0, 1), max_points=100, label="x")
    offsets = ax.collections[0].get_offsets()
    assert len(offsets) == 100 and ax.name != "3d"
    assert ax.get_xlabel() == "latent 0"
    ax3 = plot_embedding(Z, color=np.where(Z[:, 0] > 0, "left", "right"))
    assert ax3.name == "3d"
    path = save_figure(ax3.figure, tmp_path / "emb.png")
    assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match="color"):
        plot_embedding(Z, color=np.arange(3))
    with pytest.raises(ValueError, match="dims"):
        plot_embedding(Z, dims=(0, 5))


def test_loss_curve_from_fitted_model():
    from neurodecode.datasets.latents import make_circle_latent
    from neurodecode.models import ContrastiveEmbedding

    X, _ = make_circle_latent(n_units=10, duration=60.0, random_state=0)
    model = ContrastiveEmbedding("offset5-model", output_dimension=2, batch_size=32,
                                 max_iterations=30, eval_every=10, validation_fraction=0.25,
                                 device="cpu", random_state=0).fit(X)
    ax = plot_loss(model, smooth=5)
    train, val = ax.lines
    assert len(train.get_xdata()) == 26 and len(val.get_xdata()) == 3
    with pytest.raises(ValueError, match="empty"):
        plot_loss([])


def test_consistency_heatmap_annotates_off_diagonal():
    from neurodecode.metrics.embedding import consistency_matrix

    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 2))
    m = consistency_matrix([a, a * 2, rng.normal(size=(200, 2))], names=["r1", "r2", "r3"])
    ax = plot_consistency(m)
    assert len(ax.texts) == 6
    assert [t.get_text() for t in ax.get_xticklabels()] == ["r1", "r2", "r3"]
    with pytest.raises(ValueError, match="square"):
        plot_consistency(np.zeros((2, 3)))
