"""The ``neurodecode`` command.

``neurodecode demo``        run the end-to-end demo on built-in simulated data
                           (``--dataset place-cells`` for the hippocampus one)
``neurodecode info FILE``   summarise an NWB file (units per area, duration, intervals, behaviour)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    from neurodecode import __version__

    parser = argparse.ArgumentParser(
        prog="neurodecode",
        description="Analyse and decode neural population recordings.")
    parser.add_argument("--version", action="version", version=f"neurodecode {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="simulate a session, write/read NWB, decode held-out, save a figure",
        description="Simulate a recording with known ground truth, write it as NWB into the "
                    "cache, read it back, decode held-out with cross-validation, print the "
                    "result next to chance and save a figure. Default: a visual-cortex "
                    "Neuropixels session in the Allen layout, natural-movie frame "
                    "identification from held-out repeats; --dataset place-cells: CA1 place "
                    "cells on a linear track, position decoding.")
    demo.add_argument("--dataset", choices=("visual-cortex", "place-cells"),
                      default="visual-cortex", help="which simulated recording (default "
                                                     "visual-cortex)")
    demo.add_argument("--out", metavar="DIR", default=None,
                      help="folder for the figure (default ./neurodecode_output)")
    demo.add_argument("--cache", metavar="DIR", default=None,
                      help="folder for the simulated NWB file (default $NEURODECODE_CACHE or "
                           "the user cache folder)")
    demo.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    demo.add_argument("--quiet", action="store_true", help="print only the result lines")

    info = sub.add_parser("info", help="summarise an NWB file",
                          description="Print units per brain area, duration, spike counts, "
                                      "interval tables with row counts and behaviour series.")
    info.add_argument("file", help="path to an .nwb file")
    return parser


def _run_demo(args) -> int:
    if args.dataset == "place-cells":
        from neurodecode.pipeline.demo import run_place_cell_demo as run
    else:
        from neurodecode.pipeline.visual_demo import run_visual_demo as run
    run(out_dir=args.out, cache_dir=args.cache, random_state=args.seed, verbose=not args.quiet)
    return 0


def _run_info(args) -> int:
    from neurodecode.io import (
        describe_allen,
        describe_nwb,
        is_allen_ecephys,
        is_allen_ophys,
        read_allen_ecephys,
        read_allen_ophys,
    )

    path = Path(args.file)
    if path.is_file() and is_allen_ecephys(path):
        print(describe_nwb(path))
        print(describe_allen(read_allen_ecephys(path)))
    elif path.is_file() and is_allen_ophys(path):
        print(describe_allen(read_allen_ophys(path)))
    else:
        print(describe_nwb(path))
    return 0


def main(argv=None) -> int:
    """Entry point of the ``neurodecode`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from neurodecode.errors import NeurodecodeError

    try:
        return {"demo": _run_demo, "info": _run_info}[args.command](args)
    except (NeurodecodeError, FileNotFoundError, FileExistsError, KeyError, ValueError) as exc:
        # Our errors already name the file/table/argument: print them, no traceback.
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"neurodecode {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
