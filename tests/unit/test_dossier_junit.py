"""The test run a dossier attaches: ``@pytest.mark.assures`` reaches pytest's JUnit XML through
tests/conftest.py, and the reader takes ids, outcomes and declared requirements from it strictly."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.dossier.junit import TestResultsError, counts, read_junit
from pipeline.provenance import sha256_file

ROOT = Path(__file__).resolve().parents[2]
TINY_SUITE = """
import pytest

@pytest.mark.assures("inline_reject", "HZ-01")
def test_kept():
    assert 1 + 1 == 2

@pytest.mark.assures("inline_reject")
def test_broken():
    assert 1 + 1 == 3

@pytest.mark.skip(reason="not on this machine")
@pytest.mark.assures("drift_alarm")
def test_skipped():
    pass

def test_unmarked():
    pass
"""


def _junit(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "junit.xml"
    path.write_text(f'<?xml version="1.0" encoding="utf-8"?>\n{body}', encoding="utf-8")
    return path


@pytest.mark.assures("dossier_generator")
def test_a_real_pytest_run_carries_each_tests_declared_ids(tmp_path: Path) -> None:
    (tmp_path / "test_tiny.py").write_text(TINY_SUITE, encoding="utf-8")
    out = tmp_path / "results" / "junit.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-c"]
    command += [str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "-p", "no:cacheprovider"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [*command, f"--junitxml={out}", str(tmp_path / "test_tiny.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # one test fails, on purpose
    run = read_junit(out)
    by_name = {case.id.rsplit("::", 1)[1]: case for case in run.cases}
    assert by_name["test_kept"].outcome == "passed"
    assert by_name["test_kept"].assures == ("inline_reject", "HZ-01")
    assert by_name["test_broken"].outcome == "failed"
    assert by_name["test_skipped"].outcome == "skipped"
    assert by_name["test_skipped"].assures == ("drift_alarm",)
    assert by_name["test_unmarked"].assures == ()
    assert [c.id.rsplit("::", 1)[1] for c in run.assuring("inline_reject")] == [
        "test_kept",
        "test_broken",
    ]
    assert run.sha256 == sha256_file(out) and run.timestamp[:2] == "20" and run.hostname


@pytest.mark.assures("dossier_generator")
def test_error_outcome_and_a_failing_teardown_record_keep_the_worse(tmp_path: Path) -> None:
    path = _junit(
        tmp_path,
        '<testsuites><testsuite name="pytest" timestamp="2026-12-04T10:00:00" hostname="qa1">'
        '<testcase classname="tests.unit.test_a" name="test_x">'
        '<properties><property name="assures" value="HZ-02"/></properties></testcase>'
        '<testcase classname="tests.unit.test_a" name="test_x"><error message="teardown"/>'
        "</testcase>"
        '<testcase classname="tests.unit.test_a" name="test_y"><failure message="no"/></testcase>'
        "</testsuite></testsuites>",
    )
    run = read_junit(path)
    assert [(c.id, c.outcome, c.assures) for c in run.cases] == [
        ("tests.unit.test_a::test_x", "error", ("HZ-02",)),
        ("tests.unit.test_a::test_y", "failed", ()),
    ]
    assert (run.timestamp, run.hostname) == ("2026-12-04T10:00:00", "qa1")
    assert counts(list(run.cases)) == {"passed": 0, "failed": 1, "error": 1, "skipped": 0}


@pytest.mark.assures("dossier_generator")
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<testsuites><testsuite>", "not valid JUnit XML"),
        ("<html><body>a report</body></html>", "no <testsuite> element"),
        ('<testsuite><testcase name="test_x"/></testsuite>', "lacks its name or classname"),
    ],
)
def test_a_bad_results_file_is_a_one_line_error_naming_it(
    tmp_path: Path, body: str, message: str
) -> None:
    path = _junit(tmp_path, body)
    with pytest.raises(TestResultsError, match=re.escape(message)) as error:
        read_junit(path)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)
    assert "make test" in str(error.value)


def test_a_missing_results_file_names_it_and_what_writes_it(tmp_path: Path) -> None:
    with pytest.raises(TestResultsError, match="test results missing; rerun `make test`"):
        read_junit(tmp_path / "absent.xml")
