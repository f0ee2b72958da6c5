"""Production batches: which images a batch folder holds, with the lot and time of each.

Lot id and capture time come from the file name ``<lot>_<YYYYMMDD>_<HHMMSS>[_<n>].<ext>``
(what ``pipeline.data.drift.generate_lots`` writes) or, when a CSV is given, from its columns
``file``, ``lot_id`` and ``timestamp`` (ISO 8601, an offset is converted to UTC; further
columns are ignored). An image whose lot or time cannot be established is skipped with a
reason, never guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import SealauditError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".bmp", ".tif", ".tiff")
NAME_PATTERN = re.compile(r"^(?P<lot>[A-Za-z0-9][A-Za-z0-9_-]*?)_(?P<stamp>\d{8}_\d{6})(?:_\d+)?$")
CSV_COLUMNS = ("file", "lot_id", "timestamp")


@dataclass(frozen=True)
class BatchImage:
    """One image of a batch: file name (the history key), path, lot id and capture time."""

    file: str
    path: Path
    lot_id: str
    timestamp: dt.datetime


def skipped(file: str, reason: str) -> dict[str, str]:
    """A skipped image as it appears in the report."""
    log.warning("skipped %s: %s", file, reason)
    return {"file": file, "reason": reason}


def _image_files(batch_dir: Path) -> list[Path]:
    if not batch_dir.is_dir():
        raise SealauditError(f"{batch_dir}: batch folder not found; pass a folder of lot images")
    files = sorted(p for p in batch_dir.iterdir() if p.is_file())
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        others = f" (it holds {len(files)} other file(s), e.g. {files[0].name})" if files else ""
        raise SealauditError(
            f"{batch_dir}: no images found{others}; monitor reads "
            f"{', '.join(IMAGE_SUFFIXES)} files: pass the folder that holds the lot's images"
        )
    return images


# What a skip reason starts with -> (what it means, how to fix it), for the summary of a batch
# where nothing could be scored.
SKIP_KINDS = (
    ("unreadable image", "unreadable", "replace or remove the broken files"),
    ("cannot align", "without a seal band to align", "check that the frames show the seal"),
    ("name is not", "misnamed", "name them <lot>_<YYYYMMDD>_<HHMMSS>.png or pass --lots CSV"),
)


def nothing_scored(batch_dir: Path, bad: list[dict[str, str]]) -> SealauditError:
    """The one-line error of a batch none of whose images could be scored: counts by reason,
    the first file and the fix."""
    counts: dict[str, int] = {}
    fixes: list[str] = []
    for item in bad:
        label, fix = next(
            ((label, fix) for start, label, fix in SKIP_KINDS if item["reason"].startswith(start)),
            ("not usable with the lot CSV", "make the --lots CSV list each image once"),
        )
        counts[label] = counts.get(label, 0) + 1
        fixes += [fix] if fix not in fixes else []
    found = ", ".join(f"{n} {label}" for label, n in counts.items())
    first = f"{bad[0]['file']}: {bad[0]['reason']}" if bad else "none"
    return SealauditError(
        f"{batch_dir}: no image could be scored ({found}; first: {first}); {'; '.join(fixes)}"
    )


def parse_name(path: Path) -> tuple[str, dt.datetime] | None:
    """(lot id, capture time) from ``<lot>_<YYYYMMDD>_<HHMMSS>[_<n>]``, or None."""
    match = NAME_PATTERN.match(path.stem)
    if match is None:
        return None
    try:
        stamp = dt.datetime.strptime(match["stamp"], "%Y%m%d_%H%M%S")
    except ValueError:
        return None
    return match["lot"], stamp


def _from_names(files: list[Path]) -> tuple[list[BatchImage], list[dict[str, str]]]:
    images, bad = [], []
    for path in files:
        parsed = parse_name(path)
        if parsed is None:
            bad.append(skipped(path.name, "name is not <lot>_<YYYYMMDD>_<HHMMSS>[_<n>]"))
        else:
            images.append(BatchImage(path.name, path, *parsed))
    return images, bad


def _read_csv(lots_csv: Path) -> list[dict[str, str]]:
    if not lots_csv.is_file():
        raise SealauditError(f"{lots_csv}: lot CSV not found; pass --lots with an existing file")
    with lots_csv.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = sorted(set(CSV_COLUMNS) - set(reader.fieldnames or []))
        if missing:
            raise SealauditError(
                f"{lots_csv}: missing column(s) {missing}; need {list(CSV_COLUMNS)}"
            )
        return list(reader)


def _naive(stamp: dt.datetime) -> dt.datetime:
    """Times with an offset become UTC without one, so every time in a stream compares."""
    if stamp.tzinfo is None:
        return stamp
    return stamp.astimezone(dt.UTC).replace(tzinfo=None)


def _from_csv(files: list[Path], lots_csv: Path) -> tuple[list[BatchImage], list[dict[str, str]]]:
    on_disk = {path.name: path for path in files}
    images, bad, listed = [], [], set()
    for record in _read_csv(lots_csv):
        name = record["file"]
        listed.add(name)
        if name not in on_disk:
            bad.append(skipped(name, f"listed in {lots_csv.name} but not in the folder"))
            continue
        try:
            stamp = _naive(dt.datetime.fromisoformat(record["timestamp"]))
        except ValueError:
            bad.append(skipped(name, f"timestamp {record['timestamp']!r} is not ISO 8601"))
            continue
        if not record["lot_id"]:
            bad.append(skipped(name, "empty lot_id"))
            continue
        images.append(BatchImage(name, on_disk[name], record["lot_id"], stamp))
    bad += [skipped(n, f"not listed in {lots_csv.name}") for n in sorted(set(on_disk) - listed)]
    return images, bad


def read_batch(
    batch_dir: Path, lots_csv: Path | None = None
) -> tuple[list[BatchImage], list[dict[str, str]]]:
    """The batch's images in capture order, and the files skipped with their reasons.

    Args:
        batch_dir: folder of images (``.png``, ``.bmp``, ``.tif``); other files are ignored.
        lots_csv: optional CSV (file, lot_id, timestamp) that replaces name parsing.

    Raises:
        SealauditError: the folder or the CSV is missing, or the CSV lacks a column.
    """
    files = _image_files(Path(batch_dir))
    if lots_csv is None:
        images, bad = _from_names(files)
    else:
        images, bad = _from_csv(files, Path(lots_csv))
    images.sort(key=lambda image: (image.timestamp, image.file))
    return images, bad
