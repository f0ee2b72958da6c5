"""The traceability matrix: requirement -> verifying check or test -> result -> evidence file
and its sha256 (shared/DOSSIER.md section 15).

Requirements are the protocol's acceptance criteria (AC-*), the data-governance requirements
(DG-xx, judged by the governance stage) and the risk register's hazards (HZ-xx, verified by the
criteria their controls cite and by the tests that declare them with ``@pytest.mark.assures``).
Every requirement gets a row; one that nothing verifies is flagged. Pure: the caller reads the
files and passes plain values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from pipeline.dossier.junit import CaseResult, JUnitRun, by_test, counts
from pipeline.dossier.registers import Hazard
from pipeline.registry.protocol import Criterion

GOVERNANCE = "artifacts/validate_data/governance.json"
# The evidence file each protocol check judges (pipeline/registry/checks.py).
CHECK_EVIDENCE = {
    "governance_passed": GOVERNANCE,
    "dossier_for_version": "artifacts/register/registration.json",
    "capability_a90_95": "artifacts/assess_capability/capability.json",
    "false_reject_upper": "artifacts/assess_capability/capability.json",
    "ranking_ci_lower": "artifacts/evaluate/evaluation.json",
    "operating_ci_lower": "artifacts/evaluate/evaluation.json",
    "miss_rate_upper": "artifacts/evaluate/evaluation.json",
}
CRITERION_ID = re.compile(r"\bAC-[A-Z]+-\d+\b")
NO_TEST = "NO TEST"
NOT_ATTACHED = "test run not attached"


@dataclass(frozen=True)
class Check:
    """A verifying check other than a test: its label, result (PASS/FAIL or a note) and the
    evidence file it judged."""

    label: str
    result: str
    evidence: str
    requirement: str = ""


OBSERVED_CHARS = 120  # the matrix cites a criterion; its full observation is in its own table


def brief(text: str, limit: int = OBSERVED_CHARS) -> str:
    """``text`` cut at the last ``;`` before ``limit`` characters, saying where the rest is."""
    if len(text) <= limit:
        return text
    cut = text.rfind(";", 0, limit)
    head = text[: cut if cut > 0 else limit].rstrip()
    return f"{head}; … (in full: the acceptance criteria table)"


def criterion_checks(
    criteria: Iterable[Criterion], judged: dict[str, dict[str, Any]]
) -> dict[str, Check]:
    """Per criterion id, its check: the dossier's judged result, or where it is judged."""
    checks = {}
    for item in criteria:
        row = judged.get(item.id)
        if row is None:
            result = "judged at promotion (sealaudit promote)"
        else:
            observed = brief(str(row["observed"]))
            result = f"{row['result']} (observed {observed}, limit {row['limit']})"
        evidence = CHECK_EVIDENCE.get(item.check, "")
        label = f"{item.id} criterion {item.check}"
        checks[item.id] = Check(label, result, evidence, item.description)
    return checks


def matrix_rows(
    criteria: dict[str, Check],
    governance: list[dict[str, Any]],
    hazards: list[Hazard],
    run: JUnitRun | None,
    hashes: dict[str, str],
) -> list[dict[str, Any]]:
    """One row per requirement: criteria, then governance requirements, then hazards.

    Args:
        criteria: ``criterion_checks`` of the protocol's gating criteria.
        governance: ``governance.json`` ``requirements`` (``id``, ``title``, ``status``...).
        hazards: the risk register's hazards.
        run: the attached test run, or None.
        hashes: sha256 of every evidence file the dossier states, by source name.
    """
    rows = [
        _row(cid, "Protocol criterion", check.requirement or check.label, [check], run, hashes)
        for cid, check in criteria.items()
    ]
    for item in governance:
        rid = str(item["id"])
        check = Check(
            f"{rid} governance check ({item.get('checks', '?')} expectations)",
            str(item.get("status", "not recorded")),
            GOVERNANCE,
        )
        rows.append(_row(rid, "Data governance", str(item.get("title", "")), [check], run, hashes))
    for hazard in hazards:
        text = " ".join(str(line) for line in (*hazard.controls, *hazard.verification))
        cited = [criteria[c] for c in dict.fromkeys(CRITERION_ID.findall(text)) if c in criteria]
        files = [Check("", "", source) for source in _named_files(text, hashes)]
        rows.append(_row(hazard.id, "Risk control", hazard.hazard, [*cited, *files], run, hashes))
    return rows


def _row(
    rid: str,
    kind: str,
    text: str,
    checks: list[Check],
    run: JUnitRun | None,
    hashes: dict[str, str],
) -> dict[str, Any]:
    verifying = [c for c in checks if c.label]
    tests = run.assuring(rid) if run is not None else []
    evidence = [c.evidence for c in checks if c.evidence]
    if tests and run is not None:
        evidence.append(run.source)
    verified_by = [f"{c.label}: {c.result}" for c in verifying]
    verified_by += [f"{test}: {result}" for test, result in by_test(tests)]
    if run is None:
        verified_by.append(f"tests: {NOT_ATTACHED}")
    flag = "" if verifying or tests else NO_TEST
    return {
        "id": rid,
        "kind": kind,
        "requirement": text,
        "verified_by": verified_by,
        "result": _result(verifying, tests, run),
        "evidence": [_hashed(source, hashes) for source in dict.fromkeys(evidence)],
        "flag": flag if run is not None or not flag else f"{NO_TEST} ({NOT_ATTACHED})",
    }


def _result(checks: list[Check], tests: list[CaseResult], run: JUnitRun | None) -> str:
    """FAIL when a check or test failed; PASS when something passed and nothing failed."""
    tally = counts(tests)
    failed = tally["failed"] + tally["error"]
    judged = [c.result.split(" ", 1)[0] for c in checks]
    if failed or "FAIL" in judged:
        return "FAIL"
    if "PASS" in judged or tally["passed"]:
        return "PASS"
    if checks:
        return "not judged in this dossier"
    return "unverified" if run is not None else NOT_ATTACHED


def _named_files(text: str, hashes: dict[str, str]) -> list[str]:
    """Evidence files a reviewed text names by file name (``capability.json``)."""
    return [
        source
        for source in hashes
        if re.search(rf"(?<![\w.-]){re.escape(PurePosixPath(source).name)}\b", text)
    ]


def _hashed(source: str, hashes: dict[str, str]) -> str:
    digest = hashes.get(source)
    return f"{source} sha256 {digest[:16]}" if digest else f"{source} (not in this evidence)"
