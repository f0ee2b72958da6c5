"""Reading the split assignment written by the ``prepare`` stage."""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline.data.manifest import DatasetError, ManifestRow

SPLIT_NAMES = ("train", "val", "test", "stream")


def read_splits(path: Path) -> dict[str, str]:
    """Map image_id -> split name from ``splits.csv``."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: splits file not found; run `dvc repro prepare`")
    with path.open(newline="", encoding="utf-8") as handle:
        assignment = {row["image_id"]: row["split"] for row in csv.DictReader(handle)}
    unknown = sorted(set(assignment.values()) - set(SPLIT_NAMES))
    if unknown:
        raise DatasetError(f"{path}: unknown split name(s) {unknown}; rerun `dvc repro prepare`")
    return assignment


def rows_in_split(
    rows: list[ManifestRow], assignment: dict[str, str], split: str
) -> list[ManifestRow]:
    """The manifest rows assigned to ``split``, in manifest order."""
    return [row for row in rows if assignment.get(row.image_id) == split]


def write_splits(assignment: dict[str, str], path: Path) -> None:
    """Write ``image_id,split`` sorted by image_id (byte-stable)."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["image_id", "split"])
        for image_id in sorted(assignment):
            writer.writerow([image_id, assignment[image_id]])
