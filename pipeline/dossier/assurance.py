"""The CSA assurance record per feature (FDA Computer Software Assurance, final guidance of
3 Feb 2026): intended use, process risk and its rationale, the assurance activities that ran
(tests of the attached run, by id, with result), issues found and their disposition, the
conclusion, tester and approver.

The activities come from the test run itself (``pipeline.dossier.junit``), never from prose;
without an attached run the record says how to attach one. Disposition, tester and approver
are left blank for the people who sign them on the printout.
"""

from __future__ import annotations

from typing import Any

from pipeline.dossier.junit import CaseResult, JUnitRun, by_test, counts

DEFAULT_RESULTS = "reports/test-results/junit.xml"
PASSED = "assurance activities passed"


def assurance_records(
    features: list[dict[str, str]], run: JUnitRun | None, command: str
) -> list[dict[str, Any]]:
    """One record per CSA feature.

    Args:
        features: ``legal.csa_entries`` of the intended-use file.
        run: the attached test run, or None.
        command: the command that renders this dossier with the registry's records; the
            unattached record names it with ``--test-results``.
    """
    return [_record(feature, run, command) for feature in features]


def _record(feature: dict[str, str], run: JUnitRun | None, command: str) -> dict[str, Any]:
    base = {
        **feature,
        "risk_line": f"{feature['process_risk']} process risk: {feature['justification']}",
    }
    if run is None:
        note = f"test run not attached: render with `{command} --test-results {DEFAULT_RESULTS}`"
        return {
            **base,
            "attached": False,
            "note": note,
            "activities": [],
            "counts": "",
            "issues": [],
            "conclusion": "not concluded: test run not attached",
            "passed": False,
        }
    cases = run.assuring(feature["id"])
    tally = counts(cases)
    return {
        **base,
        "attached": True,
        "note": f"{len(cases)} tests of run {run.source} ({run.timestamp}, {run.hostname}, "
        f"sha256 {run.sha256[:16]}) declare this feature (@pytest.mark.assures)",
        "activities": by_test(cases),
        "counts": ", ".join(f"{n} {outcome}" for outcome, n in tally.items()),
        "issues": [[case.id, case.outcome, ""] for case in _issues(cases)],
        "conclusion": conclusion(tally),
        "passed": conclusion(tally) == PASSED,
    }


def _issues(cases: list[CaseResult]) -> list[CaseResult]:
    return [case for case in cases if case.outcome in ("failed", "error")]


def conclusion(tally: dict[str, int]) -> str:
    """``assurance activities passed`` only when tests ran and none failed or errored."""
    failed = tally["failed"] + tally["error"]
    if failed:
        return f"NOT passed: {failed} failed"
    if not tally["passed"]:
        return "NOT passed: no assurance activity ran for this feature"
    skipped = f" ({tally['skipped']} skipped)" if tally["skipped"] else ""
    return f"{PASSED}{skipped}"
