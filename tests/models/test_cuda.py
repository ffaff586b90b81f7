"""The torch models on a CUDA device: same maths as on the CPU, same recovery bounds.

Skipped where no CUDA device is present (CI has none); run on a GPU machine with
``python -m pytest tests/models/test_cuda.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodecode.datasets.latents import make_circle_latent
from neurodecode.datasets.motifs import make_icann_motifs, make_recording_motifs
from neurodecode.metrics.events import delay_accuracy, global_threshold_recall
from neurodecode.models import ContrastiveEmbedding, SpikingMotifDetector
from neurodecode.models.motifs.detection import SpikeIndex, motif_logits

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

SMALL = dict(n_units=24, n_motifs=2, motif_size=8, max_delay=0.010, motif_rate=3.0,
             dropout=0.1, jitter=0.0005, background_rate=5.0)


@pytest.fixture(scope="module")
def small():
    data = make_recording_motifs(duration=40.0, random_state=0, **SMALL)
    return data, slice(0, 30000), slice(30000, None)


def test_motif_convolution_same_on_cuda(rng):
    A = ((rng.random((2, 6, 200)) < 0.1) * rng.integers(1, 3, (2, 6, 200))).astype(np.float32)
    K = rng.normal(size=(3, 6, 7)).astype(np.float32)
    bias = rng.normal(size=3).astype(np.float32)
    ref = motif_logits(torch.as_tensor(A), torch.as_tensor(K), torch.as_tensor(bias)).numpy()
    on_gpu = motif_logits(torch.as_tensor(A, device="cuda"), torch.as_tensor(K, device="cuda"),
                          torch.as_tensor(bias, device="cuda")).cpu().numpy()
    np.testing.assert_allclose(on_gpu, ref, atol=1e-4)
    index = SpikeIndex(np.moveaxis(A, 1, 2), 7, "cuda")
    from_spikes = index.logits(torch.as_tensor(K, device="cuda"),
                               torch.as_tensor(bias, device="cuda")).cpu().numpy()
    np.testing.assert_allclose(from_spikes, ref, atol=1e-4)


@pytest.mark.parametrize("parametrization", ["dense", "sparse"])
def test_motif_detector_recovers_motifs_on_cuda(small, parametrization):
    """Same bounds as the CPU tests: held-out F1 >= 0.85, delay accuracy >= 0.95."""
    data, tr, te = small
    det = SpikingMotifDetector(n_delays=11, parametrization=parametrization, max_iter=150,
                               sparse_iter=80, smoothness=0.0, device="cuda", random_state=0)
    det.fit(data.spikes[tr], data.labels[tr])
    assert det.score(data.spikes[te], data.labels[te]) >= 0.85
    assert delay_accuracy(data.delays, det.delays_) >= 0.95
    # fitted state is plain CPU numpy whatever the device
    assert isinstance(det.kernels_, np.ndarray)


def test_generative_fit_on_cuda_matches_cpu():
    """ICANN-regime generative fit: CUDA and CPU reach the same held-out recall (±0.02)."""
    data = make_icann_motifs(n_units=32, n_motifs=6, n_delays=11, n_time=1000, n_trials=40,
                             p_B=5e-3, random_state=0)
    tr, te = slice(0, 30), slice(30, None)
    recall = {}
    for device in ("cpu", "cuda"):
        det = SpikingMotifDetector(n_delays=11, objective="generative", max_iter=100, lr=0.1,
                                   l2=1e-3, smoothness=0.0, threshold=0.0,
                                   validation_fraction=0.0, device=device, random_state=0)
        det.fit(data.spikes[tr], data.labels[tr])
        recall[device] = global_threshold_recall(det.decision_function(data.spikes[te]),
                                                 data.labels[te])
    assert recall["cuda"] > 0.5
    assert abs(recall["cuda"] - recall["cpu"]) <= 0.02, recall


def test_contrastive_embedding_on_cuda(tmp_path):
    """Held-out linear R² of the rotating angle > 0.8 (the CPU test's bound); a CUDA fit
    saves and loads back on the CPU with the same embedding."""
    from sklearn.linear_model import LinearRegression

    X, latent = make_circle_latent(n_units=40, duration=300.0, random_state=0)
    cut = int(0.8 * X.sizes["time"])
    model = ContrastiveEmbedding("offset10-model", output_dimension=3, batch_size=256,
                                 max_iterations=500, time_offsets=10, device="cuda",
                                 random_state=0).fit(X[:cut])
    Z = model.transform(X).values
    fit = LinearRegression().fit(Z[:cut], latent.values[:cut])
    assert fit.score(Z[cut:], latent.values[cut:]) > 0.8
    path = tmp_path / "embedding.pt"
    model.save(path)
    loaded = ContrastiveEmbedding.load(path, device="cpu")
    np.testing.assert_allclose(loaded.transform(X).values, Z, atol=1e-4)
