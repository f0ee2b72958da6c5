"""Reviewed governance bounds and the deviations of the limits in force from them.

``validation/governance_bounds.yaml`` holds the reviewed value of each governance limit and which
way relaxes it. The limits in force are the ``validate_data`` section of ``params.yaml``; a limit
looser than reviewed is a deviation, recorded in ``governance.json`` and listed in the dossier,
never an error (a user may have a reason), never silent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import SealauditError

BOUNDS_FILE = "governance_bounds.yaml"
DIRECTIONS = ("above", "below", "wider")


class BoundsError(SealauditError):
    """The reviewed bounds file is missing or malformed."""


@dataclass(frozen=True)
class ReviewedBounds:
    """The reviewed limits: ``limits[key] = (reviewed value, direction that relaxes it)``."""

    document: str
    revision: int
    limits: dict[str, tuple[Any, str]]


def load_bounds(path: Path, known: set[str]) -> ReviewedBounds:
    """Read the reviewed bounds strictly: every key a ``validate_data`` limit in ``known``.

    Raises:
        BoundsError: missing file, unknown key, or an entry without ``reviewed``/``looser``.
    """
    path = Path(path)
    if not path.is_file():
        raise BoundsError(f"{path}: reviewed governance bounds not found; restore it from git")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    limits = raw.get("limits")
    if not isinstance(limits, dict) or not {"document", "revision"} <= set(raw):
        raise BoundsError(f"{path}: needs 'document', 'revision' and a 'limits' mapping")
    parsed = {}
    for key, entry in limits.items():
        if key not in known:
            raise BoundsError(f"{path}: limits.{key} is no validate_data setting; remove it")
        if not isinstance(entry, dict) or set(entry) != {"reviewed", "looser"}:
            raise BoundsError(f"{path}: limits.{key} needs exactly 'reviewed' and 'looser'")
        if entry["looser"] not in DIRECTIONS:
            raise BoundsError(f"{path}: limits.{key}.looser must be one of {DIRECTIONS}")
        parsed[key] = (entry["reviewed"], entry["looser"])
    return ReviewedBounds(str(raw["document"]), int(raw["revision"]), parsed)


def bound_deviations(in_force: dict[str, Any], bounds: ReviewedBounds) -> list[dict[str, Any]]:
    """One row per limit in force looser than reviewed: key, reviewed, in force, direction."""
    rows = []
    for key, (reviewed, looser) in sorted(bounds.limits.items()):
        value = in_force[key]
        if _looser(value, reviewed, looser):
            rows.append(
                {
                    "key": key,
                    "reviewed": reviewed,
                    "in_force": value,
                    "looser": looser,
                    "source": f"{bounds.document} rev {bounds.revision}",
                }
            )
    return rows


def _looser(value: Any, reviewed: Any, looser: str) -> bool:
    if looser == "wider":
        (low, high), (ref_low, ref_high) = value, reviewed
        return _less(low, ref_low) or _less(ref_high, high)
    if looser == "above":
        return _less(reviewed, value)
    return _less(value, reviewed)


def _less(a: float, b: float) -> bool:
    """``a < b`` beyond float rounding (0.1 + 0.2 is not looser than 0.3)."""
    return float(a) < float(b) and not math.isclose(float(a), float(b), rel_tol=1e-12)
