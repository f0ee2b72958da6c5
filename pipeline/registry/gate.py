"""The release gate: a version's recorded evidence judged under the protocol for one alias.

Aliases carry a stated meaning. ``shadow``: the version runs beside human inspection and its
decisions are not used; the criteria ``required_for: [shadow]`` must hold (governance passed,
dossier rendered), capability may fail, and the decision says so. ``champion``: the release
gate; every criterion of the protocol must hold, judged against the reviewed protocol file in
the repository: any other criteria file (``--criteria``) is a deviation that may reach shadow,
never champion (``AC-PROTOCOL-FILE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.registry.criteria import (
    evaluate_comparators,
    evaluate_criteria,
    gating,
    shortfall,
    unmet,
)
from pipeline.registry.predates import protocol_status
from pipeline.registry.protocol import ALIASES, default_protocol_path, load_protocol
from pipeline.registry.recorded import RecordedEvidence
from pipeline.registry.tracking import repo_root

BOTH = list(ALIASES)


@dataclass(frozen=True)
class GateVerdict:
    """Every criterion's result, the comparators, the protocol status, and what gates."""

    gate: str
    criteria: list[dict[str, Any]]
    comparators: list[dict[str, Any]]
    protocol: dict[str, Any]

    @property
    def blocking(self) -> list[dict[str, Any]]:
        """Unmet criteria that gate this alias (empty: the alias may move)."""
        return unmet(gating(self.criteria, self.gate))

    @property
    def champion_unmet(self) -> list[dict[str, Any]]:
        """Unmet champion criteria (what a shadow version does not yet show)."""
        return unmet(gating(self.criteria, "champion"))

    @property
    def note(self) -> str:
        """One line for the audit entry and tags: what was judged and what is unmet."""
        if self.blocking:
            return "unmet: " + ", ".join(result["id"] for result in self.blocking)
        if self.gate == "shadow" and self.champion_unmet:
            shortfalls = "; ".join(shortfall(result) for result in self.champion_unmet)
            return f"shadow: capability not met: {shortfalls}"
        return "all met"


def judge_version(
    recorded: RecordedEvidence, gate: str, protocol_path: Path | None = None
) -> GateVerdict:
    """Judge ``recorded`` for alias role ``gate`` (``shadow`` or ``champion``).

    Evidence whose bytes differ from its registration tags is an unmet criterion
    (``EVIDENCE-INTEGRITY``) for both aliases.
    """
    if gate not in ALIASES:
        raise ValueError(f"gate must be one of {ALIASES}, got {gate!r}")
    protocol = load_protocol(protocol_path)
    results = evaluate_criteria(recorded.evidence, protocol)
    results += [_integrity_result(problem) for problem in recorded.integrity_problems]
    results += _reviewed_protocol_result(protocol.path, default_protocol_path())
    status = protocol_status(
        protocol,
        recorded.evidence.capability_evidence,
        repo_root(),
        default_path=default_protocol_path(),
    )
    comparators = evaluate_comparators(recorded.evidence, protocol)
    return GateVerdict(gate, results, comparators, status)


def _reviewed_protocol_result(used: Path, reviewed: Path) -> list[dict[str, Any]]:
    """Another criteria file is a deviation that may reach shadow, never champion."""
    if Path(used).resolve() == Path(reviewed).resolve():
        return []
    return [
        {
            "id": "AC-PROTOCOL-FILE",
            "description": "Judged against the reviewed protocol file in the repository",
            "observed": f"{used} (--criteria: a deviation)",
            "limit": str(reviewed),
            "passed": False,
            "required_for": ["champion"],
            "details": [],
        }
    ]


def _integrity_result(problem: str) -> dict[str, Any]:
    return {
        "id": "EVIDENCE-INTEGRITY",
        "description": "Recorded evidence unchanged since registration",
        "observed": problem,
        "limit": "SHA-256 equal to the registration tag",
        "passed": False,
        "required_for": BOTH,
        "details": [],
    }
