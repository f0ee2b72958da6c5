"""The SSI source tree (Zenodo 7834077): file names, folder scan, the authors' split lists.

Everything here reads names and small CSV files only, so every naming or pairing fault in a
1,200-frame source is reported before a single frame is decoded (see SPEC.md §2.1).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.provenance import sha256_file
from pipeline.data.manifest import DatasetError

log = logging.getLogger(__name__)

GOOD_DIR = "NoLabel"
DEFECT_DIR = "seal_breach_0"
MASK_DIR = "Notation"
CLASS_DIRS = (GOOD_DIR, DEFECT_DIR)
DEFECT_TYPES = {GOOD_DIR: "none", DEFECT_DIR: "seal_breach"}
# Folder metadata that Windows writes beside images; the dataset was produced on Windows.
IGNORED_FILES = frozenset({"thumbs.db", "desktop.ini"})
NAME_EXAMPLES = {
    "bmp": "NoLabel-12_20190905_035717.bmp",
    "png": "seal_breach_0-12_20190906_010020.png",
}
_NAME = re.compile(
    r"(?P<cls>[A-Za-z][A-Za-z0-9_]*)-(?P<tag>\d+)_(?P<date>\d{8})_(?P<time>\d{6})\.(?P<ext>\w+)"
)
_REVISION = re.compile(r"rev_(?P<number>\d+)(?:_.*)?")
_CLASSES = {(1, 0): GOOD_DIR, (0, 1): DEFECT_DIR}
SPLIT_FILES = {"TrainingXVal.csv": "train", "Testing.csv": "test"}
SPLIT_COLUMNS = ("names", "image_paths", "notation_paths", "classes")


@dataclass(frozen=True)
class SsiImage:
    """One source frame and what its name and folder say about it."""

    cls: str
    tag: str
    date: str
    time: str
    path: Path
    relative: str

    @property
    def image_id(self) -> str:
        """The file stem, e.g. ``NoLabel-12_20190905_035717``."""
        return self.path.stem

    @property
    def label(self) -> int:
        """0 = good (``NoLabel``), 1 = defective (``seal_breach_0``)."""
        return int(self.cls == DEFECT_DIR)

    @property
    def capture_event(self) -> str:
        """Class and timestamp: tags 12 and 23 of one pouch share it."""
        return f"{self.cls}_{self.date}_{self.time}"

    @property
    def capture_date(self) -> str:
        """YYYY-MM-DD."""
        return f"{self.date[:4]}-{self.date[4:6]}-{self.date[6:]}"

    @property
    def capture_time(self) -> str:
        """HH:MM:SS."""
        return f"{self.time[:2]}:{self.time[2:4]}:{self.time[4:]}"


@dataclass(frozen=True)
class SourceTree:
    """A checked SSI source: frames sorted by image id, and each defective frame's mask."""

    root: Path
    images: tuple[SsiImage, ...]
    masks: Mapping[str, Path]


@dataclass(frozen=True)
class OfficialSplit:
    """One row of ``official_splits.csv``."""

    image_id: str
    revision: str
    split: str


def parse_name(path: Path, root: Path, extension: str) -> SsiImage:
    """Read class, view tag and timestamp from an SSI file name.

    Args:
        path: the file.
        root: the SSI source folder, for the relative path.
        extension: expected extension, lower case (``bmp`` for frames, ``png`` for masks).

    Raises:
        DatasetError: the name is not ``<class>-<tag>_<YYYYMMDD>_<HHMMSS>.<extension>`` or
            its timestamp is not a valid date and time.
    """
    match = _NAME.fullmatch(path.name)
    if match is None or match["ext"].lower() != extension:
        raise DatasetError(
            f"{path}: file name is not <class>-<tag>_<YYYYMMDD>_<HHMMSS>.{extension} "
            f"(e.g. {NAME_EXAMPLES[extension]}); rename or remove the file"
        )
    try:
        dt.datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S")
    except ValueError as error:
        raise DatasetError(
            f"{path}: '{match['date']}_{match['time']}' is not a valid timestamp; "
            "rename or remove the file"
        ) from error
    return SsiImage(
        cls=match["cls"],
        tag=match["tag"],
        date=match["date"],
        time=match["time"],
        path=path,
        relative=path.relative_to(root).as_posix(),
    )


