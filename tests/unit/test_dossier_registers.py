"""The audit log entries and risk register hazards the dossier's records sections read: typed
rows from the real files, and a clear error naming the file and key when one is malformed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.dossier.evidence import MissingEvidenceError
from pipeline.dossier.registers import RISK_REGISTER, AuditEntry, hazards, read_audit_log
from pipeline.dossier.sections.records import alias_of, audit_trail, risk_section
from pipeline.registry.audit import AuditError
from tests.dossier_world import FIXTURE, ROOT

AUDIT_LOG = FIXTURE / "registry_audit.jsonl"
MODEL = "sealaudit-inline"


def register() -> dict[str, Any]:
    return yaml.safe_load((ROOT / RISK_REGISTER).read_text(encoding="utf-8"))


def test_the_risk_table_has_a_row_per_reviewed_hazard() -> None:
    raw = register()
    section = risk_section(raw, RISK_REGISTER)
    assert [row["id"] for row in section["rows"]] == [h["id"] for h in raw["hazards"]]
    first = raw["hazards"][0]
    assert section["rows"][0]["initial"] == f"S{first['severity']} / P{first['probability']}"
    assert section["rows"][0]["residual"].endswith(first["residual_risk"])


def test_a_renamed_hazard_key_fails_naming_the_file_and_key() -> None:
    raw = register()
    raw["hazards"][1]["harms"] = raw["hazards"][1].pop("harm")
    with pytest.raises(MissingEvidenceError) as error:
        hazards(raw)
    message = str(error.value)
    assert "hazards[1]" in message and "unknown key 'harms'" in message
    assert f"fix {RISK_REGISTER}" in message
    del raw["hazards"][1]["harms"]
    with pytest.raises(MissingEvidenceError, match="key 'harm' missing"):
        hazards(raw)


def test_an_unquoted_item_that_yaml_reads_as_a_mapping_is_an_error() -> None:
    """``- Traceability section: lineage`` is a dict to YAML; printed it would read ``{'...``."""
    raw = register()
    assert all(isinstance(item, str) for h in raw["hazards"] for item in h["verification"])
    raw["hazards"][7]["verification"] = yaml.safe_load("- Traceability section: lineage chain")
    with pytest.raises(MissingEvidenceError) as error:
        hazards(raw)
    message = str(error.value)
    assert "hazard HZ-08: verification[0] is a dict" in message and "quote it in" in message


def test_a_register_without_hazards_is_an_error() -> None:
    with pytest.raises(MissingEvidenceError, match="no 'hazards' list"):
        hazards({"document": "RISK"})


def test_audit_entries_give_the_alias_and_the_audit_trail_of_a_version() -> None:
    entries = read_audit_log(AUDIT_LOG)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert (alias_of(entries, MODEL, "3"), alias_of(entries, MODEL, "2")) == ("champion", "none")
    rows = {row[5]: row for row in audit_trail(entries, MODEL, "3")}
    assert (rows["reviewed"][3], rows["approved"][3]) == ("Ben Okafor", "Carla Weiss")
    assert rows["approved"][6] == entries[2].hash[:12]
    assert "authored" not in rows


def test_an_entry_recorded_before_roles_reads_as_not_recorded(tmp_path: Path) -> None:
    lines = [json.loads(line) for line in AUDIT_LOG.read_text().splitlines()]
    del lines[2]["role"]
    log = tmp_path / "audit.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    rows = {row[5]: row for row in audit_trail(read_audit_log(log), MODEL, "3")}
    assert rows["approved"][4] == "not recorded"


def test_an_entry_without_a_signer_fails_naming_the_entry(tmp_path: Path) -> None:
    lines = [json.loads(line) for line in AUDIT_LOG.read_text().splitlines()]
    del lines[1]["signer"]
    log = tmp_path / "audit.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(AuditError, match=r"entry 2: key 'signer' missing; the log was damaged"):
        read_audit_log(log)


def test_no_audit_log_is_no_entries(tmp_path: Path) -> None:
    assert read_audit_log(None) == read_audit_log(tmp_path / "absent.jsonl") == []
    assert isinstance(read_audit_log(AUDIT_LOG)[0], AuditEntry)
