"""The audit log is a keyed hash chain: any edit, deletion, insertion, truncation, appended
line or forged line is detected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.registry.audit import (
    GENESIS,
    AuditError,
    append_entry,
    entry_hash,
    entry_mac,
    key_id,
    read_entries,
    verify_log,
)
from pipeline.registry.audit_key import AuditKeyError, load_key, signing_key

KEY = bytes(range(32))


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
        append_entry(path, _record(version), KEY)
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


@pytest.mark.assures("HZ-08")
def test_edited_line_is_detected(log_path: Path) -> None:
    lines = log_path.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["reason"] = "nobody will notice"
    lines[1] = json.dumps(edited, sort_keys=True)
    _rewrite(log_path, lines)
    report = verify_log(log_path)
    assert not report.ok
    assert any("line 2" in p and "edited" in p for p in report.problems)


@pytest.mark.assures("HZ-08")
def test_edit_with_recomputed_hash_breaks_the_next_link(log_path: Path) -> None:
    lines = log_path.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["signer"] = "Mallory"
    edited["hash"] = entry_hash(edited)
    lines[0] = json.dumps(edited, sort_keys=True)
    _rewrite(log_path, lines)
    problems = verify_log(log_path).problems
    assert any("line 2" in p and "prev_hash" in p for p in problems)


@pytest.mark.assures("HZ-08")
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
        append_entry(log_path, _record(4), KEY)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("meaning", "agreed", "meaning"), ("signer", "  ", "signer"), ("action", "stage", "action")],
)
def test_invalid_signature_is_rejected(
    tmp_path: Path, field: str, value: str, message: str
) -> None:
    record = {**_record(1), field: value}
    with pytest.raises(AuditError, match=message):
        append_entry(tmp_path / "log.jsonl", record, KEY)
    assert not (tmp_path / "log.jsonl").exists()


def test_a_first_line_with_a_wrong_prev_hash_names_the_genesis_not_line_0(
    log_path: Path,
) -> None:
    lines = log_path.read_text().splitlines()
    _rewrite(log_path, lines[1:])  # line 2 becomes the first line
    problems = verify_log(log_path).problems
    assert any("line 1: prev_hash is not the 64 zeros" in p for p in problems)
    assert not any("line 0" in p for p in problems)


def test_a_refusal_is_recorded_with_the_meaning_refused_only(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    with pytest.raises(AuditError, match="refused"):
        append_entry(path, _record(1, action="refuse"), KEY)  # meaning "approved"
    with pytest.raises(AuditError, match="refused"):
        append_entry(path, {**_record(1), "meaning": "refused"}, KEY)  # a promotion
    assert append_entry(path, {**_record(1, "refuse"), "meaning": "refused"}, KEY)["seq"] == 1


@pytest.fixture
def fresh_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository where nothing was ever registered or signed (embedded store, no log)."""
    from pipeline.registry.tracking import AUDIT_LOG_ENV, TRACKING_ENV

    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(TRACKING_ENV, "")  # setenv, so teardown removes what MLflow exports
    monkeypatch.setenv(AUDIT_LOG_ENV, "")
    return tmp_path


