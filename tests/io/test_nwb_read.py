"""read_nwb on files made with pynwb (its testing mocks) and on broken files made with h5py."""

from __future__ import annotations

import io
import mmap
import warnings

import h5py
import numpy as np
import pytest

from neurodecode.errors import NWBFormatError, SpikeTimesWarning
from neurodecode.io import parse_location, read_nwb
from neurodecode.io.nwb_read import read_units_column


def _write(nwbfile, path):
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "w") as nwb_io:
        nwb_io.write(nwbfile)
    return path


@pytest.fixture
def mock_file(tmp_path):
    """A pynwb-made file with everything the reader handles, and pynwb's own view of it."""
    from pynwb.base import Images
    from pynwb.behavior import BehavioralTimeSeries, Position
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject
    from pynwb.image import GrayscaleImage, ImageSeries
    from pynwb.testing.mock.base import mock_TimeSeries
    from pynwb.testing.mock.behavior import mock_SpatialSeries
    from pynwb.testing.mock.ecephys import mock_ElectrodeGroup
    from pynwb.testing.mock.file import mock_NWBFile

    rng = np.random.default_rng(1)
    nwbfile = mock_NWBFile(identifier="mock-session", session_description="mock file",
                           institution="Somewhere", lab="Lab")
    nwbfile.subject = Subject(subject_id="m7", species="Mus musculus", sex="F")
    group = mock_ElectrodeGroup(nwbfile=nwbfile)
    locations = ["CA1", "CA1", "brain_region: DG; layer: 2", "N/A", "V1"]
    for i, loc in enumerate(locations):
        nwbfile.add_electrode(id=100 + i, location=loc, group=group)
    nwbfile.add_unit_column("quality", "sorting quality")
    nwbfile.add_unit_column("snr", "signal to noise")
    trains = [np.sort(rng.uniform(0, 20, n)) for n in (30, 0, 12, 5)]
    electrodes = [[0, 1], [2], [3], [4]]
    for uid, (train, elec) in enumerate(zip(trains, electrodes, strict=True)):
        nwbfile.add_unit(id=uid + 10, spike_times=train, electrodes=elec,
                         quality=["good", "mua"][uid % 2], snr=float(uid) + 0.5)
    nwbfile.add_trial_column("condition", "stimulus condition")
    nwbfile.add_trial_column("correct", "answer correct")
    for k in range(4):
        nwbfile.add_trial(start_time=2.0 * k, stop_time=2.0 * k + 1, condition=f"c{k % 2}",
                          correct=bool(k % 2))
    pres = TimeIntervals(name="gratings_presentations", description="gratings")
    pres.add_column("orientation", "deg")
    for k in range(3):
        pres.add_interval(start_time=float(k), stop_time=k + 0.25, orientation=45.0 * k)
    nwbfile.add_time_intervals(pres)
    module = nwbfile.create_processing_module("behavior", "behaviour")
    position = Position(name="Position")
    position.add_spatial_series(mock_SpatialSeries(name="position", data=rng.normal(size=(50, 2)),
                                                   rate=10.0, starting_time=1.0))
    module.add(position)
    speeds = BehavioralTimeSeries(name="BehavioralTimeSeries")
    speeds.add_timeseries(mock_TimeSeries(name="speed", data=np.arange(20, dtype=np.int16),
                                          conversion=0.5, offset=1.0, rate=None,
                                          timestamps=np.linspace(0, 19, 20)))
    speeds.add_timeseries(mock_TimeSeries(name="position", data=np.arange(5.0), rate=1.0))
    module.add(speeds)
    # Epochs that reference a TimeSeries (a compound column the reader drops).
    nwbfile.add_epoch(0.0, 10.0, ["run", "light"], timeseries=[speeds["speed"]])
    nwbfile.add_epoch(10.0, 20.0, ["sleep"], timeseries=[speeds["speed"]])
    movie = rng.integers(0, 255, size=(3, 4, 6), dtype=np.uint8)
    nwbfile.add_stimulus_template(ImageSeries(name="movie", data=movie, unit="n/a", rate=1.0))
    images = [GrayscaleImage(name=f"img{k}", data=rng.random((4, 5))) for k in range(2)]
    nwbfile.add_stimulus_template(Images(name="scenes", images=images))
    path = _write(nwbfile, tmp_path / "mock.nwb")
    return path, dict(trains=trains, movie=movie, locations=locations)


