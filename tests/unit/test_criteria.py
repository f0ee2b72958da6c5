"""Release criteria of the validation protocol judged against evidence: each unmet criterion
named, with the requirement that failed and by how much; comparators never gate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline import evidence
from pipeline.evidence.convert import to_dict
from pipeline.registry.checks import MISSING_CAPABILITY
from pipeline.registry.criteria import (
    DossierRecord,
    Judged,
    VersionRef,
    evaluate_comparators,
    evaluate_criteria,
    gating,
    load_protocol,
    shortfall,
    unmet,
)

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "validation" / "protocol.yaml"
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
    capability = evidence.read("capability", FIXTURE)
    inline = capability.modes.inline
    modes = replace(capability.modes, monitoring=inline if mode == "monitoring" else None)
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
        capability_evidence=replace(capability, modes=modes),
    )


def _by_id(results: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in results}


@pytest.mark.assures("AC-GOV-1", "AC-DOC-1", "AC-CAP-1", "AC-FR-1")
def test_passing_evidence_meets_every_criterion() -> None:
    results = evaluate_criteria(_evidence(), PROTOCOL)
    assert [r["id"] for r in results] == [c.id for c in load_protocol(PROTOCOL).criteria]
    assert unmet(results) == []
    capability = _by_id(results)["AC-CAP-1"]
    assert capability["observed"] == "all 8 requirements met"
    assert "REQ-CHANNEL: a90/95 0.22 mm <= required 0.25 mm (-0.03 mm; glm)" in [
        d["text"] for d in capability["details"]
    ]
    assert _by_id(results)["AC-FR-1"]["observed"] == pytest.approx(0.025641)


def _governance(**changes: object) -> Callable[[Judged], Judged]:
    return lambda j: replace(j, governance=replace(j.governance, **changes))


def _dossier(**changes: object) -> Callable[[Judged], Judged]:
    return lambda j: replace(j, dossier=replace(j.dossier, **changes))  # type: ignore[type-var]


def _requirement(rid: str, **changes: object) -> Callable[[Judged], Judged]:
    def change(j: Judged) -> Judged:
        cap = j.capability_evidence
        assert cap is not None
        rows = [replace(r, **changes) if r.id == rid else r for r in cap.modes.inline.requirements]
        inline = replace(cap.modes.inline, requirements=rows)
        return replace(j, capability_evidence=replace(cap, modes=replace(cap.modes, inline=inline)))

    return change


def _false_reject(**changes: object) -> Callable[[Judged], Judged]:
    def change(j: Judged) -> Judged:
        cap = j.capability_evidence
        assert cap is not None
        rejects = replace(cap.modes.inline.false_reject, **changes)
        inline = replace(cap.modes.inline, false_reject=rejects)
        return replace(j, capability_evidence=replace(cap, modes=replace(cap.modes, inline=inline)))

    return change


@pytest.mark.assures("AC-GOV-1", "AC-DOC-1", "AC-CAP-1", "AC-FR-1", "HZ-04")
@pytest.mark.parametrize(
    ("change", "failed"),
    [
        (_governance(critical_failures=1), "AC-GOV-1"),
        (_governance(success=False), "AC-GOV-1"),
        (lambda j: replace(j, dossier=None), "AC-DOC-1"),
        (_dossier(version="2"), "AC-DOC-1"),
        (_dossier(lineage_key="k2"), "AC-DOC-1"),
        (_dossier(pdf_verified=False), "AC-DOC-1"),
        (_requirement("REQ-CHANNEL", a90_95=0.41), "AC-CAP-1"),
        (_requirement("REQ-VOID", a90_95=None, method="not_demonstrated"), "AC-CAP-1"),
        (_requirement("REQ-BURN", n_events=59), "AC-CAP-1"),
        (_false_reject(upper=0.0518), "AC-FR-1"),
        (_false_reject(n_events=299), "AC-FR-1"),
        (_false_reject(upper=None), "AC-FR-1"),
    ],
)
def test_each_shortfall_fails_exactly_its_criterion(
    change: Callable[[Judged], Judged], failed: str
) -> None:
    results = evaluate_criteria(change(_evidence()), PROTOCOL)
    assert [r["id"] for r in unmet(results)] == [failed]


@pytest.mark.assures("inline_reject", "AC-CAP-1", "HZ-09")
def test_a_failed_requirement_says_which_and_by_how_much() -> None:
    results = _by_id(
        evaluate_criteria(_requirement("REQ-CHANNEL", a90_95=0.41)(_evidence()), PROTOCOL)
    )
    line = "REQ-CHANNEL: a90/95 0.41 mm > required 0.25 mm (+0.16 mm; glm)"
    assert results["AC-CAP-1"]["observed"] == line
    assert shortfall(results["AC-CAP-1"]) == f"AC-CAP-1: {line}"
    fraction = _requirement("REQ-WIDTH", a90_95=0.31)(_evidence())
    width = _by_id(evaluate_criteria(fraction, PROTOCOL))["AC-CAP-1"]["observed"]
    assert width == "REQ-WIDTH: a90/95 0.31 > required 0.25 (+0.06; glm)"


def test_not_demonstrated_quotes_the_evidence_note() -> None:
    note = "up to the largest tested size 0.45 mm"
    judged = _requirement("REQ-CHANNEL", a90_95=None, method="not_demonstrated", note=note)
    observed = _by_id(evaluate_criteria(judged(_evidence()), PROTOCOL))["AC-CAP-1"]["observed"]
    assert observed == f"REQ-CHANNEL: not demonstrated ({note}), required 0.25 mm"


def test_a_requirement_absent_from_the_evidence_fails() -> None:
    def drop(j: Judged) -> Judged:
        return _requirement("REQ-FIBRE", id="REQ-OTHER")(j)

    observed = _by_id(evaluate_criteria(drop(_evidence()), PROTOCOL))["AC-CAP-1"]["observed"]
    assert observed.startswith("REQ-FIBRE: not in the capability evidence")


def test_missing_capability_evidence_fails_both_capability_criteria_with_the_fix() -> None:
    results = evaluate_criteria(replace(_evidence(), capability_evidence=None), PROTOCOL)
    assert [r["id"] for r in unmet(results)] == ["AC-CAP-1", "AC-FR-1"]
    assert all(r["observed"] == MISSING_CAPABILITY for r in unmet(results))
    assert "dvc repro assess_capability" in MISSING_CAPABILITY


def test_a_mode_the_capability_evidence_lacks_fails_naming_it() -> None:
    judged = replace(_evidence("monitoring"))
    cap = judged.capability_evidence
    assert cap is not None
    judged = replace(
        judged, capability_evidence=replace(cap, modes=replace(cap.modes, monitoring=None))
    )
    observed = _by_id(evaluate_criteria(judged, PROTOCOL))["AC-CAP-1"]["observed"]
    assert "no monitoring mode" in observed


def test_shadow_gates_on_governance_and_dossier_only() -> None:
    results = evaluate_criteria(_requirement("REQ-CHANNEL", a90_95=0.41)(_evidence()), PROTOCOL)
    assert unmet(gating(results, "shadow")) == []
    assert [r["id"] for r in unmet(gating(results, "champion"))] == ["AC-CAP-1"]
    assert {r["id"] for r in gating(results, "shadow")} == {"AC-GOV-1", "AC-DOC-1"}


def test_comparators_are_reported_never_gating() -> None:
    low = _evidence()
    ranking = replace(low.evaluation.ranking, ci={"auroc": [0.5, 0.6]})
    low = replace(low, evaluation=replace(low.evaluation, ranking=ranking))
    comparators = _by_id(evaluate_comparators(low, PROTOCOL))
    assert comparators["CMP-AUROC"]["passed"] is False
    assert comparators["CMP-AUROC"]["required_for"] == []
    assert unmet(evaluate_criteria(low, PROTOCOL)) == []
    assert comparators["CMP-MISS"]["observed"] == pytest.approx(0.11)


def test_comparator_limits_depend_on_the_mode() -> None:
    monitoring = _by_id(evaluate_comparators(_evidence("monitoring"), PROTOCOL))
    assert monitoring["CMP-AUROC"]["limit"] == 0.7
    assert _by_id(evaluate_comparators(_evidence(), PROTOCOL))["CMP-AUROC"]["limit"] == 0.9


def test_dossier_stage_shows_only_the_criteria_shown_in_the_dossier() -> None:
    evidence_ = replace(_evidence(), dossier=None, model_version=None)
    results = evaluate_criteria(evidence_, PROTOCOL, stage="dossier")
    assert [r["id"] for r in results] == ["AC-GOV-1", "AC-CAP-1", "AC-FR-1"]
    assert not unmet(results)


def test_the_dossier_may_pass_documents_as_json_objects() -> None:
    """The mapping form (documents or their JSON) judges as the typed form does."""
    judged = replace(_evidence(), dossier=None, model_version=None)
    assert judged.capability_evidence is not None
    as_json = {
        "mode": "inline",
        "governance": to_dict(judged.governance),
        "evaluation": to_dict(judged.evaluation),
        "capability": to_dict(judged.capability_evidence),
    }
    typed = evaluate_criteria(judged, PROTOCOL, stage="dossier")
    assert evaluate_criteria(as_json, PROTOCOL, stage="dossier") == typed


def test_a_renamed_evidence_key_is_an_error_not_a_failed_criterion() -> None:
    governance = to_dict(evidence.read("governance", FIXTURE))
    governance["critical"] = governance.pop("critical_failures")
    raw = {"mode": "inline", "governance": governance, "evaluation": None}
    with pytest.raises(evidence.EvidenceError, match="critical"):
        evaluate_criteria(raw, PROTOCOL, stage="dossier")


def test_a_renamed_capability_key_is_an_error_naming_the_stage() -> None:
    capability = to_dict(evidence.read("capability", FIXTURE))
    capability["modes"]["inline"]["false_rejects"] = capability["modes"]["inline"].pop(
        "false_reject"
    )
    raw = {
        "mode": "inline",
        "governance": to_dict(evidence.read("governance", FIXTURE)),
        "evaluation": to_dict(evidence.read("evaluation", FIXTURE).modes.inline),
        "capability": capability,
    }
    with pytest.raises(evidence.EvidenceError, match="assess_capability"):
        evaluate_criteria(raw, PROTOCOL, stage="dossier")
