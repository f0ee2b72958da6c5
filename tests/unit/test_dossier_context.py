"""The dossier's context builder: every figure from the evidence, as text, or a clear error."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.dossier.context import build_context
from pipeline.dossier.evidence import EvidencePaths, MissingEvidenceError
from pipeline.dossier.formatting import fmt, fmt_ci, fmt_pct, fmt_sig, fmt_signed
from pipeline.dossier.outline import SECTIONS
from pipeline.dossier.registry_evidence import arrange
from pipeline.dossier.sections.comparison import delta_interval
from tests.dossier_world import (
    FIXTURE,
    edit_json,
    fail_inline_capability,
    fail_inline_miss_rate,
    make_world,
)

EVALUATION = json.loads((FIXTURE / "evaluate" / "evaluation.json").read_text())
REGISTRATION = json.loads((FIXTURE / "register" / "registration.json").read_text())


def build(paths: EvidencePaths, mode: str = "inline", **kwargs: Any) -> dict[str, Any]:
    return build_context(
        paths, mode, system="sealaudit", default_model_name=f"sealaudit-{mode}", **kwargs
    )


@pytest.fixture
def world(tmp_path: Path) -> EvidencePaths:
    return make_world(tmp_path)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def test_every_value_reaches_the_templates_as_text(world: EvidencePaths) -> None:
    leaves = _leaves(build(world))
    numbers = [v for v in leaves if v is not None and not isinstance(v, str | bool)]
    assert numbers == [], "templates must only format text, never compute numbers"


def test_context_carries_the_evidence_figures_exactly(world: EvidencePaths) -> None:
    context = build(world)
    inline = EVALUATION["modes"]["inline"]
    summary = {row[0]: row[1] for row in context["performance"]["summary"]}
    auroc, (low, high) = inline["ranking"]["auroc"], inline["ranking"]["ci"]["auroc"]
    assert summary["AUROC"] == f"{auroc:.3f} [{low:.3f}, {high:.3f}]"
    point = next(
        t for t in inline["thresholds"] if t["threshold_id"] == inline["operating_threshold_id"]
    )
    threshold = context["thresholds"][0]
    assert threshold["value"] == fmt_sig(point["value"])
    assert threshold["miss_upper"] == fmt(point["miss_rate_upper_95"])
    assert threshold["bound"] == {
        "criterion": "CMP-MISS",
        "limit": "0.200",
        "result": "PASS" if point["miss_rate_upper_95"] <= 0.2 else "FAIL",
        "needed": "14",  # ceil(ln 0.05 / ln 0.8): zero misses in 14 bound the rate by 20 %
        "have": str(inline["n_test_defective"]),
    }
    recall = {row[0]: row[1] for row in context["performance"]["modes"][0]["per_defect"]}
    assert recall["channel"] == fmt(inline["per_defect_type"]["channel"]["recall"])
    version = str(REGISTRATION["inline"]["version"])
    assert context["meta"]["model_name"] == "sealaudit-inline"
    assert context["meta"]["version"] == version


def test_sections_follow_the_outline(world: EvidencePaths) -> None:
    context = build(world)
    assert [s["title"] for s in context["sections"]] == [s.title for s in SECTIONS]
    assert all(s["clauses"] and s["evidence"] for s in context["sections"])


@pytest.mark.assures("dossier_generator")
def test_passing_evidence_gives_pass(world: EvidencePaths) -> None:
    verdict = build(world)["verdict"]
    assert verdict["label"] == "PASS" and verdict["unmet"] == []
    assert [row["id"] for row in verdict["rows"]] == ["AC-GOV-1", "AC-CAP-1", "AC-FR-1"]
    assert [row["id"] for row in verdict["comparators"]] == [
        "CMP-AUROC",
        "CMP-ACCURACY",
        "CMP-MISS",
    ]
    assert verdict["source"].startswith("SA-VAL-PR-001 rev 1, approved 2026-12-03")
    # the fixture's evidence names another protocol file and a commit outside this world
    assert verdict["protocol"]["predates_test"] == "unknown"
    assert verdict["protocol"]["deviations"][0].startswith("evidence judged under another")


@pytest.mark.assures("dossier_generator")
def test_failing_model_gets_fail_with_the_unmet_requirement(world: EvidencePaths) -> None:
    fail_inline_capability(world.evidence_dir, "REQ-CHANNEL", 0.41)
    verdict = build(world)["verdict"]
    assert verdict["label"] == "FAIL"
    assert [(row["id"], row["shortfall"]) for row in verdict["unmet"]] == [
        ("AC-CAP-1", "REQ-CHANNEL: a90/95 0.41 mm > required 0.25 mm (+0.16 mm; glm)")
    ]


def test_a_comparator_below_reference_does_not_fail_the_verdict(world: EvidencePaths) -> None:
    fail_inline_miss_rate(world.evidence_dir, upper=0.35)
    verdict = build(world)["verdict"]
    assert verdict["label"] == "PASS"
    miss = next(row for row in verdict["comparators"] if row["id"] == "CMP-MISS")
    assert (miss["observed"], miss["result"]) == ("0.35", "FAIL")


@pytest.mark.assures("dossier_generator")
@pytest.mark.parametrize(
    "relative",
    ["evaluate/evaluation.json", "fit_monitor/monitor_summary.json", "evaluate/roc_inline.png"],
)
def test_missing_evidence_file_is_an_error_naming_it(world: EvidencePaths, relative: str) -> None:
    (world.evidence_dir / relative).unlink()
    with pytest.raises(MissingEvidenceError, match=relative.split("/")[-1]):
        build(world)


def test_missing_reviewed_file_is_an_error_naming_it(world: EvidencePaths) -> None:
    (world.validation_dir / "intended_use.yaml").unlink()
    with pytest.raises(MissingEvidenceError, match="intended_use.yaml"):
        build(world)


def test_missing_gallery_image_is_an_error_naming_it(world: EvidencePaths) -> None:
    name = EVALUATION["modes"]["inline"]["gallery"]["false_negative"][0]
    (world.evidence_dir / "evaluate" / name).unlink()
    with pytest.raises(MissingEvidenceError, match=Path(name).name):
        build(world)


def test_unregistered_evidence_is_labelled_unregistered(world: EvidencePaths) -> None:
    (world.evidence_dir / "register" / "registration.json").unlink()
    meta = build(world, "monitoring")["meta"]
    assert (meta["model_name"], meta["version"]) == ("sealaudit-monitoring", "unregistered")


def test_audit_trail_comes_from_the_audit_log_and_signatures_stay_blank(
    world: EvidencePaths,
) -> None:
    context = build(world)
    trail = [(row[0], row[3], row[5]) for row in context["audit_trail"]]
    assert trail == [("2", "Ben Okafor", "reviewed"), ("3", "Carla Weiss", "approved")]
    meanings = [row["meaning"] for row in context["signing"]["rows"]]
    assert meanings == ["authored", "reviewed", "approved"]
    assert context["meta"]["alias"] == "champion"
    assert context["traceability"]["audit"]["status"].startswith("hash chain intact")


@pytest.mark.assures("dossier_generator", "HZ-08")
def test_dossier_id_changes_when_any_evidence_changes(world: EvidencePaths) -> None:
    before = build(world)["meta"]["dossier_id"]
    edit_json(world.evidence(key="governance"), lambda g: g.update(warnings=2))
    assert build(world)["meta"]["dossier_id"] != before


def test_champion_comparison_reports_deltas_and_changes(
    world: EvidencePaths, tmp_path: Path
) -> None:
    champion = make_world(tmp_path / "champion")
    edit_json(
        champion.evidence("evaluation"),
        lambda e: e["modes"]["inline"]["ranking"].update(auroc=0.95),
    )
    edit_json(
        champion.evidence("train_summary"), lambda t: t["provenance"]["params"].update(epochs=30)
    )
    context = build(world, champion=(champion, "sealaudit-inline v2"), compare=True)
    comparison = context["performance"]["comparison"]
    auroc = next(row for row in comparison["metrics"] if row[0] == "AUROC")
    assert auroc[3] == "+0.024"
    assert ["train", "epochs", "30", "40"] in comparison["params"]


def test_without_compare_the_comparison_names_the_command_that_makes_it(
    world: EvidencePaths, tmp_path: Path
) -> None:
    champion = make_world(tmp_path / "champion")
    comparison = build(world, champion=(champion, "sealaudit-inline v2"))["performance"][
        "comparison"
    ]
    command = "sealaudit dossier --model sealaudit-inline --version 3 --compare"
    assert comparison == {"note": f"not part of this dossier; run `{command}`"}
    assert build(world, compare=True)["performance"]["comparison"] is None  # no champion


def test_without_an_audit_log_the_audit_trail_names_the_command_that_adds_it(
    world: EvidencePaths,
) -> None:
    context = build(dataclasses.replace(world, audit_log=None))
    status = context["traceability"]["audit"]["status"]
    assert "`sealaudit dossier --model sealaudit-inline --version 3` adds it" in status
    assert context["audit_trail"] == []
    assert context["meta"]["alias"] != "champion"


def test_formatting_known_answers() -> None:
    assert fmt(0.9774) == "0.977" and fmt(12) == "12" and fmt(None) == "not recorded"
    assert fmt_ci([0.9512, 0.9921]) == "[0.951, 0.992]"
    assert fmt_pct(0.0278) == "2.8 %" and fmt_sig(0.042171) == "0.04217" and fmt_sig(312) == "312"
    assert fmt_signed(-0.0341) == "\u22120.034"
    # Two 95 % intervals of half-width 0.02: the difference's half-width is 0.02 * sqrt(2).
    assert delta_interval([0.48, 0.52], [0.58, 0.62], 0.1) == "[+0.072, +0.128]"


def test_registry_run_folders_are_put_back_in_the_stage_layout(tmp_path: Path) -> None:
    run = tmp_path / "run"
    inline = EVALUATION["modes"]["inline"]
    for name, relative in (
        ("evaluation.json", "evaluate/evaluation.json"),
        ("governance.json", "validate_data/governance.json"),
    ):
        (run / "evidence").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURE / relative, run / "evidence" / name)
    (run / "plots").mkdir()
    shutil.copyfile(FIXTURE / "evaluate" / inline["plots"]["roc"], run / "plots" / "roc_inline.png")
    shutil.copyfile(
        FIXTURE / "train/attention_ae/training_curve.png", run / "plots/training_curve.png"
    )
    (run / "gallery").mkdir()
    first = inline["gallery"]["true_positive"][0]
    shutil.copyfile(FIXTURE / "evaluate" / first, run / "gallery" / Path(first).name)
    arrange(run, "inline", tmp_path / "artifacts")
    out = tmp_path / "artifacts"
    assert (out / "evaluate/evaluation.json").is_file() and (
        out / "validate_data/governance.json"
    ).is_file()
    assert (out / "evaluate/roc_inline.png").is_file() and (out / "evaluate" / first).is_file()
    assert (out / "train/attention_ae/training_curve.png").is_file()
