"""Reviewed governance bounds: a relaxed limit becomes a recorded deviation (#16 item 9)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from pipeline.governance.bounds import BoundsError, bound_deviations, load_bounds
from tests.params import section

ROOT = Path(__file__).resolve().parents[2]
REVIEWED = ROOT / "validation" / "governance_bounds.yaml"


def _in_force(**changes: object) -> dict[str, object]:
    return {**dataclasses.asdict(section("validate_data")), **changes}


def test_the_repository_params_keep_every_reviewed_bound() -> None:
    bounds = load_bounds(REVIEWED, set(_in_force()))
    assert bounds.limits  # every governance limit is reviewed
    assert bound_deviations(_in_force(), bounds) == []


@pytest.mark.parametrize(
    ("key", "value", "direction"),
    [
        ("test_defective_share", [0.30, 0.55], "wider"),
        ("max_clipped_share", 0.05, "above"),
        ("min_dynamic_range", 10, "below"),
        ("near_duplicate_max_distance", 0.20, "below"),
    ],
)
def test_a_relaxed_limit_is_a_deviation_and_a_tighter_one_is_not(key, value, direction) -> None:
    bounds = load_bounds(REVIEWED, set(_in_force()))
    (row,) = bound_deviations(_in_force(**{key: value}), bounds)
    assert row["key"] == key and row["in_force"] == value and row["looser"] == direction
    assert row["source"] == "SA-VAL-GB-001 rev 1"
    assert bound_deviations(_in_force(test_defective_share=[0.47, 0.53]), bounds) == []


def test_a_malformed_bounds_file_names_the_key(tmp_path: Path) -> None:
    raw = yaml.safe_load(REVIEWED.read_text())
    raw["limits"]["no_such_limit"] = {"reviewed": 1, "looser": "above"}
    bad = tmp_path / "governance_bounds.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(BoundsError, match="limits.no_such_limit is no validate_data setting"):
        load_bounds(bad, set(_in_force()))
    with pytest.raises(BoundsError, match="not found"):
        load_bounds(tmp_path / "absent.yaml", set(_in_force()))