def test_units_spikes_and_brain_area(mock_file):
    path, truth = mock_file
    s = read_nwb(path)
    assert s.unit_ids.tolist() == [10, 11, 12, 13]
    for train, got in zip(truth["trains"], s.spikes, strict=True):
        np.testing.assert_array_equal(got, train)
    assert s.units["quality"].tolist() == ["good", "mua", "good", "mua"]
    assert s.units["snr"].dtype == np.float64
    # First electrode's location; compound strings parsed; placeholders unknown.
    assert s.units["brain_area"].tolist() == ["CA1", "DG", "", "V1"]
    assert [e.tolist() for e in s.units["electrodes"]] == [[100, 101], [102], [103], [104]]
    light = read_nwb(path, skip_unit_columns=["quality", "electrodes"])
    assert list(light.units.columns) == ["snr", "brain_area"]
    assert light.units["brain_area"].tolist() == ["", "", "", ""]  # no electrodes read


def test_same_tables_as_pynwb(mock_file):
    """pynwb's own reading of the same file is the reference for every table."""
    from pynwb import NWBHDF5IO

    path, _ = mock_file
    s = read_nwb(path)
    with NWBHDF5IO(str(path), "r") as nwb_io:
        f = nwb_io.read()
        trials = f.trials.to_dataframe()
        epochs = f.epochs.to_dataframe()
        pres = f.intervals["gratings_presentations"].to_dataframe()
        position = f.processing["behavior"]["Position"]["position"]
        pos_data, pos_times = position.data[()], position.get_timestamps()
        speed = f.processing["behavior"]["BehavioralTimeSeries"]["speed"]
        speed_data = speed.get_data_in_units()
    got = s.intervals["trials"]
    assert list(got.columns) == list(trials.columns)
    assert got.index.tolist() == trials.index.tolist()
    assert got["condition"].tolist() == trials["condition"].tolist()
    assert got["correct"].dtype == bool and got["correct"].tolist() == [False, True, False, True]
    assert s.intervals["epochs"]["tags"].tolist() == [list(t) for t in epochs["tags"]]
    assert "timeseries" in epochs.columns
    assert list(s.intervals["epochs"].columns) == ["start_time", "stop_time", "tags"]
    np.testing.assert_array_equal(s.intervals["gratings_presentations"]["orientation"],
                                  pres["orientation"])
    var = s.behavior["Position_position"]
    assert var.dims == ("Position_position_time", "Position_position_axis")
    assert var["Position_position_axis"].values.tolist() == ["x", "y"]
    np.testing.assert_array_equal(var.values, pos_data)
    np.testing.assert_allclose(var["Position_position_time"].values, pos_times)
    np.testing.assert_allclose(s.behavior["speed"].values, speed_data)  # conversion, offset
    assert s.behavior["speed"].attrs["units"]


def test_behavior_collision_and_selection(mock_file):
    path, _ = mock_file
    s = read_nwb(path)
    # Two series named "position": both are prefixed with their container.
    assert {"Position_position", "BehavioralTimeSeries_position", "speed"} == set(
        s.behavior.data_vars)
    assert s.behavior["BehavioralTimeSeries_position"].dims == (
        "BehavioralTimeSeries_position_time",)
    only = read_nwb(path, load_behavior=["speed"], load_stimuli=False, load_intervals=False)
    assert list(only.behavior.data_vars) == ["speed"]
    assert only.stimuli == {} and only.intervals == {}


