"""The test run a dossier may attach: pytest's JUnit XML (``make test`` writes
``reports/test-results/junit.xml``), read strictly.

Each test declares what it assures with ``@pytest.mark.assures(...)`` (CSA feature ids and
requirement ids); ``tests/conftest.py`` copies the marker's arguments into the test's
``<properties>`` as ``assures`` properties, so the dossier names tests from the run itself,
never from prose. A file that is not a JUnit report is a one-line error naming it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import SealauditError
from pipeline.provenance import sha256_file

ASSURES = "assures"  # the property name tests/conftest.py writes, one per marker argument
OUTCOMES = ("passed", "failed", "error", "skipped")
SOURCE_DIR = "test-results"
FIX = "rerun `make test` (it writes reports/test-results/junit.xml)"


class TestResultsError(SealauditError):
    """The attached test results are missing or not a JUnit XML report."""

    __test__ = False  # a library class, not a pytest test class


@dataclass(frozen=True)
class CaseResult:
    """One test case: ``classname::name``, its outcome, the ids it assures."""

    id: str
    outcome: str
    assures: tuple[str, ...]


@dataclass(frozen=True)
class JUnitRun:
    """One test run: the file (path and sha256), when and where it ran, its cases."""

    path: Path
    sha256: str
    timestamp: str
    hostname: str
    cases: tuple[CaseResult, ...]

    @property
    def source(self) -> str:
        """The run's name among the dossier's evidence files (attached to the PDF)."""
        return f"{SOURCE_DIR}/{self.path.name}"

    def assuring(self, requirement: str) -> list[CaseResult]:
        """The cases that declare they assure ``requirement`` (a feature or requirement id)."""
        return [case for case in self.cases if requirement in case.assures]


def results_file(path: Path) -> Path:
    """``path`` if it is a file, else an error naming it and what writes it."""
    if not Path(path).is_file():
        raise TestResultsError(f"{path}: test results missing; {FIX}")
    return Path(path)


def read_junit(path: Path) -> JUnitRun:
    """Parse a pytest JUnit XML report.

    Raises:
        TestResultsError: the file is missing, not XML, or holds no ``<testsuite>``.
    """
    path = results_file(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        raise TestResultsError(f"{path}: not valid JUnit XML ({error}); {FIX}") from None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    if root.tag not in ("testsuite", "testsuites") or not suites:
        raise TestResultsError(f"{path}: no <testsuite> element (not a JUnit report); {FIX}")
    suite = suites[0]
    cases = [_case(node, path) for one in suites for node in one.iter("testcase")]
    return JUnitRun(
        path=path,
        sha256=sha256_file(path),
        timestamp=suite.get("timestamp", "not recorded"),
        hostname=suite.get("hostname", "not recorded"),
        cases=tuple(_merge(cases)),
    )


def _case(node: ET.Element, path: Path) -> CaseResult:
    name, classname = node.get("name"), node.get("classname")
    if not name or classname is None:
        raise TestResultsError(f"{path}: a <testcase> lacks its name or classname; {FIX}")
    assures = tuple(
        str(prop.get("value"))
        for prop in node.iter("property")
        if prop.get("name") == ASSURES and prop.get("value")
    )
    return CaseResult(f"{classname}::{name}", _outcome(node), assures)


def _outcome(node: ET.Element) -> str:
    for tag, outcome in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        if node.find(tag) is not None:
            return outcome
    return "passed"


def _merge(cases: list[CaseResult]) -> list[CaseResult]:
    """One entry per id: pytest writes a second ``<testcase>`` when teardown also fails;
    the worse outcome stands."""
    merged: dict[str, CaseResult] = {}
    for case in cases:
        seen = merged.get(case.id)
        if seen is None or _rank(case.outcome) < _rank(seen.outcome):
            assures = tuple(dict.fromkeys((*(seen.assures if seen else ()), *case.assures)))
            merged[case.id] = CaseResult(case.id, case.outcome, assures)
    return list(merged.values())


def _rank(outcome: str) -> int:
    return {"failed": 0, "error": 1, "skipped": 2, "passed": 3}[outcome]


def counts(cases: list[CaseResult]) -> dict[str, int]:
    """How many cases had each outcome (every outcome present, zero when none)."""
    return {outcome: sum(case.outcome == outcome for case in cases) for outcome in OUTCOMES}


def by_test(cases: list[CaseResult]) -> list[list[str]]:
    """``[test id, result]`` per test function: the cases of one parametrized test are one
    line (``12 passed (12 cases)``), so a matrix row stays readable."""
    groups: dict[str, list[CaseResult]] = {}
    for case in cases:
        groups.setdefault(case.id.split("[", 1)[0], []).append(case)
    lines = []
    for test, members in groups.items():
        if len(members) == 1:
            lines.append([members[0].id, members[0].outcome])
            continue
        tally = ", ".join(f"{n} {outcome}" for outcome, n in counts(members).items() if n)
        lines.append([test, f"{tally} ({len(members)} cases)"])
    return lines