def test_audit_verify_on_a_fresh_install_is_an_empty_valid_trail(
    fresh_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main as cli

    assert cli(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert f"audit log: no entries yet ({fresh_repo / 'registry_audit.jsonl'})" in out
    assert cli(["audit", "verify", "--offline"]) == 0


def test_audit_verify_fails_on_a_missing_log_the_registry_vouches_for(
    fresh_repo: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipeline.cli import main as cli
    from pipeline.registry.promotion import AUDIT_HEAD_TAG
    from pipeline.registry.tracking import connect
    from tests.integration.registry_world import seed_tracking_db

    seed_tracking_db(tmp_path_factory.getbasetemp() / "mlflow-cache", fresh_repo)
    client, _ = connect()
    client.create_registered_model("sealaudit-inline", tags={AUDIT_HEAD_TAG: "2:" + "ab" * 32})
    assert cli(["audit", "verify"]) == 1  # the log was deleted: the registry says 2 entries
    assert "FAILED" in capsys.readouterr().out


def _forge(path: Path) -> dict:
    """What an insider without the key can do: append a line with a correct plain hash."""
    head = read_entries(path)[-1]
    forged = {**head, "seq": head["seq"] + 1, "version": "9", "prev_hash": head["hash"]}
    forged["hash"] = entry_hash(forged)
    with path.open("a") as handle:
        handle.write(json.dumps(forged, sort_keys=True) + "\n")
    return forged


@pytest.mark.assures("HZ-08")
def test_a_forged_line_with_a_correct_hash_fails_only_the_keyed_check(log_path: Path) -> None:
    _forge(log_path)
    assert verify_log(log_path).ok  # the plain chain cannot tell ...
    problems = verify_log(log_path, key=KEY).problems
    assert problems == ["line 4: MAC does not match (forged or edited line)"]  # ... the key can


def test_every_entry_carries_a_mac_of_its_hash_and_the_key_id(log_path: Path) -> None:
    for entry in read_entries(log_path):
        assert entry["mac"] == entry_mac(KEY, entry["hash"])
        assert entry["key_id"] == key_id(KEY)
    other = bytes(32)
    assert any("not the audit key at hand" in p for p in verify_log(log_path, key=other).problems)


def test_lines_appended_after_the_newest_anchor_are_reported(log_path: Path) -> None:
    entries = read_entries(log_path)
    anchors = {2: entries[1]["hash"]}  # the registry saw two decisions; the log has three
    problems = verify_log(log_path, anchors=anchors, key=KEY).problems
    assert problems == [
        "lines 3..3 follow the newest head the registry anchors (entry 2): appended outside "
        "`sealaudit promote`"
    ]
    assert verify_log(log_path, anchors={3: entries[2]["hash"]}, key=KEY).ok
    assert "anchors none" in verify_log(log_path, anchors={}, key=KEY).problems[0]


def test_the_key_is_created_0600_once_with_a_notice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "config" / "sealaudit" / "audit.key"
    assert load_key(path) is None  # reading never creates it
    assert not path.exists()
    with caplog.at_level("WARNING"):
        key = signing_key(path)
    assert "created the audit key" in caplog.text and str(path) in caplog.text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert key is not None and len(key) == 32
    assert signing_key(path) == key


def test_a_key_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    signing_key(path)
    path.chmod(0o644)
    with pytest.raises(AuditKeyError, match=r"readable by others \(mode 0644\): `chmod 600"):
        load_key(path)
    path.chmod(0o600)
    path.write_text("not hex\n")
    with pytest.raises(AuditKeyError, match="holds no 32-byte hex key"):
        load_key(path)


def test_audit_verify_without_the_key_cannot_vouch_for_entries(
    fresh_repo: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipeline.cli import main as cli

    append_entry(fresh_repo / "registry_audit.jsonl", _record(1), KEY)
    key_file = tmp_path_factory.mktemp("elsewhere") / "audit.key"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEALAUDIT_AUDIT_KEY_FILE", str(key_file))
        assert cli(["audit", "verify", "--offline"]) == 1
        assert f"no audit key at {key_file}" in capsys.readouterr().out
        assert not key_file.exists()  # verify never creates a key
        signing_key(key_file)  # another key than the one that signed
        assert cli(["audit", "verify", "--offline"]) == 1
        assert "not the audit key at hand" in capsys.readouterr().out


def test_a_new_key_is_never_created_inside_the_repository(fresh_repo: Path) -> None:
    with pytest.raises(AuditKeyError, match="inside the repository"):
        signing_key(fresh_repo / ".sealaudit" / "audit.key")
    assert not (fresh_repo / ".sealaudit").exists()
