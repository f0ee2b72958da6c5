"""The validation protocol file: read strictly, its requirement table the one issue #14 fixed,
its sample-size arithmetic checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.registry.protocol import CriteriaError, load_protocol, protocol_sha256

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "validation" / "protocol.yaml"

REQUIRED = {
    "REQ-CHANNEL": ("channel", None, "mm", 0.25),
    "REQ-WRINKLE": ("wrinkle", None, "mm", 5.0),
    "REQ-INCOMPLETE": ("incomplete_seal", None, "mm", 5.0),
    "REQ-PARTICLE": ("contamination", "particle", "mm", 1.0),
    "REQ-FIBRE": ("contamination", "fibre", "mm", 3.0),
    "REQ-VOID": ("void", None, "mm", 1.5),
    "REQ-BURN": ("burn", None, "mm", 10.0),
    "REQ-WIDTH": ("width_deviation", None, "fraction", 0.25),
}


def test_the_repository_protocol_states_the_fixed_requirements() -> None:
    protocol = load_protocol(PROTOCOL)
    rows = {r.id: (r.defect_type, r.form, r.unit, r.required_a90_95) for r in protocol.requirements}
    assert rows == REQUIRED
    assert (protocol.document, protocol.revision, protocol.approved_on) == (
        "SA-VAL-PR-001",
        "1",
        "2026-12-03",
    )
    stats = protocol.statistics
    assert (stats.success_run_n, stats.minimum_defect_events, stats.minimum_normal_events) == (
        29,
        60,
        300,
    )
    assert stats.false_reject_limit == 0.05
    gates = {c.id: c.required_for for c in protocol.criteria}
    assert gates == {
        "AC-GOV-1": ("shadow", "champion"),
        "AC-DOC-1": ("shadow", "champion"),
        "AC-CAP-1": ("champion",),
        "AC-FR-1": ("champion",),
    }
    assert {c.check for c in protocol.comparators} == {
        "ranking_ci_lower",
        "operating_ci_lower",
        "miss_rate_upper",
    }
    assert protocol.sha256 == protocol_sha256(PROTOCOL)


def _write(tmp_path: Path, change: Any) -> Path:
    content = yaml.safe_load(PROTOCOL.read_text())
    change(content)
    path = tmp_path / "protocol.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def _set(*keys: str | int, value: Any) -> Any:
    def change(content: Any) -> None:
        for key in keys[:-1]:
            content = content[key]
        content[keys[-1]] = value

    return change


def _drop(*keys: str | int) -> Any:
    def change(content: Any) -> None:
        for key in keys[:-1]:
            content = content[key]
        del content[keys[-1]]

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("acceptance", value=1), "unknown key 'acceptance'"),
        (_drop("approval"), "missing key 'approval'"),
        (_drop("approval", "date"), "approval: missing key 'date'"),
        (_set("approval", "date", value="soon"), "approval.date"),
        (_set("test_set", "seed", value=3), "test_set: unknown key 'seed'"),
        (_set("statistics", "success_run", "n_events", value=30), "= 29"),
        (_drop("statistics", "minimum_normal_events"), "missing key 'minimum_normal_events'"),
        (_set("requirements", 0, "unit", value="inch"), "requirements[0]: unit 'inch'"),
        (_set("requirements", 1, "id", value="REQ-CHANNEL"), "duplicate id 'REQ-CHANNEL'"),
        (_drop("requirements", 0, "required_a90_95"), "missing key 'required_a90_95'"),
        (_set("criteria", 0, "check", value="vibes"), "unknown check 'vibes'"),
        (_set("criteria", 3, "limits", value=None), "needs limits {inline"),
        (_set("criteria", 3, "limits", value={"inline": 0.05}), "missing key 'monitoring'"),
        (_set("criteria", 0, "limits", value={"inline": 1, "monitoring": 1}), "limits: null"),
        (_set("criteria", 0, "required_for", value=["prod"]), "required_for ['prod']"),
        (_set("criteria", 0, "applies_at", value=["dossier"]), "unknown key 'applies_at'"),
        (_set("criteria", value=[]), "criteria must be a non-empty list"),
        (_set("comparators", 0, "required_for", value=["champion"]), "unknown key"),
    ],
)
def test_malformed_protocol_is_an_error_naming_the_key_and_file(
    tmp_path: Path, change: Any, message: str
) -> None:
    path = _write(tmp_path, change)
    with pytest.raises(CriteriaError, match="protocol.yaml") as error:
        load_protocol(path)
    assert message in str(error.value)


def test_a_missing_protocol_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CriteriaError, match="validation protocol not found"):
        load_protocol(tmp_path / "protocol.yaml")


def test_protocol_hash_changes_with_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, _set("revision", value=1))
    before = protocol_sha256(path)
    path.write_text(path.read_text() + "# reviewed\n")
    assert protocol_sha256(path) != before
