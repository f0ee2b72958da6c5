"""Acceptance criteria: the reviewed file judged against evidence, each unmet criterion named."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from pipeline import evidence
from pipeline.evidence.convert import to_dict
from pipeline.registry.criteria import (
    CriteriaError,
    DossierRecord,
    Judged,
    VersionRef,
    criteria_sha256,
    evaluate_criteria,
    load_criteria,
    unmet,
)

ROOT = Path(__file__).resolve().parents[2]
CRITERIA = ROOT / "validation" / "acceptance_criteria.yaml"
FIXTURE = ROOT / "tests" / "fixtures" / "evidence"
OPERATING = "four_ms_ssim-supervised-1a2b3c4d"


def _evidence(mode: str = "inline") -> Judged:
    """The fixture's evidence with known numbers at the operating threshold."""
    governance = evidence.read("governance", FIXTURE)
    evaluated = evidence.read("evaluation", FIXTURE).modes.inline
    threshold = replace(
        evaluated.thresholds[0],
        threshold_id=OPERATING,
        value=0.04,
        test={"accuracy": 0.93, "miss_rate": 0.07},
        test_ci={"accuracy": [0.90, 0.955], "miss_rate": [0.04, 0.12]},
        miss_rate_upper_95=0.11,
    )
    other = replace(threshold, threshold_id="other", value=9.0)
    ranking = replace(evaluated.ranking, auroc=0.97, aupr=0.96, ci={"auroc": [0.95, 0.985]})
    return Judged(
        mode=mode,
        governance=replace(governance, success=True, critical_failures=0, warnings=2),
        evaluation=replace(
            evaluated,
            ranking=ranking,
            thresholds=[other, threshold],
            operating_threshold_id=OPERATING,
        ),
        model_version=VersionRef("sealaudit-inline", "3", "k3"),
        dossier=DossierRecord("sealaudit-inline", "3", "k3", pdf_verified=True),
    )


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
    assert results["AC-GOV-1"]["observed"] == "success=true, critical_failures=0"
    assert results["AC-DOC-1"]["observed"] == "sealaudit-inline v3 (k3)"


def _governance(**changes: object) -> Callable[[Judged], Judged]:
    return lambda j: replace(j, governance=replace(j.governance, **changes))


def _ranking_ci(low: float, high: float) -> Callable[[Judged], Judged]:
    def change(j: Judged) -> Judged:
        ranking = replace(j.evaluation.ranking, ci={"auroc": [low, high]})
        return replace(j, evaluation=replace(j.evaluation, ranking=ranking))

    return change


def _operating(**changes: object) -> Callable[[Judged], Judged]:
    def change(j: Judged) -> Judged:
        other, operating = j.evaluation.thresholds
        thresholds = [other, replace(operating, **changes)]
        return replace(j, evaluation=replace(j.evaluation, thresholds=thresholds))

    return change


def _dossier(**changes: object) -> Callable[[Judged], Judged]:
    return lambda j: replace(j, dossier=replace(j.dossier, **changes))  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        (_governance(critical_failures=1), "AC-GOV-1"),
        (_governance(success=False), "AC-GOV-1"),
        (_ranking_ci(0.88, 0.95), "AC-PERF-1"),
        (_ranking_ci(0.90, 0.95), "AC-PERF-1"),  # not above
        (_operating(miss_rate_upper_95=0.25), "AC-SAFE-1"),
        (_operating(test_ci={"accuracy": [0.79, 0.9]}), "AC-PERF-2"),
        (lambda j: replace(j, dossier=None), "AC-DOC-1"),
        (_dossier(version="2"), "AC-DOC-1"),
        (_dossier(lineage_key="k2"), "AC-DOC-1"),
        (_dossier(pdf_verified=False), "AC-DOC-1"),
    ],
)
def test_each_shortfall_fails_exactly_its_criterion(
    change: Callable[[Judged], Judged], failed: str
) -> None:
    results = evaluate_criteria(change(_evidence()), CRITERIA)
    assert [r["id"] for r in unmet(results)] == [failed]


def test_limits_depend_on_the_mode() -> None:
    evidence_ = _ranking_ci(0.75, 0.85)(_evidence("monitoring"))
    assert not unmet(evaluate_criteria(evidence_, CRITERIA))
    assert _by_id(evaluate_criteria(_evidence("inline"), CRITERIA))["AC-PERF-1"]["limit"] == 0.9


@pytest.mark.parametrize(
    ("change", "criterion"),
    [
        (
            lambda j: replace(
                j, evaluation=replace(j.evaluation, ranking=replace(j.evaluation.ranking, ci={}))
            ),
            "AC-PERF-1",
        ),
        (_operating(miss_rate_upper_95=None), "AC-SAFE-1"),
        (
            lambda j: replace(j, evaluation=replace(j.evaluation, operating_threshold_id="gone")),
            "AC-PERF-2",
        ),
    ],
)
def test_missing_evidence_fails_and_says_what_is_missing(
    change: Callable[[Judged], Judged], criterion: str
) -> None:
    result = _by_id(evaluate_criteria(change(_evidence()), CRITERIA))[criterion]
    assert result["passed"] is False
    assert "missing evidence" in result["observed"]


def test_dossier_stage_leaves_out_the_promotion_only_criterion() -> None:
    evidence_ = replace(_evidence(), dossier=None, model_version=None)
    results = evaluate_criteria(evidence_, CRITERIA, stage="dossier")
    assert "AC-DOC-1" not in _by_id(results)
    assert not unmet(results)


def test_the_dossier_may_pass_documents_as_json_objects() -> None:
    """The mapping form (documents or their JSON) judges as the typed form does."""
    judged = replace(_evidence(), dossier=None, model_version=None)
    as_json = {
        "mode": "inline",
        "governance": to_dict(judged.governance),
        "evaluation": to_dict(judged.evaluation),
    }
    typed = evaluate_criteria(judged, CRITERIA, stage="dossier")
    assert evaluate_criteria(as_json, CRITERIA, stage="dossier") == typed


def test_a_renamed_evidence_key_is_an_error_not_a_failed_criterion() -> None:
    governance = to_dict(evidence.read("governance", FIXTURE))
    governance["critical"] = governance.pop("critical_failures")
    raw = {"mode": "inline", "governance": governance, "evaluation": None}
    with pytest.raises(evidence.EvidenceError, match="critical"):
        evaluate_criteria(raw, CRITERIA, stage="dossier")


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
