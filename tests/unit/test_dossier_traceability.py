"""The traceability matrix and the CSA assurance records, on tiny worlds: every requirement has
a row, a requirement nothing verifies is flagged, results come from the run's own outcomes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.dossier.assurance import assurance_records
from pipeline.dossier.junit import CaseResult, JUnitRun
from pipeline.dossier.registers import Hazard
from pipeline.dossier.traceability import NO_TEST, Check, matrix_rows

CAPABILITY = "artifacts/assess_capability/capability.json"
HASHES = {
    CAPABILITY: "a" * 64,
    "artifacts/validate_data/governance.json": "b" * 64,
    "test-results/junit.xml": "c" * 64,
}
CRITERIA = {"AC-CAP-1": Check("AC-CAP-1 criterion capability_a90_95", "PASS (...)", CAPABILITY)}
GOVERNANCE = [{"id": "DG-07", "title": "No capture event shared", "status": "PASS", "checks": 1}]
FEATURE = {
    "id": "inline_reject",
    "feature": "Inline accept/reject decision",
    "intended_use": "Per-pouch decision",
    "process_risk": "high",
    "justification": "It decides acceptability.",
    "assurance": "Scripted testing",
}


def _hazard(hid: str, controls: list[str], verification: list[str]) -> Hazard:
    return Hazard(hid, "h", "s", "harm", 5, 3, controls, verification, 2, "acceptable")


HAZARDS = [
    _hazard("HZ-01", ["a90/95 within the requirement (AC-CAP-1)"], ["capability.json"]),
    _hazard("HZ-02", ["control chart"], ["monitoring plan"]),
    _hazard("HZ-05", ["second person"], ["training records"]),
]


def _run(*cases: tuple[str, str, tuple[str, ...]]) -> JUnitRun:
    return JUnitRun(
        path=Path("reports/test-results/junit.xml"),
        sha256="c" * 64,
        timestamp="2026-12-04T10:00:00",
        hostname="qa1",
        cases=tuple(CaseResult(*case) for case in cases),
    )


RUN = _run(
    ("tests.unit.test_spc::test_shift", "passed", ("drift_alarm", "HZ-02")),
    ("tests.unit.test_thresholds::test_rule", "failed", ("inline_reject", "HZ-01")),
    ("tests.unit.test_prepare::test_groups", "passed", ("DG-07",)),
)


def _rows(run: JUnitRun | None) -> dict[str, dict]:
    return {row["id"]: row for row in matrix_rows(CRITERIA, GOVERNANCE, HAZARDS, run, HASHES)}


@pytest.mark.assures("dossier_generator")
def test_every_requirement_has_a_row_and_the_unverified_one_is_flagged() -> None:
    rows = _rows(RUN)
    assert list(rows) == ["AC-CAP-1", "DG-07", "HZ-01", "HZ-02", "HZ-05"]
    assert [rid for rid, row in rows.items() if row["flag"]] == ["HZ-05"]
    assert rows["HZ-05"]["flag"] == NO_TEST and rows["HZ-05"]["result"] == "unverified"


@pytest.mark.assures("dossier_generator")
def test_a_hazard_is_verified_by_the_criteria_it_cites_and_by_its_tests() -> None:
    rows = _rows(RUN)
    hz1 = rows["HZ-01"]
    assert hz1["verified_by"] == [
        "AC-CAP-1 criterion capability_a90_95: PASS (...)",
        "tests.unit.test_thresholds::test_rule: failed",
    ]
    assert hz1["result"] == "FAIL"  # the criterion passed, the test did not
    assert hz1["evidence"] == [
        f"{CAPABILITY} sha256 {'a' * 16}",
        f"test-results/junit.xml sha256 {'c' * 16}",
    ]
    assert rows["HZ-02"]["result"] == "PASS" and rows["HZ-02"]["flag"] == ""
    assert rows["DG-07"]["verified_by"][-1] == "tests.unit.test_prepare::test_groups: passed"


@pytest.mark.assures("dossier_generator")
def test_without_a_run_the_matrix_says_the_tests_are_not_attached() -> None:
    rows = _rows(None)
    assert rows["HZ-02"]["flag"] == f"{NO_TEST} (test run not attached)"
    assert rows["AC-CAP-1"]["flag"] == "" and rows["AC-CAP-1"]["result"] == "PASS"
    assert all(row["verified_by"][-1] == "tests: test run not attached" for row in rows.values())


@pytest.mark.assures("dossier_generator")
def test_the_csa_record_lists_the_runs_tests_its_issues_and_the_conclusion() -> None:
    drift = {**FEATURE, "id": "drift_alarm", "feature": "Drift monitor"}
    unused = {**FEATURE, "id": "dossier_generator", "feature": "Dossier"}
    inline, alarm, dossier = assurance_records([FEATURE, drift, unused], RUN, "sealaudit dossier")
    assert inline["activities"] == [["tests.unit.test_thresholds::test_rule", "failed"]]
    assert inline["issues"] == [["tests.unit.test_thresholds::test_rule", "failed", ""]]
    assert inline["conclusion"] == "NOT passed: 1 failed" and not inline["passed"]
    assert alarm["conclusion"] == "assurance activities passed" and alarm["passed"]
    assert alarm["counts"] == "1 passed, 0 failed, 0 error, 0 skipped"
    assert dossier["conclusion"] == "NOT passed: no assurance activity ran for this feature"


@pytest.mark.assures("dossier_generator")
def test_without_a_run_the_csa_record_names_the_command_that_attaches_one() -> None:
    (record,) = assurance_records([FEATURE], None, "sealaudit dossier --model m --version 3")
    assert record["note"] == (
        "test run not attached: render with `sealaudit dossier --model m --version 3 "
        "--test-results reports/test-results/junit.xml`"
    )
    assert record["activities"] == [] and not record["passed"]
    assert record["risk_line"] == "high process risk: It decides acceptability."


@pytest.mark.assures("dossier_generator")
def test_the_cases_of_one_parametrized_test_are_one_line_with_their_tally() -> None:
    run = _run(
        ("tests.unit.test_a::test_p[one]", "passed", ("HZ-05",)),
        ("tests.unit.test_a::test_p[two]", "failed", ("HZ-05",)),
        ("tests.unit.test_a::test_q", "passed", ("HZ-05",)),
    )
    row = _rows(run)["HZ-05"]
    assert row["verified_by"] == [
        "tests.unit.test_a::test_p: 1 passed, 1 failed (2 cases)",
        "tests.unit.test_a::test_q: passed",
    ]
    assert row["result"] == "FAIL" and row["flag"] == ""


def test_a_long_criterion_observation_is_cited_briefly() -> None:
    from pipeline.dossier.traceability import brief

    long = "; ".join(f"REQ-{i}: not demonstrated (2 hits and 58 misses)" for i in range(8))
    short = brief(long)
    assert len(short) < 180 and short.endswith("(in full: the acceptance criteria table)")
    assert short.startswith("REQ-0: not demonstrated") and brief("PASS") == "PASS"


def test_every_assures_marker_names_a_known_feature_or_requirement() -> None:
    """A mistyped id in ``@pytest.mark.assures(...)`` would trace to nothing and leave its
    requirement flagged NO TEST in the dossier while the test passes: catch it here."""
    import ast
    import json
    import re

    import yaml

    root = Path(__file__).resolve().parents[2]
    validation = root / "validation"
    known = {
        str(f["id"])
        for f in yaml.safe_load((validation / "intended_use.yaml").read_text())["csa_features"]
    }
    known |= {
        str(c["id"]) for c in yaml.safe_load((validation / "protocol.yaml").read_text())["criteria"]
    }
    known |= {
        str(h["id"])
        for h in yaml.safe_load((validation / "risk_register.yaml").read_text())["hazards"]
    }
    for suite in (validation / "suites").glob("*.json"):
        known |= set(re.findall(r'"(DG-\d+)"', suite.read_text()))
    used: dict[str, str] = {}
    for path in (root / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "assures"
            ):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        used[arg.value] = f"{path.name}:{node.lineno}"
    assert used, "no assures markers found: the CSA records would list no tests"
    unknown = {value: where for value, where in used.items() if value not in known}
    assert not unknown, f"assures ids that name nothing: {json.dumps(unknown)}"
