"""The audit log is a hash chain: any edit, deletion, insertion or truncation is detected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.registry.audit import (
    GENESIS,
    AuditError,
    append_entry,
    entry_hash,
    read_entries,
    verify_log,
)


def _record(version: int, action: str = "promote") -> dict:
    return {
        "action": action,
        "model_name": "sealaudit-inline",
        "version": str(version),
        "alias": "champion",
        "previous_champion": str(version - 1) if version > 1 else None,
        "signer": "Ada Lovelace",
        "meaning": "approved",
        "reason": f"release {version}",
        "criteria": [],
        "evidence_hashes": {"evaluation.json": "ab" * 32},
    }


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "registry_audit.jsonl"
    for version in (1, 2, 3):
        append_entry(path, _record(version))
    return path


def _rewrite(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_untouched_log_verifies_and_chains_from_genesis(log_path: Path) -> None:
    entries = read_entries(log_path)
    report = verify_log(log_path)
    assert report.ok, report.problems
    assert report.entries == 3
    assert entries[0]["prev_hash"] == GENESIS
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[1]["prev_hash"] == entries[0]["hash"]
    assert report.head_hash == entries[-1]["hash"]


def test_entry_records_part_11_signature_facts(log_path: Path) -> None:
    entry = read_entries(log_path)[0]
    assert entry["signer"] == "Ada Lovelace"
    assert entry["meaning"] == "approved"
    # ISO-8601 in UTC with an explicit offset
    assert entry["signed_at"].endswith("+00:00") and "T" in entry["signed_at"]
    assert entry["hash"] == entry_hash(entry)


def test_edited_line_is_detected(log_path: Path) -> None:
    lines = log_path.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["reason"] = "nobody will notice"
    lines[1] = json.dumps(edited, sort_keys=True)
    _rewrite(log_path, lines)
    report = verify_log(log_path)
    assert not report.ok
    assert any("line 2" in p and "edited" in p for p in report.problems)


def test_edit_with_recomputed_hash_breaks_the_next_link(log_path: Path) -> None:
    lines = log_path.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["signer"] = "Mallory"
    edited["hash"] = entry_hash(edited)
    lines[0] = json.dumps(edited, sort_keys=True)
    _rewrite(log_path, lines)
    problems = verify_log(log_path).problems
    assert any("line 2" in p and "prev_hash" in p for p in problems)


def test_deleted_middle_line_is_detected(log_path: Path) -> None:
    lines = log_path.read_text().splitlines()
    _rewrite(log_path, [lines[0], lines[2]])
    problems = verify_log(log_path).problems
    assert any("seq 3 where 2" in p for p in problems)


def test_truncated_tail_is_detected_only_with_an_anchor(log_path: Path) -> None:
    head = read_entries(log_path)[-1]
    lines = log_path.read_text().splitlines()
    _rewrite(log_path, lines[:-1])
    assert verify_log(log_path).ok  # a shorter chain is still a chain ...
    report = verify_log(log_path, anchors={head["seq"]: head["hash"]})
    assert not report.ok  # ... but the head recorded elsewhere is gone
    assert "truncated" in report.problems[0]


def test_damaged_json_is_reported_not_raised(log_path: Path) -> None:
    with log_path.open("a") as handle:
        handle.write("{not json\n")
    report = verify_log(log_path)
    assert not report.ok and "not JSON" in report.problems[0]


def test_appending_to_a_broken_log_is_refused(log_path: Path) -> None:
    lines = log_path.read_text().splitlines()
    _rewrite(log_path, lines[1:])
    with pytest.raises(AuditError, match="broken log"):
        append_entry(log_path, _record(4))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("meaning", "agreed", "meaning"), ("signer", "  ", "signer"), ("action", "stage", "action")],
)
def test_invalid_signature_is_rejected(
    tmp_path: Path, field: str, value: str, message: str
) -> None:
    record = {**_record(1), field: value}
    with pytest.raises(AuditError, match=message):
        append_entry(tmp_path / "log.jsonl", record)
    assert not (tmp_path / "log.jsonl").exists()
