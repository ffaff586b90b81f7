"""Save and load estimators without pickle: parameters as JSON, tensors as torch/safe files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from neurodecode.errors import DataFormatError
from neurodecode.utils.atomic import atomic_path

__all__ = ["save_state", "load_state", "FORMAT_VERSION"]

FORMAT_VERSION = 1


def save_state(path, *, kind: str, params: dict, arrays: dict | None = None,
               tensors: dict | None = None, extra: dict | None = None) -> Path:
    """Write an estimator to one ``.zip`` file, atomically.

    Parameters
    ----------
    path : str or Path
    kind : str
        Estimator class name, checked on load.
    params : dict
        JSON-serialisable constructor parameters.
    arrays : dict of str to ndarray, optional
        Learned numpy arrays (stored with ``np.save``, ``allow_pickle=False``).
    tensors : dict of str to torch.Tensor, optional
        A torch ``state_dict`` (stored with ``torch.save``, loaded with ``weights_only=True``).
    extra : dict, optional
        Further JSON-serialisable learned state.
    """
    import io

    path = Path(path)
    header = {"format_version": FORMAT_VERSION, "kind": kind, "params": params,
              "extra": extra or {}, "arrays": sorted(arrays or {}), "package": "neurodecode"}
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        from neurodecode import __version__

        header["package_version"] = __version__
        zf.writestr("header.json", json.dumps(header, indent=1, default=_json_default))
        for name, value in (arrays or {}).items():
            buf = io.BytesIO()
            np.save(buf, np.asarray(value), allow_pickle=False)
            zf.writestr(f"arrays/{name}.npy", buf.getvalue())
        if tensors:
            import torch

            buf = io.BytesIO()
            torch.save({k: v.detach().cpu() for k, v in tensors.items()}, buf)
            zf.writestr("tensors.pt", buf.getvalue())
    return path


def load_state(path, *, kind: str) -> dict:
    """Read what :func:`save_state` wrote; check the kind and format version.

    Returns a dict with ``params``, ``extra``, ``arrays`` (dict of ndarray) and
    ``tensors`` (a state dict, or ``None``).
    """
    import io

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved model at {path}")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        msg = f"{path} is not a neurodecode model file (not a zip archive)."
        raise DataFormatError(msg) from exc
    with zf:
        try:
            header = json.loads(zf.read("header.json"))
        except KeyError as exc:
            msg = f"{path} is not a neurodecode model file (no header.json)."
            raise DataFormatError(msg) from exc
        if header.get("kind") != kind:
            raise DataFormatError(f"{path} holds a {header.get('kind')!r}, not a {kind!r}.")
        if header.get("format_version") != FORMAT_VERSION:
            raise DataFormatError(
                f"{path} was written in model-file format {header.get('format_version')} by "
                f"neurodecode {header.get('package_version')}; this version reads format "
                f"{FORMAT_VERSION}.")
        arrays = {name: np.load(io.BytesIO(zf.read(f"arrays/{name}.npy")), allow_pickle=False)
                  for name in header["arrays"]}
        tensors = None
        if "tensors.pt" in zf.namelist():
            import torch

            tensors = torch.load(io.BytesIO(zf.read("tensors.pt")), weights_only=True,
                                 map_location="cpu")
    return {"params": header["params"], "extra": header["extra"], "arrays": arrays,
            "tensors": tensors, "header": header}


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"parameter value {value!r} is not JSON-serialisable")
