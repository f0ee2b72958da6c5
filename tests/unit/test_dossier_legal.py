"""The dossier's legal framing as an auditor relies on it (shared/DOSSIER.md, revised 2026-12):
the AI Act version assessed, the user's classification statement, the basis of each cited
requirement, honest signatures and the protocol the verdict is judged against."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.dossier.context import build_context
from pipeline.dossier.evidence import EvidencePaths, MissingEvidenceError
from pipeline.dossier.legal import classification
from pipeline.dossier.outline import SECTIONS
from pipeline.dossier.render import render_html
from pipeline.registry.protocol import load_protocol
from tests.dossier_world import ROOT, TEMPLATES, make_world


def build(paths: EvidencePaths) -> dict[str, Any]:
    return build_context(paths, "inline", system="sealaudit", default_model_name="sealaudit-inline")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[EvidencePaths, dict, str]:
    paths = make_world(tmp_path_factory.mktemp("legal"))
    context = build(paths)
    return paths, context, render_html(context, TEMPLATES)


def _between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def _edit_classification(paths: EvidencePaths, **changes: Any) -> None:
    path = paths.validation("intended_use.yaml")
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    content["classification"].update(changes)
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")


def test_the_amended_ai_act_and_its_application_dates_are_named(rendered: tuple) -> None:
    _, _, html = rendered
    assert "Regulation (EU) 2024/1689 as amended by Regulation (EU) 2026/1744" in html
    assert "2028-08-02" in html and "2027-12-02" in html
    assert "2027-08-02" not in html  # the adopted text's date, moved by the amendment


def test_compliance_matrix_has_a_basis_column_with_both_values(rendered: tuple) -> None:
    _, context, html = rendered
    matrix = _between(html, '<table class="numbered matrix">', "</table>")
    assert re.search(r"<th[^>]*>Basis</th>", matrix)
    assert set(re.findall(r'<td class="basis">([^<]+)</td>', matrix)) == {
        "binding",
        "voluntary alignment",
    }
    bases = {clause["basis"] for s in context["sections"] for clause in s["clauses"]}
    assert bases == {"binding", "voluntary alignment"}
    # the matrix comes right after the contents, before the intended use
    assert html.index("Compliance matrix: section") < html.index("User's classification")


def test_the_dossier_never_claims_compliance(rendered: tuple) -> None:
    _, _, html = rendered
    assert "compliant" not in html.lower()
    assert "structured after AI Act Annex IV" in html
    assert "FDA PCCP guidance" not in html  # premarket device mechanism: does not apply


def test_annex_iv_is_cited_by_point_with_the_missing_points(rendered: tuple) -> None:
    _, context, _ = rendered
    rows = {row[0]: row for row in context["compliance"]["annex_iv"]}
    assert {key.removeprefix("Annex IV ")[0] for key in rows} == set("123456789")
    assert rows["Annex IV 1(d)"][3].startswith("gap")  # forms of supply
    assert "instructions-for-use" in rows["Annex IV 1(h)"][3]
    assert "camera view" in rows["Annex IV 3"][3]  # accuracy per subgroup
    assert rows["Annex IV 7"][2].startswith("2 Compliance matrix")  # standards listed there
    assert rows["Annex IV 8"][3].startswith("not applicable")  # declaration: not high-risk


def test_classification_is_a_statement_block_with_its_reasoning(rendered: tuple) -> None:
    _, context, html = rendered
    statement = context["intended_use"]["classification"]
    assert (
        statement["high_risk"] is False and statement["conclusion"] == "not a high-risk AI system"
    )
    assert [row[0] for row in statement["findings"]] == [
        "Art 6(1)(a)",
        "Art 6(1)(b)",
        "Art 6(1a)",
        "Art 6(1b)",
        "Art 6(2), Annex III",
    ]
    block = _between(html, '<div class="statement">', "</div>")
    assert "Adopted by (printed name)" in block and "Signature" in block
    assert "High risk: " not in html  # no longer a "; "-joined run-on line


def test_a_high_risk_statement_makes_the_ai_act_binding(tmp_path: Path) -> None:
    paths = make_world(tmp_path)
    _edit_classification(paths, high_risk=True)
    context = build(paths)
    intended = next(s for s in context["sections"] if s["anchor"] == "intended-use")
    assert intended["clauses"][0]["basis"].startswith("binding once Chapter III applies")
    declaration = context["compliance"]["annex_iv"][-2]
    assert declaration[0] == "Annex IV 8" and "gap" in declaration[3]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"high_risk": "TO BE CONFIRMED"}, "classification.high_risk must be true or false"),
        ({"findings": {"art_6_1_a": "No."}}, "classification.findings: key 'annex_iii' missing"),
        ({"rationale": "old key"}, "classification: unknown key 'rationale'"),
        (
            {
                "chapter_iii_applies_from": {
                    "annex_i": "2 Aug 2028",
                    "annex_iii": "2027-12-02",
                    "source": "Art 113",
                }
            },  # fmt: skip
            "chapter_iii_applies_from.annex_i '2 Aug 2028' is not a date",
        ),
    ],
)
def test_the_classification_statement_is_read_strictly(
    tmp_path: Path, change: dict, message: str
) -> None:
    paths = make_world(tmp_path)
    _edit_classification(paths, **change)
    raw = yaml.safe_load(paths.validation("intended_use.yaml").read_text(encoding="utf-8"))
    with pytest.raises(MissingEvidenceError, match=re.escape(message)) as error:
        classification(raw)
    assert "validation/intended_use.yaml" in str(error.value)


def test_csa_process_risk_is_stated_per_feature(rendered: tuple) -> None:
    _, context, html = rendered
    risks = {row[0]: row[2] for row in context["intended_use"]["csa"]}
    assert risks["Inline accept/reject decision"] == "high"
    assert "3 February 2026" in html


@pytest.mark.assures("dossier_generator")
def test_an_unsigned_dossier_says_so_and_binds_its_signatures(rendered: tuple) -> None:
    _, context, html = rendered
    assert "UNSIGNED DRAFT \u2014 not a record" in html
    signatures = _between(html, "Signature block", "</table>")
    for field in ("Printed name", "Date and time, with time zone", "Meaning of the signature"):
        assert field in signatures
    meta = context["meta"]
    binding = context["signing"]["binding"]
    assert meta["dossier_id"] in binding and meta["evidence_digest"] in binding
    assert "sealaudit-inline-v3.pdf.sha256" in html


def test_audit_log_entries_are_an_audit_trail_not_signatures(rendered: tuple) -> None:
    _, context, html = rendered
    assert [row[3] for row in context["audit_trail"]] == ["Ben Okafor", "Carla Weiss"]
    signatures = _between(html, "Signature block", "</table>")
    assert "Ben Okafor" not in signatures and "Carla Weiss" not in signatures
    trail = _between(html, "Audit trail (21 CFR 11.10(e))", "</table>")
    assert "not signatures" in trail and "Carla Weiss" in trail


def test_the_cover_prints_the_protocol_the_verdict_is_judged_against(rendered: tuple) -> None:
    paths, _, html = rendered
    protocol = load_protocol(paths.validation("protocol.yaml"))
    cover = _between(html, '<section class="cover"', "</section>")
    for label, value in (
        ("Protocol id", protocol.document),
        ("Revision", protocol.revision),
        ("Approval date", protocol.approved_on),
        ("Protocol sha256", protocol.sha256),
        ("Protocol predates the test", "unknown"),
    ):
        assert re.search(rf"<th>{re.escape(label)}</th><td>{re.escape(value)}", cover), label
    # the fixture's evidence was judged under another protocol file: a listed deviation
    assert re.search(r'<ol class="deviations"><li>evidence judged under another', cover)


def test_iso_13485_7_6_validates_the_inspection_and_7_5_6_the_sealing() -> None:
    clauses = {s.anchor: [c.text for c in s.clauses] for s in SECTIONS}
    for anchor in ("capability", "thresholds", "acceptance"):
        assert any("7.6" in text for text in clauses[anchor]), anchor
        assert not any("7.5.6" in text for text in clauses[anchor]), anchor
    sealing = [text for texts in clauses.values() for text in texts if "7.5.6" in text]
    assert sealing and all("sealing" in text for text in sealing)


def test_the_repository_statement_is_the_default_left_to_the_user() -> None:
    path = ROOT / "validation" / "intended_use.yaml"
    statement = classification(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert statement["high_risk"] is False  # the default for the user to adopt or override
    assert statement["adopted_by"]["adopted"] == "false"  # left to sign on the printout
    assert "2026/1744" in statement["ai_act_version"]
    assert (statement["annex_i_from"], statement["annex_iii_from"]) == ("2028-08-02", "2027-12-02")
