"""Figures: rasters, PSTHs, embeddings, biclusters, motif kernels, frame grids.

Each function imports matplotlib when called, so importing this package is cheap.
"""

from __future__ import annotations

from neurodecode._lazy import lazy_exports

_NAMES: dict[str, str] = {
    "plot_raster": "neurodecode.plot.rasters",
    "plot_motif_kernels": "neurodecode.plot.motifs",
    "plot_motif_detections": "neurodecode.plot.motifs",
    "plot_pruning_curve": "neurodecode.plot.motifs",
    "plot_bicluster_raster": "neurodecode.plot.biclusters",
    "plot_traces": "neurodecode.plot.biclusters",
    "plot_decoded_trace": "neurodecode.plot.rasters",
    "plot_decoding_summary": "neurodecode.plot.rasters",
    "plot_embedding": "neurodecode.plot.embeddings",
    "plot_loss": "neurodecode.plot.embeddings",
    "plot_consistency": "neurodecode.plot.embeddings",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _NAMES)
