"""The SSI source tree (Zenodo 7834077): file names and folder scan.

Everything here reads names and small CSV files only, so every naming or pairing fault in a
1,200-frame source is reported before a single frame is decoded (see SPEC.md §2.1).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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
