"""Data-only files: a JSON document and named numeric arrays in one zip, read without pickle.

A fitted object that must travel between stages, the registry and a user's machine (the
monitor) is stored as data, never as a pickle: unpickling a file runs whatever code it names,
so a ``monitor.pkl`` handed over by anyone could execute on the reader's machine. Here the
reader only parses JSON and ``.npy`` headers (``numpy.lib.format.read_array`` with
``allow_pickle=False``) and rebuilds the object from those values itself.

Layout: a zip (the ``.npz`` layout, so ``numpy.load`` can open it too) holding ``meta.json``
and one ``<name>.npy`` per array. Members are written in sorted order with a fixed timestamp,
so the same content gives the same bytes (DVC and the registry compare files by hash).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipeline.atomic import discard, partial_path, publish
from pipeline.errors import SealauditError
from pipeline.provenance import sha256_file

META = "meta.json"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest zip timestamp: no wall clock in the bytes
NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float: never object or string arrays


class DataFileError(SealauditError):
    """A data file is missing, damaged, or holds something other than JSON and plain arrays."""


def write_data_file(path: Path, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> str:
    """Write ``meta`` and ``arrays`` to ``path`` whole or not at all; returns its sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(partial_path(path), "w", zipfile.ZIP_DEFLATED) as archive:
            _add(archive, META, json.dumps(meta, sort_keys=True, indent=1).encode("utf-8"))
            for name in sorted(arrays):
                _add(archive, f"{name}.npy", _npy_bytes(name, arrays[name]))
        with partial_path(path).open("rb") as handle:
            os.fsync(handle.fileno())
        publish([path])
    finally:
        discard([path])
    return sha256_file(path)


def read_data_file(path: Path) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """``(meta, arrays)`` of a file ``write_data_file`` wrote.

    Raises:
        DataFileError: the file is missing, not such a zip, or holds an object array.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: file not found")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if META not in names:
                raise DataFileError(f"{path}: no {META} inside; not a sealaudit data file")
            meta = json.loads(archive.read(META))
            arrays = {
                name.removesuffix(".npy"): _read_npy(archive.read(name))
                for name in names
                if name != META
            }
    except (zipfile.BadZipFile, ValueError, OSError, KeyError) as error:
        raise DataFileError(f"{path}: unreadable data file ({error})") from error
    if not isinstance(meta, dict):
        raise DataFileError(f"{path}: {META} is not a JSON object")
    return meta, arrays


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def _npy_bytes(name: str, array: NDArray[Any]) -> bytes:
    values = np.ascontiguousarray(array)
    if values.dtype.kind not in NUMERIC_KINDS:
        raise DataFileError(f"array {name!r} has dtype {values.dtype}; only numbers are stored")
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, values, allow_pickle=False)
    return buffer.getvalue()


def _read_npy(data: bytes) -> NDArray[Any]:
    # allow_pickle=False: an object array (the one way a .npy can carry code) is refused
    return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
