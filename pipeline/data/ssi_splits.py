"""The authors' SSI split lists (``rev_N*/TrainingXVal.csv`` and ``Testing.csv``).

Only small CSV files are read, so every fault in the lists is reported before a frame is
decoded. Whatever under ``--splits`` is not read is said: a folder of lists without a ``rev_N``
number is an error (its split would silently be missing), anything else a warning.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.data.manifest import DatasetError
from pipeline.data.ssi_names import CLASS_DIRS, DEFECT_DIR, GOOD_DIR, IGNORED_FILES, SsiImage
from pipeline.provenance import sha256_file

log = logging.getLogger(__name__)

_REVISION = re.compile(r"rev_(?P<number>\d+)(?:_.*)?")
_CLASSES = {(1, 0): GOOD_DIR, (0, 1): DEFECT_DIR}
SPLIT_FILES = {"TrainingXVal.csv": "train", "Testing.csv": "test"}
SPLIT_COLUMNS = ("names", "image_paths", "notation_paths", "classes")


@dataclass(frozen=True)
class OfficialSplit:
    """One row of ``official_splits.csv``."""

    image_id: str
    revision: str
    split: str


def read_official_splits(
    splits_dir: Path, images: Mapping[str, SsiImage]
) -> tuple[list[OfficialSplit], dict[str, str]]:
    """Read the authors' ``rev_N*/TrainingXVal.csv`` and ``Testing.csv`` lists.

    Args:
        splits_dir: folder holding ``rev_1_Full-50/``, ``rev_6_Partial-10/``, ... (the folder
            suffix after ``rev_N`` is optional and dropped: revisions are named ``rev_N``).
        images: the imported frames by image id.

    Returns:
        The rows sorted by revision number and image id, and the sha256 of each CSV read,
        keyed by its path relative to ``splits_dir``.

    Raises:
        DatasetError: no revision folder, a folder of split lists without a ``rev_N``
            number, a list file missing or malformed, a row naming an image absent from SRC, a
            class that disagrees with the folder, or an image listed twice within one revision.
            Any other file or folder that is not read is logged as a warning.
    """
    splits_dir = Path(splits_dir)
    rows: list[OfficialSplit] = []
    hashes: dict[str, str] = {}
    for revision, folder in _revision_folders(splits_dir):
        _warn_unread(folder)
        seen: dict[str, Path] = {}
        for file_name, split in SPLIT_FILES.items():
            path = folder / file_name
            if not path.is_file():
                raise DatasetError(
                    f"{path}: split list not found; copy it from the authors' repository "
                    "(datasets/middle_seal_breach/) or drop --splits"
                )
            for image_id in _read_split_csv(path, images):
                if image_id in seen:
                    raise DatasetError(
                        f"{path}: {image_id} is also listed in {seen[image_id]}; an image "
                        "may appear once per revision: fix the list"
                    )
                seen[image_id] = path
                rows.append(OfficialSplit(image_id, revision, split))
            hashes[path.relative_to(splits_dir).as_posix()] = sha256_file(path)
    rows.sort(key=lambda row: (int(row.revision.split("_")[1]), row.image_id))
    return rows, hashes


def _revision_folders(splits_dir: Path) -> list[tuple[str, Path]]:
    if not splits_dir.is_dir():
        raise DatasetError(f"{splits_dir}: splits folder not found; fix --splits or drop it")
    found: dict[int, Path] = {}
    for entry in _visible(splits_dir):
        match = _REVISION.fullmatch(entry.name)
        if match is None or not entry.is_dir():
            _not_a_revision(entry)
            continue
        number = int(match["number"])
        if number in found:
            raise DatasetError(
                f"{entry}: revision {number} also in {found[number]}; keep one folder per rev_N"
            )
        found[number] = entry
    if not found:
        raise DatasetError(
            f"{splits_dir}: no rev_N folders; point --splits at the authors' "
            "datasets/middle_seal_breach folder"
        )
    return [(f"rev_{number}", found[number]) for number in sorted(found)]


def _visible(folder: Path) -> list[Path]:
    return [
        entry
        for entry in sorted(folder.iterdir())
        if not entry.name.startswith(".") and entry.name.lower() not in IGNORED_FILES
    ]


def _not_a_revision(entry: Path) -> None:
    """Refuse a folder of split lists the importer would skip; warn about anything else."""
    if entry.is_dir() and any((entry / name).is_file() for name in SPLIT_FILES):
        raise DatasetError(
            f"{entry}: split lists in a folder without a rev_N number would not be imported; "
            f"rename it rev_<N>_{entry.name} (N unused) or move it out of --splits"
        )
    log.warning("%s: not a rev_N split folder; not imported", entry)


def _warn_unread(folder: Path) -> None:
    for entry in _visible(folder):
        if entry.name not in SPLIT_FILES:
            log.warning(
                "%s: not imported (a revision folder is read for %s only)",
                entry,
                " and ".join(SPLIT_FILES),
            )


def _read_split_csv(path: Path, images: Mapping[str, SsiImage]) -> list[str]:
    # utf-8-sig: lists saved on Windows may start with a byte-order mark.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in SPLIT_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise DatasetError(
                f"{path}: missing column(s) {missing}; expected {','.join(SPLIT_COLUMNS)}"
            )
        return [
            _split_row_image(raw, f"{path}:{line}", images) for line, raw in enumerate(reader, 2)
        ]


def _split_row_image(raw: dict[str, str], where: str, images: Mapping[str, SsiImage]) -> str:
    parts = (raw["image_paths"] or "").replace("\\", "/").split("/")
    if len(parts) != 2 or parts[0] not in CLASS_DIRS or parts[1] != (raw["names"] or ""):
        raise DatasetError(
            f"{where}: image_paths {raw['image_paths']!r} is not <class>\\<names> with class "
            f"{GOOD_DIR} or {DEFECT_DIR}; fix the row"
        )
    folder, name = parts
    image = images.get(Path(name).stem)
    if image is None or image.path.name != name:
        raise DatasetError(f"{where}: image {folder}/{name} is not in SRC; fix the list or SRC")
    listed = _parse_classes(raw["classes"] or "", where)
    if listed != folder:
        raise DatasetError(
            f"{where}: classes {raw['classes']!r} says {listed} but the image is in {folder}/; "
            "fix the row"
        )
    notation = Path((raw["notation_paths"] or "").replace("\\", "/")).name
    expected = f"{image.image_id}.png" if image.label else ""
    if notation != expected:
        raise DatasetError(
            f"{where}: notation_paths {raw['notation_paths']!r}, expected {expected!r} for a "
            f"{folder} image; fix the row"
        )
    return image.image_id


def _parse_classes(text: str, where: str) -> str:
    match = re.fullmatch(r"\[\s*([01])\s+([01])\s*\]", text.strip())
    cls = _CLASSES.get((int(match[1]), int(match[2]))) if match else None
    if cls is None:
        raise DatasetError(f"{where}: classes {text!r} is neither '[1 0]' nor '[0 1]'; fix it")
    return cls