def test_stimuli_and_metadata(mock_file):
    path, truth = mock_file
    s = read_nwb(path)
    movie = s.stimuli["movie"]
    assert movie.dims == ("frame", "y", "x")
    np.testing.assert_array_equal(movie.values, truth["movie"])
    scenes = s.stimuli["scenes"]
    assert scenes.dims == ("frame", "y", "x") and scenes.shape == (2, 4, 5)
    assert scenes["image"].values.tolist() == ["img0", "img1"]
    meta = s.metadata
    assert meta["session_id"] == "mock-session"
    assert meta["session_description"] == "mock file"
    assert meta["institution"] == "Somewhere" and meta["lab"] == "Lab"
    assert meta["subject"] == {"sex": "F", "species": "Mus musculus", "subject_id": "m7"}
    assert meta["source"] == str(path)
    assert meta["session_start_time"].startswith("19")  # mock_NWBFile's 1970 start


def test_series_directly_in_modules(tmp_path):
    """Allen-style series sit directly in a module: collisions take the module's name."""
    from pynwb.testing.mock.base import mock_TimeSeries
    from pynwb.testing.mock.ecephys import mock_Units
    from pynwb.testing.mock.file import mock_NWBFile

    nwbfile = mock_NWBFile()
    mock_Units(num_units=2, nwbfile=nwbfile)
    for module_name in ("running", "treadmill"):
        module = nwbfile.create_processing_module(module_name, module_name)
        module.add(mock_TimeSeries(name="speed", data=np.arange(4.0), rate=2.0))
    s = read_nwb(_write(nwbfile, tmp_path / "modules.nwb"))
    assert set(s.behavior.data_vars) == {"running_speed", "treadmill_speed"}
    np.testing.assert_allclose(s.behavior["running_speed"]["running_speed_time"], [0, .5, 1, 1.5])


def test_open_handle_and_file_like(mock_file):
    path, truth = mock_file
    with h5py.File(path, "r") as f:
        s = read_nwb(f)
        assert f.id.valid  # a handle we were given stays open
    assert s.spikes.n_spikes == sum(len(t) for t in truth["trains"])
    with open(path, "rb") as raw:
        s2 = read_nwb(io.BytesIO(raw.read()))
    assert s2.spikes.equals(s.spikes)


def _units_file(tmp_path, index_dtype=np.uint8, times=None, ends=None, name="units.nwb"):
    """A pynwb file whose spike_times/index are then rewritten with h5py."""
    from pynwb.testing.mock.ecephys import mock_Units
    from pynwb.testing.mock.file import mock_NWBFile

    nwbfile = mock_NWBFile()
    mock_Units(num_units=3, max_spikes_per_unit=5, nwbfile=nwbfile)
    path = _write(nwbfile, tmp_path / name)
    with h5py.File(path, "r+") as f:
        units = f["units"]
        if times is None:
            times = units["spike_times"][()]
            ends = units["spike_times_index"][()]
        attrs = dict(units["spike_times_index"].attrs)
        del units["spike_times"], units["spike_times_index"]
        units.create_dataset("spike_times", data=np.asarray(times, dtype=np.float64))
        index = units.create_dataset("spike_times_index", data=np.asarray(ends, index_dtype))
        index.attrs.update(attrs)
        index.attrs["target"] = units["spike_times"].ref
    return path


def test_uint8_index_cast_to_int64(tmp_path):
    # 300 spikes for unit 1 would overflow uint8 arithmetic if the index were not widened.
    times = np.concatenate([np.linspace(0, 1, 100), np.linspace(0, 1, 120), np.linspace(0, 1, 30)])
    path = _units_file(tmp_path, np.uint8, times, [100, 220, 250])
    with h5py.File(path, "r") as f:
        assert f["units/spike_times_index"].dtype == np.uint8
    s = read_nwb(path)
    assert s.spikes.offsets.dtype == np.int64
    assert s.spikes.counts.tolist() == [100, 120, 30]


def test_nan_and_unsorted_spike_times(tmp_path):
    times = [0.1, 0.2, 0.3, 0.5, np.nan, 0.7, 0.9, 0.8]
    path = _units_file(tmp_path, np.int64, times, [3, 6, 8])
    with pytest.warns(SpikeTimesWarning) as record:
        s = read_nwb(path)
    message = str(record[0].message)
    assert "units.nwb" in message and "/units" in message
    assert "NaN" in message and "not sorted" in message
    assert "unit ids 1" in message and "unit ids 2" in message
    assert s.spikes.counts.tolist() == [3, 2, 2]
    np.testing.assert_array_equal(s.spikes[2], [0.8, 0.9])
    with pytest.raises(NWBFormatError, match="units.nwb.*NaN"):
        read_nwb(path, sort_spikes="raise")


