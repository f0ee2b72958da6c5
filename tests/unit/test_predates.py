"""Whether the protocol predates the test it judges (the evidence's source commit date), and
the deviations a verdict lists."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from pipeline import evidence
from pipeline.evidence import Capability
from pipeline.registry.predates import protocol_status, status_lines
from pipeline.registry.protocol import Protocol, load_protocol

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "evidence"


def _repo(tmp_path: Path, committed_at: str) -> tuple[Path, str]:
    """A git repository with one commit dated ``committed_at`` (ISO-8601)."""
    repo = tmp_path / "repo"
    (repo / "validation").mkdir(parents=True)
    shutil.copyfile(ROOT / "validation" / "protocol.yaml", repo / "validation" / "protocol.yaml")
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": committed_at,
        "GIT_COMMITTER_DATE": committed_at,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "evidence"]):
        subprocess.run(["git", "-C", str(repo), *command], check=True, env=env)
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    )
    return repo, head.stdout.strip()


def _capability(protocol: Protocol, commit: str, **protocol_changes: str) -> Capability:
    capability = evidence.read("capability", FIXTURE)
    recorded = replace(capability.protocol, **{"sha256": protocol.sha256, **protocol_changes})
    provenance = replace(capability.provenance, git_commit=commit, git_dirty=False)
    return replace(capability, protocol=recorded, provenance=provenance)


def test_a_protocol_approved_before_the_test_predates_it(tmp_path: Path) -> None:
    repo, commit = _repo(tmp_path, "2026-12-04T09:30:00+00:00")
    protocol = load_protocol(repo / "validation" / "protocol.yaml")
    status = protocol_status(
        protocol, _capability(protocol, commit), repo, default_path=protocol.path
    )
    assert status["predates_test"] == "yes"
    assert status["test_executed_at"].startswith("2026-12-04T09:30:00")
    assert status["deviations"] == []
    assert (status["document"], status["revision"], status["approved_on"]) == (
        "SA-VAL-PR-001",
        "1",
        "2026-12-03",
    )
    assert "deviations: none" in status_lines(status)


def test_a_protocol_approved_after_the_test_is_a_deviation(tmp_path: Path) -> None:
    repo, commit = _repo(tmp_path, "2026-11-20T12:00:00+00:00")
    protocol = load_protocol(repo / "validation" / "protocol.yaml")
    status = protocol_status(protocol, _capability(protocol, commit), repo)
    assert status["predates_test"] == "no"
    assert status["deviations"] == [
        f"protocol approved 2026-12-03, after the test execution "
        f"(2026-11-20T12:00:00+00:00, commit {commit[:12]})"
    ]


def test_evidence_under_another_protocol_revision_is_a_deviation(tmp_path: Path) -> None:
    repo, commit = _repo(tmp_path, "2026-12-04T09:30:00+00:00")
    protocol = load_protocol(repo / "validation" / "protocol.yaml")
    capability = _capability(protocol, commit, sha256="cd" * 32, revision="0")
    status = protocol_status(protocol, capability, repo)
    assert len(status["deviations"]) == 1
    assert status["deviations"][0].startswith(
        "evidence judged under another protocol revision (evidence: SA-VAL-PR-001 rev 0"
    )


def test_an_unknown_commit_is_stated_not_guessed(tmp_path: Path) -> None:
    repo, _ = _repo(tmp_path, "2026-12-04T09:30:00+00:00")
    protocol = load_protocol(repo / "validation" / "protocol.yaml")
    status = protocol_status(protocol, _capability(protocol, "4f1c2a9e" * 5), repo)
    assert status["predates_test"] == "unknown"
    assert status["test_executed_at"] == f"unknown: commit 4f1c2a9e4f1c not in {repo}"


def test_other_protocol_file_and_dirty_evidence_are_deviations(tmp_path: Path) -> None:
    repo, commit = _repo(tmp_path, "2026-12-04T09:30:00+00:00")
    other = tmp_path / "lenient.yaml"
    shutil.copyfile(repo / "validation" / "protocol.yaml", other)
    protocol = load_protocol(other)
    capability = _capability(protocol, commit)
    capability = replace(capability, provenance=replace(capability.provenance, git_dirty=True))
    status = protocol_status(
        protocol, capability, repo, default_path=repo / "validation" / "protocol.yaml"
    )
    assert status["deviations"][0].startswith(f"judged against {other}, not the repository's")
    assert "uncommitted changes" in status["deviations"][1]


def test_no_capability_evidence_leaves_the_question_unknown(tmp_path: Path) -> None:
    protocol = load_protocol(ROOT / "validation" / "protocol.yaml")
    status = protocol_status(protocol, None, tmp_path)
    assert status["predates_test"] == "unknown"
    assert "no capability evidence" in status["test_executed_at"]