def scan_source(src: Path) -> SourceTree:
    """List and check the SSI source tree without decoding any image.

    Raises:
        DatasetError: ``src`` is missing or empty, holds an unknown folder, a misnamed file,
            a mask without its defective image, or a defective image without a mask.
    """
    src = Path(src)
    if not src.is_dir():
        raise DatasetError(
            f"{src}: SSI source folder not found; pass the unpacked Zenodo 7834077 folder "
            f"that holds {GOOD_DIR}/, {DEFECT_DIR}/ and {MASK_DIR}/"
        )
    folders = _top_folders(src)
    images: dict[str, SsiImage] = {}
    for cls in CLASS_DIRS:
        for path in _visible_files(folders.get(cls)):
            image = parse_name(path, src, "bmp")
            if image.cls != cls:
                raise DatasetError(
                    f"{path}: class '{image.cls}' in the name disagrees with folder '{cls}'; "
                    "move the file to its class folder"
                )
            _add_unique(images, image.image_id, image, path)
    if not images:
        raise DatasetError(
            f"{src}: no .bmp frames found in {GOOD_DIR}/ or {DEFECT_DIR}/; point SRC at "
            "the unpacked SSI dataset"
        )
    masks = _pair_masks(src, folders.get(MASK_DIR), images)
    ordered = tuple(images[key] for key in sorted(images))
    return SourceTree(root=src, images=ordered, masks=masks)


def _top_folders(src: Path) -> dict[str, Path]:
    folders: dict[str, Path] = {}
    for entry in sorted(src.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            log.warning("%s: not part of the SSI layout; ignored", entry)
            continue
        if entry.name not in (*CLASS_DIRS, MASK_DIR):
            hint = ""
            if (entry / GOOD_DIR).is_dir():
                hint = f" (it holds {GOOD_DIR}/: pass {entry} as SRC instead)"
            raise DatasetError(
                f"{entry}: unknown folder{hint}; SRC may hold only {GOOD_DIR}/, "
                f"{DEFECT_DIR}/ and {MASK_DIR}/: move it out of SRC"
            )
        folders[entry.name] = entry
    return folders


def _visible_files(folder: Path | None) -> list[Path]:
    if folder is None:
        return []
    files = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name.lower() in IGNORED_FILES:
            continue
        if entry.is_dir():
            raise DatasetError(
                f"{entry}: unexpected folder inside {folder.name}/; SSI folders hold only "
                "image files: move it out of SRC"
            )
        files.append(entry)
    return files


def _add_unique(found: dict[str, SsiImage], key: str, image: SsiImage, path: Path) -> None:
    if key in found:
        raise DatasetError(f"{path}: duplicate of {found[key].path}; keep only one of them")
    found[key] = image


def _pair_masks(src: Path, folder: Path | None, images: Mapping[str, SsiImage]) -> dict[str, Path]:
    masks: dict[str, Path] = {}
    for path in _visible_files(folder):
        mask = parse_name(path, src, "png")
        if mask.cls != DEFECT_DIR:
            raise DatasetError(
                f"{path}: mask for a '{mask.cls}' image; only {DEFECT_DIR} frames have masks: "
                "remove it"
            )
        if mask.image_id not in images:
            raise DatasetError(
                f"{path}: mask without image ({DEFECT_DIR}/{mask.image_id}.bmp is missing); "
                "restore the image or remove the mask"
            )
        if mask.image_id in masks:
            raise DatasetError(f"{path}: duplicate of {masks[mask.image_id]}; keep only one")
        masks[mask.image_id] = path
    for image in images.values():
        if image.label and image.image_id not in masks:
            raise DatasetError(
                f"{image.path}: defective image without mask ({MASK_DIR}/{image.image_id}.png "
                "is missing); restore the mask from Zenodo 7834077 or remove the image"
            )
    return masks


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
        DatasetError: no revision folder, a list file missing or malformed, a row naming an
            image absent from SRC, a class that disagrees with the folder, or an image listed
            twice within one revision.
    """
    splits_dir = Path(splits_dir)
    rows: list[OfficialSplit] = []
    hashes: dict[str, str] = {}
    for revision, folder in _revision_folders(splits_dir):
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
    for entry in sorted(splits_dir.iterdir()):
        match = _REVISION.fullmatch(entry.name)
        if match is None or not entry.is_dir():
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