def test_index_that_does_not_fit(tmp_path):
    path = _units_file(tmp_path, np.int64, [0.1, 0.2, 0.3], [1, 2, 7])
    with pytest.raises(NWBFormatError, match="spike_times_index.*does not fit"):
        read_nwb(path)


def test_units_without_spike_times(tmp_path):
    path = _units_file(tmp_path)
    with h5py.File(path, "r+") as f:
        del f["units/spike_times"], f["units/spike_times_index"]
    with pytest.raises(NWBFormatError, match=r"units\.nwb: the Units table /units has no "
                                             "spike_times"):
        read_nwb(path)


def test_empty_units_table_warns(tmp_path):
    path = _units_file(tmp_path, np.int64, [], [])
    with h5py.File(path, "r+") as f:
        del f["units/id"]
        f["units"].create_dataset("id", data=np.zeros(0, np.int64))
    with pytest.warns(SpikeTimesWarning, match=r"units\.nwb.*empty \(0 units\)"), \
            pytest.warns(UserWarning, match="'unit_name': 3"):  # the mock's 3-row column
        s = read_nwb(path)
    assert s.n_units == 0


def test_not_hdf5_not_nwb_legacy_missing(tmp_path):
    text = tmp_path / "notes.nwb"
    text.write_text("not an HDF5 file")
    with pytest.raises(NWBFormatError, match=r"notes\.nwb: not an HDF5 file"):
        read_nwb(text)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(NWBFormatError, match=r"plain\.h5: an HDF5 file but not an NWB file"):
        read_nwb(plain)
    legacy = tmp_path / "legacy.nwb"
    with h5py.File(legacy, "w") as f:
        f["nwb_version"] = "NWB-1.0.6"
        f.create_group("processing")
    with pytest.raises(NWBFormatError, match=r"legacy\.nwb: legacy NWB 1\.x layout"):
        read_nwb(legacy)
    with pytest.raises(FileNotFoundError, match="missing.nwb"):
        read_nwb(tmp_path / "missing.nwb")
    with pytest.raises(ValueError, match="sort_spikes"):
        read_nwb(plain, sort_spikes="maybe")


def test_allen_layout_peak_channel(tmp_path):
    """Units linked to channels through peak_channel_id (no electrodes column)."""
    from pynwb.testing.mock.ecephys import mock_ElectrodeGroup
    from pynwb.testing.mock.file import mock_NWBFile

    nwbfile = mock_NWBFile()
    group = mock_ElectrodeGroup(nwbfile=nwbfile)
    for cid, area in [(850, "VISp"), (851, "VISp"), (900, "LGd"), (901, "unknown")]:
        nwbfile.add_electrode(id=cid, location=area, group=group)
    nwbfile.add_unit_column("peak_channel_id", "peak channel")
    for uid, (cid, n) in enumerate([(900, 3), (850, 2), (901, 1), (851, 0)]):
        nwbfile.add_unit(id=950 + uid, spike_times=np.arange(n) / 10.0, peak_channel_id=cid)
    path = _write(nwbfile, tmp_path / "allen.nwb")
    s = read_nwb(path)
    assert s.units["brain_area"].tolist() == ["LGd", "VISp", "", "VISp"]
    assert s.spikes.counts.tolist() == [3, 2, 1, 0]


def test_units_in_a_processing_module(tmp_path):
    """Some older writers put the Units table in a processing module."""
    path = _units_file(tmp_path, np.int64, [0.1, 0.2, 0.3], [1, 2, 3])
    with h5py.File(path, "r+") as f:
        module = f["processing"].create_group("ecephys")
        module.attrs["neurodata_type"] = "ProcessingModule"
        f.move("units", "processing/ecephys/spikes")
    s = read_nwb(path)
    assert s.spikes.counts.tolist() == [1, 1, 1]


