"""The `neurodecode` command: demo end to end, info on real files, clear errors."""

import shutil
import subprocess
import sys

import pytest

from neurodecode.cli import main


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_version():
    out = subprocess.run([sys.executable, "-m", "neurodecode.cli", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("neurodecode ")


def test_info_on_real_file(shared_data, capsys):
    path = shared_data / "nwb_corpus" / "pynapple_A8604-211122.nwb"
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "3 units" in out
    assert "epochs" in out


def test_info_errors_are_one_line_not_tracebacks(shared_data, tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.nwb")]) == 1
    err = capsys.readouterr().err
    assert "missing.nwb" in err and "Traceback" not in err
    no_units = shared_data / "nwb_corpus" / "pynwb_2.1.0_no_units.nwb"
    assert main(["info", str(no_units)]) == 1
    err = capsys.readouterr().err
    assert "no Units table" in err and "pynwb_2.1.0_no_units.nwb" in err


def test_demo_command_end_to_end(tmp_path):
    """The README's first command: installed entry point, no arguments but folders."""
    exe = shutil.which("neurodecode")
    command = [exe] if exe else [sys.executable, "-m", "neurodecode.cli"]
    env_cache = tmp_path / "cache"
    out = subprocess.run(command + ["demo", "--out", str(tmp_path / "out"),
                                    "--cache", str(env_cache)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "frame identification" in out.stdout and "chance" in out.stdout
    assert (tmp_path / "out" / "visual_demo.png").stat().st_size > 10_000
    assert list(env_cache.glob("*.nwb"))


def test_place_cell_demo_reachable_by_option(tmp_path, capsys):
    assert main(["demo", "--dataset", "place-cells", "--out", str(tmp_path),
                 "--cache", str(tmp_path), "--quiet", "--seed", "3"]) == 0
    assert (tmp_path / "place_cell_demo.png").is_file()


@pytest.mark.parametrize("argv", [["info"], ["nonsense"]])
def test_bad_arguments_exit_nonzero(argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_info_prints_allen_structure_for_an_allen_layout_file(tmp_path, capsys):
    from neurodecode.datasets import make_visual_coding_session

    sim = make_visual_coding_session(path=tmp_path / "allen.nwb")
    assert main(["info", str(sim.path)]) == 0
    out = capsys.readouterr().out
    assert "unit filter: kept" in out
    assert "Units per area" in out and "VISp" in out
    assert "natural_movie_one" in out and "block" in out
