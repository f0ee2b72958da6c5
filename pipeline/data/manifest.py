"""The canonical dataset layout and its manifest (see docs/architecture.md).

Writers build a dataset in a staging folder beside the target and move it into place only when
it is complete, so a failed import or generation never leaves half a dataset, and an existing
dataset is never overwritten unless the caller asks for it.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from pipeline.errors import SealauditError

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.csv"
DATASET_INFO_NAME = "dataset.json"
OFFICIAL_SPLITS_NAME = "official_splits.csv"
IMAGES_DIR = "images"
MASKS_DIR = "masks"


class DatasetError(SealauditError):
    """A dataset problem the user must fix; the message names the file and the fix."""


@dataclass(frozen=True)
class ManifestRow:
    """One image of the canonical dataset.

    The ``defect_*`` columns are the defect's ground truth (validation/data_dictionary.yaml):
    NaN sizes and contrasts (empty cells in the file) and empty unit and form where there is no
    defect or it is unknown.
    """

    image_id: str
    image_path: str
    mask_path: str
    sha256: str
    label: int
    defect_type: str
    view_tag: str
    capture_event: str
    capture_date: str
    capture_time: str
    source_file: str
    height: int
    width: int
    defect_size: float
    defect_size_unit: str
    defect_contrast: float
    defect_form: str


MANIFEST_COLUMNS = tuple(f.name for f in fields(ManifestRow))
_INT_COLUMNS = {"label", "height", "width"}
_FLOAT_COLUMNS = {"defect_size", "defect_contrast"}
TRUTH_COLUMNS = ("defect_size", "defect_size_unit", "defect_contrast", "defect_form")
FLOAT_DECIMALS = 4
NO_DEFECT_TRUTH: dict[str, Any] = {
    "defect_size": math.nan,
    "defect_size_unit": "",
    "defect_contrast": math.nan,
    "defect_form": "",
}


def _cell(name: str, value: Any) -> Any:
    if name not in _FLOAT_COLUMNS:
        return value
    return "" if math.isnan(value) else f"{value:.{FLOAT_DECIMALS}f}"


def truth_cells(values: dict[str, Any]) -> dict[str, str]:
    """The ``defect_*`` cells as written: numbers to FLOAT_DECIMALS places, NaN as empty."""
    return {name: _cell(name, values[name]) for name in TRUTH_COLUMNS}


def write_manifest(rows: Iterable[ManifestRow], path: Path) -> None:
    """Write rows sorted by image_id, so the file is byte-identical for the same content."""
    ordered = sorted(rows, key=lambda row: row.image_id)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in ordered:
            writer.writerow({name: _cell(name, value) for name, value in asdict(row).items()})


def read_manifest(data_dir: Path) -> list[ManifestRow]:
    """Read ``data_dir/manifest.csv`` with a clear error when it is absent or malformed."""
    path = Path(data_dir) / MANIFEST_NAME
    if not path.is_file():
        raise DatasetError(
            f"{path}: manifest not found; create a dataset with `sealaudit data synth` "
            "or `sealaudit data import-ssi SRC`"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = sorted(set(MANIFEST_COLUMNS) - set(reader.fieldnames or ()))
        if missing:
            raise DatasetError(f"{path}: missing column(s) {missing}; regenerate the dataset")
        return [_parse_row(raw, path, n) for n, raw in enumerate(reader, start=2)]


def _parse_row(raw: dict[str, str], path: Path, line: int) -> ManifestRow:
    values: dict[str, Any] = {}
    for name in MANIFEST_COLUMNS:
        text = raw[name] if raw[name] is not None else ""
        if name in _INT_COLUMNS:
            values[name] = _number(int, text, name, f"{path}:{line}")
        elif name in _FLOAT_COLUMNS:
            values[name] = _number(float, text, name, f"{path}:{line}") if text else math.nan
        else:
            values[name] = text
    return ManifestRow(**values)


def _number(kind: type, text: str, name: str, where: str) -> Any:
    try:
        value = kind(text)
    except ValueError as error:
        raise DatasetError(
            f"{where}: column '{name}' must be {'an integer' if kind is int else 'a number'}, "
            f"got {text!r}; regenerate the dataset"
        ) from error
    if kind is float and not math.isfinite(value):
        raise DatasetError(f"{where}: column '{name}' is {text!r}; leave it empty if unknown")
    return value


def confined(root: Path, relative: str, where: str) -> Path:
    """``root / relative`` resolved, refused unless it stays inside ``root``.

    A manifest names files relative to its dataset folder; ``..``, an absolute path or a
    symlink leading out of the folder would make a dataset read (and fingerprint) files it
    does not contain.

    Raises:
        DatasetError: the path leaves ``root``; ``where`` names the manifest row and column.
    """
    base = Path(root).resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise DatasetError(
            f"{where}: {relative!r} leads outside the dataset folder {base}; name a file "
            "inside it (e.g. images/<image_id>.png) and re-import or regenerate the dataset"
        )
    return path


def write_dataset_info(info: dict[str, Any], data_dir: Path) -> None:
    """Write the dataset identity file with stable key order."""
    text = json.dumps(info, indent=2, sort_keys=True) + "\n"
    (Path(data_dir) / DATASET_INFO_NAME).write_text(text, encoding="utf-8")


def read_dataset_info(data_dir: Path) -> dict[str, Any]:
    """Read the dataset identity file."""
    path = Path(data_dir) / DATASET_INFO_NAME
    if not path.is_file():
        raise DatasetError(f"{path}: dataset.json not found; regenerate or re-import the dataset")
    return json.loads(path.read_text(encoding="utf-8"))


@contextmanager
def staged_dataset(target: Path, force: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder that replaces ``target`` only if the block succeeds.

    The swap is two directory renames (old -> ``.<name>.previous``, staging -> ``target``) and
    the old copy is deleted only once the new one is in place, so a failure at any step leaves
    either the old dataset or the new one whole at ``target``, never a mix.

    Raises:
        DatasetError: ``target`` holds files and ``force`` is false, a backup of an
            interrupted swap is still there, or the swap failed (the old dataset is restored).
    """
    # A symlinked data folder keeps pointing where it did: swap beside the real folder.
    target = Path(target).resolve() if Path(target).is_symlink() else Path(target)
    _check_target(target, force)
    staging = target.with_name(f".{target.name}.staging")
    if staging.exists():
        shutil.rmtree(staging)
    (staging / IMAGES_DIR).mkdir(parents=True)
    (staging / MASKS_DIR).mkdir()
    try:
        yield staging
        _swap_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _backup_of(target: Path) -> Path:
    return target.with_name(f".{target.name}.previous")


