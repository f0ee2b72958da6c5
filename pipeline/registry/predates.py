"""Whether the protocol predates the test it judges, and the deviations from it.

Criteria are fixed and approved before testing (EU AI Act Art. 9(8)). The capability evidence
records the protocol's sha256 it was produced under and the source commit it ran from
(``provenance.git_commit``); the test execution date is that commit's committer date. A verdict
states the protocol's identity, ``predates_test`` (``yes``, ``no`` or ``unknown``, with the
reason) and lists each deviation.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from pipeline.evidence import Capability
from pipeline.registry.protocol import Protocol


def commit_date(commit: str, repo: Path) -> str | None:
    """The committer date (ISO-8601) of ``commit`` in ``repo``; None when git does not know it."""
    if not commit or not all(c in "0123456789abcdef" for c in commit.lower()):
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "show", "-s", "--format=%cI", f"{commit}^{{commit}}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    date = done.stdout.strip()
    return date if done.returncode == 0 and date else None


def protocol_status(
    protocol: Protocol,
    capability: Capability | None,
    repo: Path,
    *,
    default_path: Path | None = None,
) -> dict[str, Any]:
    """The protocol's identity, whether it predates the test, and the deviations.

    Args:
        protocol: the protocol judged against.
        capability: the capability evidence (None: not recorded).
        repo: the git repository the evidence's source commit belongs to.
        default_path: the repository's protocol file; judging against another is a deviation.
    """
    deviations = []
    if default_path is not None and Path(protocol.path).resolve() != Path(default_path).resolve():
        deviations.append(
            f"judged against {protocol.path}, not the repository's {default_path} (--criteria)"
        )
    predates, tested_at, commit = _predates(protocol, capability, repo, deviations)
    return {
        **protocol.identity(),
        "test_commit": commit,
        "test_executed_at": tested_at,
        "predates_test": predates,
        "deviations": deviations,
    }


def _predates(
    protocol: Protocol, capability: Capability | None, repo: Path, deviations: list[str]
) -> tuple[str, str, str]:
    """``(predates_test, test date or why unknown, commit)``; appends the deviations found."""
    if capability is None:
        return "unknown", "unknown: no capability evidence recorded", "unknown"
    recorded = capability.protocol
    if recorded.sha256 != protocol.sha256:
        deviations.append(
            "evidence judged under another protocol revision (evidence: "
            f"{recorded.document} rev {recorded.revision}, sha256 {recorded.sha256[:12]}; "
            f"now: {protocol.document} rev {protocol.revision}, sha256 {protocol.sha256[:12]})"
        )
    provenance = capability.provenance
    if provenance.git_dirty:
        deviations.append("capability evidence produced from uncommitted changes (git_dirty)")
    commit = str(provenance.git_commit or "")
    tested_at = commit_date(commit, repo)
    if tested_at is None:
        return "unknown", f"unknown: commit {commit[:12] or '(none)'} not in {repo}", commit
    if protocol.approved_on > tested_at[:10]:
        deviations.append(
            f"protocol approved {protocol.approved_on}, after the test execution "
            f"({tested_at}, commit {commit[:12]})"
        )
        return "no", tested_at, commit
    return "yes", tested_at, commit


def status_lines(status: dict[str, Any]) -> list[str]:
    """The protocol status as the lines a verdict prints."""
    lines = [
        f"protocol {status['document']} rev {status['revision']} (sha256 "
        f"{status['sha256'][:16]}), approved {status['approved_on']} by {status['approver']}",
        f"protocol predates the test: {status['predates_test']} "
        f"(test executed {status['test_executed_at']})",
    ]
    lines += [f"deviation: {text}" for text in status["deviations"]] or ["deviations: none"]
    return lines
