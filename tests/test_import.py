"""`import neurodecode` must stay light: no torch, pynwb, matplotlib or dask."""

import subprocess
import sys


def test_import_does_not_load_heavy_packages():
    code = ("import sys, neurodecode, neurodecode.data, neurodecode.models, neurodecode.io, "
            "neurodecode.datasets, neurodecode.metrics, neurodecode.plot, neurodecode.decoders; "
            "heavy = [m for m in ('torch', 'pynwb', 'matplotlib', 'dask', 'arviz', 'h5py') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import neurodecode loaded: {out.stdout.strip()}"


def test_lazy_names_resolve():
    import neurodecode as nd

    assert nd.Session.__name__ == "Session"
    assert nd.SpikeTrains.__name__ == "SpikeTrains"
    assert "read_nwb" in dir(nd)