def _check_target(target: Path, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise DatasetError(f"{target}: is a file, not a dataset folder; choose another --out")
    if target.exists() and any(target.iterdir()) and not force:
        raise DatasetError(
            f"{target}: already holds a dataset; pass --force to replace it "
            "(the old one stays recoverable from the DVC cache if it was `dvc add`-ed)"
        )
    backup = _backup_of(target)
    if backup.exists():
        raise DatasetError(
            f"{backup}: left by an interrupted dataset swap; if {target} is complete delete "
            f"{backup.name}, otherwise rename it back to {target.name}, then retry"
        )


def _swap_into_place(staging: Path, target: Path) -> None:
    # Renames within one folder are atomic; the old dataset is deleted only after the swap.
    backup = _backup_of(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if target.exists():
            target.rename(backup)
        staging.rename(target)
    except OSError as error:
        raise DatasetError(f"{target}: could not move the new dataset into place ({error}); "
                           f"{_restore(backup, target)}") from error  # fmt: skip
    shutil.rmtree(backup, ignore_errors=True)
    if backup.exists():
        log.warning("%s: could not delete the previous dataset's copy; delete it", backup)
    log.info("dataset written to %s", target)


def _restore(backup: Path, target: Path) -> str:
    """Put the old dataset back after a failed swap; say where it is."""
    if backup.exists() and not target.exists():
        try:
            backup.rename(target)
        except OSError as error:
            return f"the previous dataset is in {backup} ({error}): rename it to {target.name}"
    return "the previous dataset is unchanged: fix the cause (permissions, open files), retry"
