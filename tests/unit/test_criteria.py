"""Acceptance criteria: the reviewed file judged against evidence, each unmet criterion named."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from pipeline.registry.criteria import (
    CriteriaError,
    criteria_sha256,
    evaluate_criteria,
    load_criteria,
    unmet,
)

ROOT = Path(__file__).resolve().parents[2]
CRITERIA = ROOT / "validation" / "acceptance_criteria.yaml"


def _evidence(mode: str = "inline") -> dict:
    threshold = {
        "threshold_id": "four_ms_ssim-supervised-1a2b3c4d",
        "value": 0.04,
        "test": {"accuracy": 0.93, "miss_rate": 0.07},
        "test_ci": {"accuracy": [0.90, 0.955], "miss_rate": [0.04, 0.12]},
        "miss_rate_upper_95": 0.11,
    }
    return {
        "mode": mode,
        "governance": {"success": True, "critical_failures": 0, "warnings": 2},
        "evaluation": {
            "ranking": {"auroc": 0.97, "aupr": 0.96, "ci": {"auroc": [0.95, 0.985]}},
            "thresholds": [{**threshold, "threshold_id": "other", "value": 9.0}, threshold],
            "operating_threshold_id": threshold["threshold_id"],
        },
        "model_version": {"model_name": "sealaudit-inline", "version": "3", "lineage_key": "k3"},
        "dossier": {
            "model_name": "sealaudit-inline",
            "version": "3",
            "lineage_key": "k3",
            "pdf_verified": True,
        },
    }


def _by_id(results: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in results}


def test_passing_evidence_meets_every_criterion() -> None:
    results = evaluate_criteria(_evidence(), CRITERIA)
    assert [r["id"] for r in results] == [c["id"] for c in load_criteria(CRITERIA)]
    assert unmet(results) == []
    perf = _by_id(results)["AC-PERF-1"]
    assert perf["observed"] == pytest.approx(0.95)  # the CI's lower bound, not the point
    assert perf["limit"] == pytest.approx(0.90)


def test_observed_values_come_from_the_operating_threshold() -> None:
    results = _by_id(evaluate_criteria(_evidence(), CRITERIA))
    assert results["AC-PERF-2"]["observed"] == pytest.approx(0.90)
    assert results["AC-SAFE-1"]["observed"] == pytest.approx(0.11)


@pytest.mark.parametrize(
    ("path", "value", "failed"),
    [
        (("governance", "critical_failures"), 1, "AC-GOV-1"),
        (("governance", "success"), False, "AC-GOV-1"),
        (("evaluation", "ranking", "ci", "auroc"), [0.88, 0.95], "AC-PERF-1"),
        (("evaluation", "ranking", "ci", "auroc"), [0.90, 0.95], "AC-PERF-1"),  # not above
        (("evaluation", "thresholds", 1, "miss_rate_upper_95"), 0.25, "AC-SAFE-1"),
        (("evaluation", "thresholds", 1, "test_ci", "accuracy"), [0.79, 0.9], "AC-PERF-2"),
        (("dossier",), None, "AC-DOC-1"),
        (("dossier", "version"), "2", "AC-DOC-1"),
        (("dossier", "lineage_key"), "k2", "AC-DOC-1"),
        (("dossier", "pdf_verified"), False, "AC-DOC-1"),
    ],
)
def test_each_shortfall_fails_exactly_its_criterion(
    path: tuple, value: object, failed: str
) -> None:
    evidence = copy.deepcopy(_evidence())
    target = evidence
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    results = evaluate_criteria(evidence, CRITERIA)
    assert [r["id"] for r in unmet(results)] == [failed]


def test_limits_depend_on_the_mode() -> None:
    evidence = _evidence("monitoring")
    evidence["evaluation"]["ranking"]["ci"]["auroc"] = [0.75, 0.85]
    assert not unmet(evaluate_criteria(evidence, CRITERIA))
    assert _by_id(evaluate_criteria(_evidence("inline"), CRITERIA))["AC-PERF-1"]["limit"] == 0.9


def test_missing_evidence_fails_and_says_what_is_missing() -> None:
    evidence = _evidence()
    del evidence["evaluation"]["ranking"]["ci"]
    result = _by_id(evaluate_criteria(evidence, CRITERIA))["AC-PERF-1"]
    assert result["passed"] is False
    assert "missing evidence" in result["observed"]


def test_dossier_stage_leaves_out_the_promotion_only_criterion() -> None:
    evidence = _evidence()
    del evidence["dossier"], evidence["model_version"]
    results = evaluate_criteria(evidence, CRITERIA, stage="dossier")
    assert "AC-DOC-1" not in _by_id(results)
    assert not unmet(results)


def _write(tmp_path: Path, criteria: list) -> Path:
    path = tmp_path / "criteria.yaml"
    path.write_text(yaml.safe_dump({"criteria": criteria}))
    return path


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ([{"id": "X", "description": "d", "check": "vibes"}], "unknown check"),
        ([{"id": "X", "description": "d", "check": "miss_rate_upper"}], "maximum"),
        (
            [{"id": "X", "description": "d", "check": "governance_passed"}] * 2,
            "duplicate id",
        ),
        ([], "non-empty"),
    ],
)
def test_malformed_criteria_file_is_an_error(tmp_path: Path, criteria: list, message: str) -> None:
    with pytest.raises(CriteriaError, match=message):
        load_criteria(_write(tmp_path, criteria))


def test_criteria_hash_changes_with_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"id": "X", "description": "d", "check": "governance_passed"}])
    before = criteria_sha256(path)
    path.write_text(path.read_text() + "# reviewed\n")
    assert criteria_sha256(path) != before
