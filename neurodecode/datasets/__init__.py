"""Simulators with known ground truth, one module per model family.

Each simulator returns the data together with its truth and can write a real
NWB file, so every model can be tested on recovering what it should find.
"""

from __future__ import annotations

from neurodecode._lazy import lazy_exports

# name -> module; each simulator module lists its public names here.
_NAMES = {
    "make_place_cell_session": "neurodecode.datasets.place_cells",
    "make_biclustering_data": "neurodecode.datasets.biclustering",
    "make_icann_motifs": "neurodecode.datasets.motifs",
    "make_recording_motifs": "neurodecode.datasets.motifs",
    "MotifDataset": "neurodecode.datasets.motifs",
    "SimulatedSession": "neurodecode.datasets.place_cells",
    "make_visual_coding_session": "neurodecode.datasets.visual_cortex",
    "SimulatedVisualSession": "neurodecode.datasets.visual_cortex",
    "make_natural_movie": "neurodecode.datasets.stimuli",
    "make_circle_latent": "neurodecode.datasets.latents",
    "make_circle_latent_session": "neurodecode.datasets.latents",
    "make_track_latent": "neurodecode.datasets.latents",
    "make_track_latent_session": "neurodecode.datasets.latents",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _NAMES)
