"""Reading the split assignment written by the ``prepare`` stage."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pipeline.data.manifest import DatasetError, ManifestRow

SPLIT_NAMES = ("train", "val", "test", "stream")
SUMMARY_NAME = "split_summary.json"
# prepare.strategy: the project's own group-aware splits, or the authors' SSI revision.
STRATEGIES = ("random", "official")


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


def read_split_strategy(splits_path: Path) -> str | None:
    """The ``prepare.strategy`` that wrote ``splits_path``, from the summary written beside it.

    Returns:
        ``random`` or ``official``; None when there is no ``split_summary.json`` beside the
        file (a splits file made by hand is held to the rules of the project's own splits).

    Raises:
        DatasetError: the summary is unreadable or names no known strategy.
    """
    path = Path(splits_path).with_name(SUMMARY_NAME)
    if not path.is_file():
        return None
    try:
        strategy = json.loads(path.read_text(encoding="utf-8")).get("strategy")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as error:
        raise DatasetError(
            f"{path}: not a split summary ({error}); rerun `dvc repro prepare`"
        ) from error
    if strategy not in STRATEGIES:
        raise DatasetError(
            f"{path}: strategy {strategy!r} is not one of {list(STRATEGIES)}; rerun "
            "`dvc repro prepare`"
        )
    return str(strategy)
