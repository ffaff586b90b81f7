"""Reading and writing recordings: NWB files, Allen Brain Observatory layouts, remote caches."""

from __future__ import annotations

from neurodecode._lazy import lazy_exports

_NAMES = {
    "read_nwb": "neurodecode.io.nwb_read",
    "write_nwb": "neurodecode.io.nwb_write",
    "describe_nwb": "neurodecode.io.summary",
    "describe_session": "neurodecode.io.summary",
    "parse_location": "neurodecode.io.nwb_read",
    "read_allen_ecephys": "neurodecode.io.allen_ecephys",
    "align_stimulus": "neurodecode.io.allen_ecephys",
    "describe_allen": "neurodecode.io.allen_ecephys",
    "read_allen_ophys": "neurodecode.io.allen_ophys",
    "is_allen_ecephys": "neurodecode.io.allen_ecephys",
    "is_allen_ophys": "neurodecode.io.allen_ophys",
    "download": "neurodecode.io.remote",
    "open_remote": "neurodecode.io.remote",
    "DownloadError": "neurodecode.io.remote",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _NAMES)
