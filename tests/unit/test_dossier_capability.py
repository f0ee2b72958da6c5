"""The dossier's detection-capability section and capability residual risk, from the fixture
evidence: passing and failing rows, absent evidence, the POD figures on both dossier paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline import evidence
from pipeline.dossier.context import build_context
from pipeline.dossier.evidence import EvidencePaths, MissingEvidenceError
from pipeline.dossier.registry_evidence import arrange
from pipeline.dossier.render import render_html
from pipeline.dossier.sections.capability import size_text
from pipeline.evidence import EvidenceError
from pipeline.registry.bundles import pod_figures
from tests.dossier_world import (
    CAPABILITY,
    FIXTURE,
    TEMPLATES,
    edit_json,
    fail_inline_capability,
    make_world,
)

REQUIREMENTS = [
    "REQ-CHANNEL",
    "REQ-WRINKLE",
    "REQ-INCOMPLETE",
    "REQ-PARTICLE",
    "REQ-FIBRE",
    "REQ-VOID",
    "REQ-BURN",
    "REQ-WIDTH",
]


@pytest.fixture
def world(tmp_path: Path) -> EvidencePaths:
    return make_world(tmp_path)


def build(paths: EvidencePaths, mode: str = "inline") -> dict[str, Any]:
    return build_context(paths, mode, system="sealaudit", default_model_name=f"sealaudit-{mode}")


def edit_row(paths: EvidencePaths, requirement: str, **changes: Any) -> None:
    def change(capability: dict[str, Any]) -> None:
        for row in capability["modes"]["inline"]["requirements"]:
            if row["id"] == requirement:
                row.update(changes)

    edit_json(Path(paths.evidence_dir) / CAPABILITY, change)


def rows_by_id(mode: dict[str, Any]) -> dict[str, list[str]]:
    return {row[0]: row for row in mode["rows"]}


def test_sizes_carry_their_units() -> None:
    assert size_text(0.41, "mm") == "0.41 mm" and size_text(10.0, "mm") == "10 mm"
    assert size_text(0.25, "fraction") == "25 %" and size_text(0.142, "fraction") == "14.2 %"
    assert size_text(0.16, "mm", sign=True) == "+0.16 mm"
    assert size_text(-0.06, "fraction", sign=True) == "\u22126 %"


def test_passing_evidence_gives_one_row_per_requirement_and_the_figures(
    world: EvidencePaths,
) -> None:
    section = build(world)["capability"]
    assert section["present"] is True
    inline, monitoring = section["modes"]
    assert [row[0] for row in inline["rows"]] == REQUIREMENTS
    rows = rows_by_id(inline)
    assert rows["REQ-CHANNEL"] == [
        "REQ-CHANNEL",
        "channel",
        "width",
        "0.25 mm",
        "0.12 mm",
        "0.18 mm",
        "0.22 mm",
        "0.22 mm (40 / 37)",
        "GLM",
        "60 / 52",
        "\u22120.03 mm",
        "PASS",
    ]
    # the success-run fallback has no POD curve; the fraction requirement is in percent
    assert rows["REQ-BURN"][4:12] == [
        "n/a",
        "n/a",
        "6 mm",
        "not fitted",
        "success run",
        "60 / 60",
        "\u22124 mm",
        "PASS",
    ]
    assert rows["REQ-WIDTH"][3] == "25 %" and rows["REQ-WIDTH"][6] == "19 %"
    assert inline["false_reject"]["result"] == "PASS"
    assert (inline["false_reject"]["upper"], inline["false_reject"]["limit"]) == ("2.56 %", "5.0 %")
    assert (inline["label"], inline["unmet"]) == ("PASS", [])
    sources = [figure["source"] for figure in inline["figures"]]
    assert sources == [f"assess_capability/pod/inline/{rid}.png" for rid in REQUIREMENTS]
    assert all(figure["src"].startswith("data:image/png;base64,") for figure in inline["figures"])
    assert monitoring["recorded"] is False and "dvc repro assess_capability" in monitoring["note"]
    protocol = dict(section["protocol"])
    assert protocol["Protocol"] == "SA-VAL-PR-001 rev 1"
    assert protocol["Protocol predates the test"].startswith("unknown")


@pytest.mark.assures("dossier_generator", "HZ-09")
def test_failing_requirement_is_fail_with_its_shortfall_and_a_residual_risk(
    world: EvidencePaths,
) -> None:
    fail_inline_capability(world.evidence_dir, "REQ-CHANNEL", 0.41)
    context = build(world)
    inline = context["capability"]["modes"][0]
    row = rows_by_id(inline)["REQ-CHANNEL"]
    assert (row[6], row[10], row[11]) == ("0.41 mm", "+0.16 mm", "FAIL")
    assert inline["label"] == "FAIL" == context["verdict"]["label"]
    assert inline["unmet"] == ["REQ-CHANNEL: a90/95 0.41 mm > required 0.25 mm (+0.16 mm; glm)"]
    residual = context["risk"]["capability"]
    assert residual["n_unmet"] == "1" and residual["hazard"] == "HZ-09"
    first = residual["items"][0]
    assert (first["id"], first["met"]) == ("REQ-CHANNEL", False)
    assert first["text"] == (
        "Channels narrower than 0.41 mm are not shown to be detected with 90 % probability at "
        "95 % confidence (a90/95 0.41 mm vs required 0.25 mm, +0.16 mm over). "
        "Requirement REQ-CHANNEL not met."
    )
    assert all(item["met"] for item in residual["items"][1:])


def test_too_few_events_or_no_demonstration_fail_like_the_verdict(world: EvidencePaths) -> None:
    edit_row(world, "REQ-VOID", n_events=40, n_hits=35)
    edit_row(world, "REQ-PARTICLE", method="not_demonstrated", a50=None, a90=None, a90_95=None)
    context = build(world)
    rows = rows_by_id(context["capability"]["modes"][0])
    assert (rows["REQ-VOID"][9], rows["REQ-VOID"][11]) == ("40 / 35", "FAIL")
    assert rows["REQ-PARTICLE"][6:12] == [
        "not demonstrated",
        "0.71 mm (40 / 37)",
        "not demonstrated",
        "60 / 52",
        "n/a",
        "FAIL",
    ]
    unmet = next(row for row in context["verdict"]["unmet"] if row["id"] == "AC-CAP-1")
    assert "REQ-VOID" in unmet["shortfall"] and "REQ-PARTICLE" in unmet["shortfall"]
    items = {item["id"]: item["text"] for item in context["risk"]["capability"]["items"]}
    assert "fewer than the 60 the protocol requires" in items["REQ-VOID"]
    assert items["REQ-PARTICLE"].startswith(
        "Contamination (particle): detection capability not demonstrated (60 events, 52 hits)"
    )


def test_false_rejects_above_the_limit_fail_the_mode(world: EvidencePaths) -> None:
    edit_json(
        Path(world.evidence_dir) / CAPABILITY,
        lambda c: c["modes"]["inline"]["false_reject"].update(upper=0.06, passed=False),
    )
    inline = build(world)["capability"]["modes"][0]
    assert inline["false_reject"]["result"] == "FAIL" and inline["label"] == "FAIL"
    assert inline["unmet"] == ["false rejects: upper 95 % bound 6.00 % > limit 5.0 %"]


def test_absent_evidence_names_the_stage_and_leaves_every_requirement_open(
    world: EvidencePaths,
) -> None:
    (Path(world.evidence_dir) / CAPABILITY).unlink()
    context = build(world)
    section = context["capability"]
    assert section["present"] is False and "`dvc repro assess_capability`" in section["note"]
    residual = context["risk"]["capability"]
    assert residual["n_unmet"] == "8" and "dvc repro assess_capability" in residual["note"]
    html = render_html(context, TEMPLATES)
    assert "No capability evidence (assess_capability/capability.json)" in html
    assert "Detection capability" in html and "Capability residual risk" in html


def test_the_section_and_the_residual_risk_reach_the_html(world: EvidencePaths) -> None:
    fail_inline_capability(world.evidence_dir, "REQ-CHANNEL", 0.41)
    html = render_html(build(world), TEMPLATES)
    assert "Source: assess_capability/pod/inline/REQ-WIDTH.png" in html
    assert "Unmet: REQ-CHANNEL: a90/95 0.41 mm &gt; required 0.25 mm (+0.16 mm; glm)" in html
    assert "Channels narrower than 0.41 mm are not shown to be detected" in html


def test_a_pod_figure_named_but_missing_is_an_error_naming_it(world: EvidencePaths) -> None:
    (Path(world.evidence_dir) / "assess_capability/pod/inline/REQ-VOID.png").unlink()
    with pytest.raises(MissingEvidenceError, match="REQ-VOID.png"):
        build(world)


def test_registered_runs_carry_the_pod_figures_and_the_dossier_puts_them_back(
    world: EvidencePaths, tmp_path: Path
) -> None:
    root = Path(world.evidence_dir)
    capability = evidence.read("capability", root)
    folders = pod_figures(root, capability)
    assert list(folders) == ["pod/inline"]  # the fixture assessed the inline mode only
    assert [path.name for path in folders["pod/inline"]] == [f"{r}.png" for r in REQUIREMENTS]
    run = tmp_path / "run"
    (run / "evidence").mkdir(parents=True)
    (run / "evidence" / "evaluation.json").write_bytes(
        (FIXTURE / "evaluate/evaluation.json").read_bytes()
    )
    (run / "pod" / "inline").mkdir(parents=True)
    for path in folders["pod/inline"]:
        (run / "pod" / "inline" / path.name).write_bytes(path.read_bytes())
    arrange(run, "inline", tmp_path / "artifacts")
    assert (tmp_path / "artifacts/assess_capability/pod/inline/REQ-WIDTH.png").is_file()
    (root / "assess_capability/pod/inline/REQ-BURN.png").unlink()
    with pytest.raises(EvidenceError, match="REQ-BURN.png"):
        pod_figures(root, capability)
