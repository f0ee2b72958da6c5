"""The audit trail and the release gate under faults and tampering, on a real MLflow registry.

Each test has its own repository and registry copy (``trail_world``): three passing inline
versions, no alias, no audit log. No mocks: faults are a SQLite trigger rejecting a table's
writes, tampering is done the way an insider would (MLflow's client, a text editor).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main as cli
from pipeline.register import run as register_stage
from pipeline.registry.audit import entry_hash, locked, read_entries
from pipeline.registry.holders import PromotionError, current_champion
from pipeline.registry.outage import RegistryUnavailable
from pipeline.registry.promotion import (
    AUDIT_ENTRY_TAG,
    AUDIT_HEAD_TAG,
    Signature,
    promote,
    rollback,
)
from pipeline.registry.tracking import AUDIT_LOG_ENV, TRACKING_ENV, connect
from tests.integration.registry_world import seed_tracking_db
from tests.integration.trail_world import (
    INLINE,
    ROOT,
    Template,
    accept_writes,
    build_template,
    fresh_repo,
    reject_writes,
)
from tests.params import section

SIGN = ["--signer", "Grace Hopper", "--reason", "validation report VR-7 reviewed"]
SIGNATURE = Signature("Grace Hopper", "approved", "validation report VR-7 reviewed")

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Repo:
    root: Path
    client: Any

    @property
    def audit_log(self) -> Path:
        return self.root / "registry_audit.jsonl"

    @property
    def database(self) -> Path:
        return self.root / "mlflow.db"

    def champion(self) -> str | None:
        return current_champion(self.client, INLINE, "champion")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    root = tmp_path_factory.mktemp("trail") / "template"
    root.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TRACKING_ENV, "")  # setenv, so teardown removes what MLflow exports
        patch.setenv(AUDIT_LOG_ENV, "")
        patch.chdir(root)
        yield build_template(root, tmp_path_factory.getbasetemp() / "mlflow-cache")


@pytest.fixture
def repo(template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    root = fresh_repo(template, tmp_path / "repo")
    monkeypatch.chdir(root)
    monkeypatch.setenv(TRACKING_ENV, "")
    monkeypatch.setenv(AUDIT_LOG_ENV, "")
    return Repo(root, connect()[0])


def _verify(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli(["audit", "verify"])
    return code, capsys.readouterr().out


# 1. Write order and reconciliation ------------------------------------------------------


@pytest.mark.parametrize("table", ["model_version_tags", "registered_model_tags"])
def test_a_failed_registry_write_restores_the_alias_and_appends_nothing(
    repo: Repo, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reject_writes(repo.database, table)  # the alias is set, then a tag write fails
    with pytest.raises(Exception, match="injected fault"):
        promote(repo.client, INLINE, "1", SIGNATURE, alias="champion", audit_log=repo.audit_log)
    assert repo.champion() is None
    assert read_entries(repo.audit_log) == []  # no "promote" for an alias that is not set
    assert AUDIT_ENTRY_TAG not in repo.client.get_model_version(INLINE, "1").tags
    accept_writes(repo.database, table)
    assert _verify(capsys)[0] == 0
    assert cli(["promote", INLINE, "1", *SIGN]) == 0  # the retry goes through whole
    assert repo.champion() == "1"
    code, out = _verify(capsys)
    assert code == 0 and "1 entry, chain intact" in out and "1 alias(es)" in out


def test_an_alias_moved_through_mlflow_is_reported_and_blocks_rollback(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["promote", INLINE, "1", *SIGN]) == 0
    assert cli(["promote", INLINE, "2", *SIGN]) == 0
    assert _verify(capsys)[0] == 0
    repo.client.set_registered_model_alias(INLINE, "champion", "3")  # around the gate
    code, out = _verify(capsys)
    assert code == 1
    assert (
        "sealaudit-inline@champion points at v3 in the registry, but the audit log gives v2" in out
    )
    with pytest.raises(PromotionError, match="moved outside sealaudit"):
        rollback(repo.client, INLINE, SIGNATURE, alias="champion", audit_log=repo.audit_log)
    assert repo.champion() == "3" and len(read_entries(repo.audit_log)) == 2
    repo.client.set_registered_model_alias(INLINE, "champion", "2")
    assert _verify(capsys)[0] == 0
    repo.client.delete_model_version_tag(INLINE, "1", AUDIT_ENTRY_TAG)  # a decision tag removed
    code, out = _verify(capsys)
    assert code == 1 and "sealaudit-inline v1: decision tags cite audit entry none" in out


# 2. Gate: the reviewed protocol only; compare-and-set ----------------------------------


def test_another_criteria_file_reaches_shadow_never_champion(
    repo: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "lenient.yaml"
    other.write_bytes((repo.root / "validation" / "protocol.yaml").read_bytes())
    assert cli(["promote", INLINE, "1", "--criteria", str(other), *SIGN]) == 1
    out = capsys.readouterr().out
    assert "REFUSED" in out and "unmet AC-PROTOCOL-FILE" in out
    assert repo.champion() is None
    shadow = ["promote", INLINE, "1", "--alias", "shadow", "--criteria", str(other), *SIGN]
    assert cli(shadow) == 0
    assert "champion criterion not met: AC-PROTOCOL-FILE" in capsys.readouterr().out
    code, out = _verify(capsys)
    assert code == 0
    assert f"deviation: entry 2: promote sealaudit-inline v1 @shadow: judged against {other}" in out


def test_a_promotion_is_refused_when_the_alias_moved_since_it_was_seen(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["promote", INLINE, "1", "--expect-current", "none", *SIGN]) == 0
    assert cli(["promote", INLINE, "2", "--expect-current", "none", *SIGN]) == 2
    assert "@champion is held by v1, not none as expected" in capsys.readouterr().err
    assert cli(["promote", INLINE, "2", "--expect-current", "v1", *SIGN]) == 0
    assert repo.champion() == "2" and len(read_entries(repo.audit_log)) == 2


def _rollback_process(repo: Repo) -> subprocess.Popen:
    command = [sys.executable, "-m", "pipeline.cli", "promote", INLINE, "--rollback", *SIGN]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        command, cwd=repo.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _waiting_on_a_lock(pids: set[int]) -> set[int]:
    """The processes among ``pids`` blocked on a ``flock`` (Linux: ``/proc/locks``)."""
    lines = Path("/proc/locks").read_text().splitlines()
    return {int(line.split()[5]) for line in lines if "-> FLOCK" in line} & pids


def test_two_concurrent_rollbacks_cannot_both_walk_back(repo: Repo) -> None:
    for version in ("1", "2", "3"):
        assert cli(["promote", INLINE, version, *SIGN]) == 0
    with locked(repo.audit_log):  # both read v3 at their start, then wait for the lock
        racers = [_rollback_process(repo) for _ in range(2)]
        deadline = time.monotonic() + 180
        pids = {racer.pid for racer in racers}
        while _waiting_on_a_lock(pids) != pids:
            assert time.monotonic() < deadline, "the rollbacks never reached the lock"
            assert all(racer.poll() is None for racer in racers), "a rollback ended early"
            time.sleep(0.2)
    outputs = [racer.communicate(timeout=180)[0].decode() for racer in racers]
    codes = [racer.returncode for racer in racers]
    assert sorted(codes) == [0, 2], outputs
    loser = outputs[codes.index(2)]
    assert "@champion is held by v2, not v3 as expected" in loser and "Traceback" not in loser
    assert repo.champion() == "2"
    assert [e["action"] for e in read_entries(repo.audit_log)] == ["promote"] * 3 + ["rollback"]


# 3. Keyed trail --------------------------------------------------------------------------


def test_a_forged_line_appended_with_a_correct_hash_is_caught(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["promote", INLINE, "1", *SIGN]) == 0
    head = read_entries(repo.audit_log)[-1]
    assert repo.client.get_registered_model(INLINE).tags[AUDIT_HEAD_TAG] == f"1:{head['hash']}"
    forged = {**head, "seq": 2, "version": "3", "previous_champion": "1", "prev_hash": head["hash"]}
    forged["hash"] = entry_hash(forged)  # chained correctly; the MAC is copied, so wrong
    with repo.audit_log.open("a") as handle:
        handle.write(json.dumps(forged, sort_keys=True) + "\n")
    code, out = _verify(capsys)
    assert code == 1
    assert "line 2: MAC does not match (forged or edited line)" in out
    assert "lines 2..2 follow the newest head the registry anchors (entry 1)" in out


# 8. Outages ------------------------------------------------------------------------------


def test_an_unreachable_tracking_server_is_one_line_naming_it(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.processes import free_port

    server = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv(TRACKING_ENV, server)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    for command in (["promote", INLINE, "1", *SIGN], ["audit", "verify"]):
        assert cli(command) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"sealaudit: error: MLflow registry {server} is unreachable")
        assert "again when it answers" in err and len(err.strip().splitlines()) == 1
    assert read_entries(repo.audit_log) == []


@contextlib.contextmanager
def _held_exclusively(database: Path) -> Iterator[None]:
    """Another connection holds the store in a write transaction (``BEGIN EXCLUSIVE``)."""
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def test_a_locked_store_is_one_line_and_leaves_no_entry(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite waits out its 20 s busy timeout first."""
    with _held_exclusively(repo.database):
        assert cli(["promote", INLINE, "1", *SIGN]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sealaudit: error: MLflow registry sqlite:///{repo.database} is locked")
    assert "run `sealaudit promote` again when it answers" in err and "Traceback" not in err
    assert read_entries(repo.audit_log) == [] and repo.champion() is None


def _runs(client: Any) -> list[Any]:
    from mlflow.entities import ViewType

    experiments = client.search_experiments(view_type=ViewType.ALL)
    ids = [experiment.experiment_id for experiment in experiments]
    return list(client.search_runs(ids, run_view_type=ViewType.ALL))


def test_register_on_a_locked_store_creates_no_run(repo: Repo, template: Template) -> None:
    before = len(_runs(repo.client))
    with _held_exclusively(repo.database), pytest.raises(RegistryUnavailable) as error:
        register_stage(
            template.world.evidence, section("register"), repo.root / "dvc.lock",
            ROOT / "requirements.lock", repo.root / "artifacts" / "register",
        )  # fmt: skip
    assert f"MLflow registry sqlite:///{repo.database} is locked" in str(error.value)
    assert "run `dvc repro register` again" in str(error.value)
    assert len(_runs(repo.client)) == before


def test_a_registration_that_fails_midway_leaves_no_run_behind(
    template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    (root / "dvc.yaml").write_text("stages: {}\n")
    seed_tracking_db(tmp_path.parent / "mlflow-cache", root)
    monkeypatch.chdir(root)
    monkeypatch.setenv(TRACKING_ENV, "")  # connect() exported the template's store
    reject_writes(root / "mlflow.db", "model_versions")  # after the run is logged
    with pytest.raises(Exception, match="Model Version creation error"):
        register_stage(
            template.world.evidence, section("register"), template.world.root / "dvc.lock",
            ROOT / "requirements.lock", root / "artifacts" / "register",
        )  # fmt: skip
    client, _ = connect()
    runs = _runs(client)
    assert [run.info.lifecycle_stage for run in runs] == ["deleted"]  # none FAILED and shown
