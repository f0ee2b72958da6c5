"""The rendered dossier carries the CSA assurance record per feature (annexes) and the
traceability matrix (section Traceability and records), naming the tests of an attached run;
a bad results file stops the dossier with one line naming it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main as cli
from pipeline.dossier.context import build_context, digest_files
from pipeline.dossier.evidence import EvidencePaths
from pipeline.dossier.junit import TestResultsError
from pipeline.dossier.render import render_html
from tests.dossier_world import TEMPLATES, make_world

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" timestamp="2026-12-04T10:00:00" hostname="qa1">
<testcase classname="tests.unit.test_thresholds" name="test_decision_rule">
<properties><property name="assures" value="inline_reject"/>
<property name="assures" value="HZ-01"/></properties></testcase>
<testcase classname="tests.unit.test_spc" name="test_shift_alarm">
<properties><property name="assures" value="drift_alarm"/>
<property name="assures" value="HZ-02"/></properties><failure message="late"/></testcase>
</testsuite></testsuites>
"""


def _build(paths: EvidencePaths) -> dict[str, Any]:
    return build_context(paths, "inline", system="sealaudit", default_model_name="sealaudit-inline")


def _between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


@pytest.fixture(scope="module")
def attached(tmp_path_factory: pytest.TempPathFactory) -> tuple[EvidencePaths, dict, str]:
    root = tmp_path_factory.mktemp("trace")
    results = root / "junit.xml"
    results.write_text(JUNIT, encoding="utf-8")
    paths = dataclasses.replace(make_world(root), test_results=results)
    context = _build(paths)
    return paths, context, render_html(context, TEMPLATES)


@pytest.mark.assures("dossier_generator")
def test_the_csa_annex_names_the_runs_tests_and_concludes_per_feature(attached: tuple) -> None:
    _, context, html = attached
    annex = _between(html, "CSA assurance records per feature", "<h2>Glossary</h2>")
    for feature in ("inline_reject", "drift_alarm", "threshold_configuration", "dossier_generator"):
        assert f"({feature})" in annex
    assert "tests.unit.test_thresholds::test_decision_rule" in annex
    assert "Conclusion: assurance activities passed." in annex
    assert "Conclusion: NOT passed: 1 failed." in annex
    assert "Disposition (reviewer)" in annex and "Approver" in annex
    records = {record["id"]: record for record in context["verification"]["csa"]}
    assert records["drift_alarm"]["issues"] == [
        ["tests.unit.test_spc::test_shift_alarm", "failed", ""]
    ]


@pytest.mark.assures("dossier_generator")
def test_the_matrix_traces_each_requirement_and_flags_the_untested(attached: tuple) -> None:
    paths, context, html = attached
    matrix = _between(html, "Traceability matrix (requirement", "</table>\n")
    rows = {row["id"]: row for row in context["verification"]["matrix"]}
    assert {"AC-GOV-1", "AC-CAP-1", "DG-01", "HZ-01", "HZ-09"} <= set(rows)
    assert "HZ-05" in context["verification"]["flagged"]
    assert re.search(r'<tr class="flagged">\s*<td class="id">HZ-05</td>', matrix)
    assert "tests.unit.test_spc::test_shift_alarm: failed" in matrix
    assert rows["HZ-02"]["result"] == "FAIL"
    assert "test-results/junit.xml" in digest_files(paths)  # attached to the PDF, in the id


@pytest.mark.assures("dossier_generator")
def test_without_a_run_the_annex_names_the_command_that_attaches_it(tmp_path: Path) -> None:
    html = render_html(_build(make_world(tmp_path)), TEMPLATES)
    assert (
        "test run not attached: render with `sealaudit dossier --model sealaudit-inline "
        "--version 3 --test-results reports/test-results/junit.xml`"
    ) in html
    assert "NO TEST (test run not attached)" in html


@pytest.mark.assures("dossier_generator")
def test_a_malformed_results_file_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "junit.xml"
    bad.write_text("<testsuites><testsuite>", encoding="utf-8")
    paths = dataclasses.replace(make_world(tmp_path / "world"), test_results=bad)
    with pytest.raises(TestResultsError, match=re.escape(f"{bad}: not valid JUnit XML")):
        _build(paths)
    code = cli(["dossier", "--model", "m", "--version", "1", "--test-results", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"sealaudit: error: {bad}: ") and err.count("\n") == 1
