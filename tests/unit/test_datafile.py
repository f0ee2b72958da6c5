"""Data-only files: what a reader relies on when a monitor comes from someone else."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pipeline.datafile import DataFileError, read_data_file, write_data_file


def test_round_trip_keeps_values_and_arrays(tmp_path: Path) -> None:
    arrays = {"a": np.arange(6, dtype=np.int64).reshape(2, 3), "b": np.linspace(0, 1, 5)}
    write_data_file(tmp_path / "x.npz", {"name": "x", "k": [1, 2.5]}, arrays)
    meta, read = read_data_file(tmp_path / "x.npz")
    assert meta == {"name": "x", "k": [1, 2.5]}
    assert read.keys() == arrays.keys()
    for name, values in arrays.items():
        np.testing.assert_array_equal(read[name], values)
        assert read[name].dtype == values.dtype


def test_same_content_gives_the_same_bytes(tmp_path: Path) -> None:
    # DVC and the registry compare files by hash: no clock or dict order in the bytes
    first = write_data_file(
        tmp_path / "1.npz", {"b": 1, "a": 2}, {"y": np.ones(3), "x": np.zeros(2)}
    )
    second = write_data_file(
        tmp_path / "2.npz", {"a": 2, "b": 1}, {"x": np.zeros(2), "y": np.ones(3)}
    )
    assert first == second


def test_an_object_array_is_neither_written_nor_read(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="only numbers are stored"):
        write_data_file(tmp_path / "x.npz", {}, {"o": np.array([{"a": 1}], dtype=object)})
    # a hand-made file with a pickled object array inside: refused, its payload never runs
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("meta.json", "{}")
        with archive.open("o.npy", "w") as member:
            np.lib.format.write_array(member, np.array([Exploding()], dtype=object))
    with pytest.raises(DataFileError, match="evil.npz: unreadable data file"):
        read_data_file(path)


def test_a_pickle_or_a_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "monitor.npz"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(DataFileError, match="monitor.npz: unreadable data file"):
        read_data_file(path)
    with pytest.raises(DataFileError, match="absent.npz: file not found"):
        read_data_file(tmp_path / "absent.npz")


class Exploding:
    """Unpickling this would raise: the test fails loudly if a reader ever unpickles."""

    def __reduce__(self):
        return (_explode, ())


def _explode() -> None:
    raise AssertionError("a pickle payload ran while reading a data file")