def test_doubly_ragged_column(tmp_path):
    """``waveforms``-style columns: an index of an index gives per-unit lists of arrays."""
    path = _units_file(tmp_path, np.int64, [0.1, 0.2, 0.3], [1, 2, 3])
    with h5py.File(path, "r+") as f:
        units = f["units"]
        units.create_dataset("waveforms", data=np.arange(12.0).reshape(6, 2))
        units.create_dataset("waveforms_index", data=np.array([2, 3, 6], np.uint8))
        units.create_dataset("waveforms_index_index", data=np.array([1, 1, 3], np.uint16))
        units.attrs["colnames"] = list(units.attrs["colnames"]) + ["waveforms"]
    w = read_nwb(path).units["waveforms"]
    alone = read_units_column(path, "waveforms")
    np.testing.assert_array_equal(alone[2][1], w.iloc[2][1])
    with pytest.raises(KeyError, match="units.nwb: /units has no column 'nope'"):
        read_units_column(path, "nope")
    assert [len(x) for x in w] == [1, 0, 2]
    np.testing.assert_array_equal(w.iloc[0][0], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(w.iloc[2][1], [[6, 7], [8, 9], [10, 11]])


def test_column_of_wrong_length_is_named(tmp_path):
    path = _units_file(tmp_path, np.int64, [0.1, 0.2, 0.3], [1, 2, 3])
    with h5py.File(path, "r+") as f:
        f["units"].create_dataset("depth", data=np.arange(5.0))
        f["units"].attrs["colnames"] = list(f["units"].attrs["colnames"]) + ["depth"]
    with pytest.warns(UserWarning, match=r"units\.nwb: table /units has 3 rows.*'depth': 5"):
        s = read_nwb(path)
    assert "depth" not in s.units


def test_order_check_agrees_with_spiketrains(rng):
    """The one-pass order/NaN check used on read agrees with SpikeTrains(sort="check")."""
    from neurodecode.data import SpikeTrains
    from neurodecode.io.nwb_read import _clean

    for _ in range(3000):
        n_units = int(rng.integers(1, 6))
        counts = rng.integers(0, 5, n_units)
        times = np.round(rng.uniform(0, 3, counts.sum()), 1)  # ties happen
        offsets = np.concatenate([[0], np.cumsum(counts)])
        if rng.random() < 0.7:
            labels = np.repeat(np.arange(n_units), counts)
            times = times[np.lexsort((times, labels))]
        if rng.random() < 0.2 and times.size:
            times[rng.integers(times.size)] = np.nan
        try:
            SpikeTrains(times, offsets, sort="check")
            expected = True
        except ValueError:
            expected = False
        assert _clean(times, offsets) == expected
        assert _clean(times, offsets, block=int(rng.integers(1, 4))) == expected


def test_mmap_read_is_identical(tmp_path, mock_file):
    from neurodecode.data import Session, SpikeTrains
    from neurodecode.io import write_nwb

    st = SpikeTrains.from_list([[0.1, 0.5, 0.7], [], [0.2, 0.3]], unit_ids=[4, 5, 6])
    path = write_nwb(Session(st), tmp_path / "m.nwb")
    mapped = read_nwb(path, mmap=True)
    base = mapped.spikes.times
    while getattr(base, "base", None) is not None:
        base = base.base
    assert isinstance(base, mmap.mmap)  # mapped from the file, not copied
    assert mapped.equals(read_nwb(path))
    mapped.spikes.times[0] = -1.0  # copy-on-write: the file is untouched
    assert read_nwb(path).spikes.times[0] == 0.1
    # Files that cannot be mapped (chunked datasets from pynwb) read normally.
    other, _ = mock_file
    assert read_nwb(other, mmap=True).equals(read_nwb(other))


def test_parse_location():
    assert parse_location("brain_region: ALM; brain_subregion: N/A; hemisphere: left") == "ALM"
    assert parse_location("area: V1; depth: 300") == "V1"
    assert parse_location("hemisphere: left; whatever: x") == "left"
    assert parse_location(b"CA3") == "CA3"
    assert parse_location("unknown") == "" and parse_location("") == ""


def test_no_warning_on_clean_file(mock_file):
    path, _ = mock_file
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpikeTimesWarning)
        read_nwb(path)
