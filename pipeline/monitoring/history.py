"""The append-only monitoring history: one CSV row per scored production image.

Rows are only ever appended (opened in append mode, flushed and synced); existing rows are
never rewritten. A history belongs to one model version: appending rows of another version is
refused unless the caller starts a new history, which renames the old file aside (kept
intact, the new name says when it was closed) and begins an empty one.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import os
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from pipeline.errors import SealauditError

log = logging.getLogger(__name__)

PASS, REJECT = "PASS", "REJECT"  # the decisions of the registry's packaged model


class HistoryError(SealauditError):
    """The history file cannot be read or appended to as it is."""


@dataclass(frozen=True)
class HistoryRow:
    """One scored image. ``timestamp`` is the capture time (ISO 8601), ``scored_at`` UTC."""

    image: str
    lot_id: str
    timestamp: str
    score: float
    decision: str
    threshold: float
    threshold_id: str
    model_version: str
    batch: str
    scored_at: str


COLUMNS = tuple(f.name for f in fields(HistoryRow))


def _parse(record: dict[str, str], path: Path, line: int) -> HistoryRow:
    try:
        score, threshold = float(record["score"]), float(record["threshold"])
    except ValueError as error:
        raise HistoryError(
            f"{path}:{line}: unreadable number ({error}); restore the file"
        ) from error
    return HistoryRow(
        image=record["image"],
        lot_id=record["lot_id"],
        timestamp=record["timestamp"],
        score=score,
        decision=record["decision"],
        threshold=threshold,
        threshold_id=record["threshold_id"],
        model_version=record["model_version"],
        batch=record["batch"],
        scored_at=record["scored_at"],
    )


def read_history(path: Path) -> list[HistoryRow]:
    """All rows of a history file, in file order ([] when it does not exist yet).

    Raises:
        HistoryError: the header differs from ``COLUMNS`` or the file ends mid-row.
    """
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_bytes()
    if text and not text.endswith(b"\n"):
        raise HistoryError(
            f"{path}: ends in the middle of a row (an interrupted write?); inspect and repair it "
            "before appending"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise HistoryError(
                f"{path}: columns {reader.fieldnames} are not a monitoring history's "
                f"{list(COLUMNS)}; pass another --history"
            )
        return [_parse(record, path, n) for n, record in enumerate(reader, start=2)]


def check_version(rows: list[HistoryRow], version: str, path: Path) -> None:
    """Refuse to mix model versions in one history.

    Raises:
        HistoryError: a row carries another model version.
    """
    others = sorted({row.model_version for row in rows} - {version})
    if others:
        raise HistoryError(
            f"{path}: holds scores of model version(s) {others}, not {version}; charts must not "
            "mix models: pass --new-history to archive it and start a new one"
        )


def archive_history(path: Path, now: dt.datetime) -> Path | None:
    """Rename an existing history aside (``<stem>.closed-<UTC time><suffix>``); returns it."""
    path = Path(path)
    if not path.exists():
        return None
    target = path.with_name(f"{path.stem}.closed-{now:%Y%m%dT%H%M%SZ}{path.suffix}")
    if target.exists():
        raise HistoryError(f"{target}: already exists; wait a second and retry")
    path.rename(target)
    log.info("archived history %s -> %s", path, target)
    return target


def append_history(path: Path, rows: list[HistoryRow]) -> None:
    """Append rows (writing the header first for a new file), then flush to disk."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if new:
            writer.writerow(COLUMNS)
        writer.writerows(astuple(row) for row in rows)
        handle.flush()
        os.fsync(handle.fileno())
