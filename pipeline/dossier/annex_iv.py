"""Annex IV of the AI Act, point by point: where this dossier answers each, and what it lacks.

The dossier is structured after Annex IV (used voluntarily unless the user states the system is
high-risk); it claims no conformity. Points it does not answer are listed as gaps, not omitted,
and the EU declaration of conformity (point 8) is stated as not applicable when the user's
statement is "not high-risk".
"""

from __future__ import annotations

from typing import Any

# (point, subject, section anchors that answer it, what is missing: "" when nothing)
POINTS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("1(a)", "Intended purpose, provider, version lineage", ("intended-use", "traceability"), ""),
    ("1(b)", "Interaction with other hardware and software", ("system",), ""),
    ("1(c)", "Software versions", ("system", "traceability"), ""),
    (
        "1(d)",
        "Forms in which the system is supplied",
        (),
        "gap: not described; the user states how the package and the registered model are "
        "installed on the line",
    ),
    ("1(e)", "Hardware", ("system",), "partly: the hardware validated on is not recorded"),
    (
        "1(f)",
        "Illustrations where built into a machine",
        (),
        "gap: no illustration of the camera station on the line",
    ),
    ("1(g)", "Operator interface", ("oversight", "explainability"), ""),
    (
        "1(h)",
        "Instructions for use",
        ("oversight",),
        "partly: operator rules only; a complete instructions-for-use document is a gap",
    ),
    ("2(a)", "Methods, third-party tools, pre-trained parts", ("development", "system"), ""),
    ("2(b)", "Design specifications, choices, trade-offs", ("development", "thresholds"), ""),
    ("2(c)", "Architecture, compute", ("system",), ""),
    ("2(d)", "Data requirements and datasheets", ("data",), ""),
    ("2(e)", "Human-oversight assessment", ("oversight",), ""),
    ("2(f)", "Pre-determined changes", ("change-control",), ""),
    (
        "2(g)",
        "Validation and testing: procedures, data, metrics, dated and signed test logs",
        ("acceptance", "capability", "annexes", "verdict"),
        "discriminatory impacts: not applicable, no person is the subject of a decision and no "
        "personal data are processed; signed only once the signature block is signed",
    ),
    (
        "2(h)",
        "Cybersecurity",
        ("risk",),
        "partly: no dedicated assessment of data or model poisoning and adversarial inputs",
    ),
    (
        "3",
        "Capabilities and limits, accuracy per relevant subgroup, input specifications",
        ("performance", "capability", "intended-use"),
        "partly: accuracy per defect type and size only; per material lot and camera view "
        "not reported",
    ),
    ("4", "Appropriateness of the performance metrics", ("performance", "thresholds"), ""),
    ("5", "Risk management system", ("risk",), ""),
    ("6", "Changes through the lifecycle", ("change-control",), ""),
    ("7", "Standards applied or alternative solutions", ("compliance",), ""),
    ("8", "EU declaration of conformity", (), ""),  # decided by the classification
    ("9", "Post-market monitoring plan", ("monitoring",), ""),
)

# Annex IV 7: what this dossier applies, and how (basis as in the compliance matrix).
STANDARDS = (
    ("ISO 13485:2016 (incorporated by 21 CFR 820.10)", "binding", "quality system; 7.6, 4.1.6"),
    ("ISO 14971:2019", "voluntary alignment", "risk management of the device and its controls"),
    ("ISO 11607-2 with Amd 1:2023", "voluntary alignment", "the sealing process this adds to"),
    ("ASTM F1886/F1886M (edition: the user cites it)", "voluntary alignment", "visual comparator"),
    ("MIL-HDBK-1823A", "voluntary alignment", "hit/miss probability of detection"),
    ("FDA CSA, final guidance of 3 Feb 2026", "voluntary alignment", "assurance per feature"),
    ("GMLP (IMDRF N88 FINAL:2025)", "voluntary alignment", "good practice"),
)


def _where(anchors: tuple[str, ...], sec: dict[str, dict[str, Any]]) -> str:
    return ", ".join(f"{sec[a]['number']} {sec[a]['title']}" for a in anchors)


def _declaration(high_risk: bool) -> str:
    if high_risk:
        return "required before Chapter III applies; not part of this dossier (gap)"
    return "not applicable: the user's statement is that the system is not high-risk"


def annex_iv_rows(sections: list[dict[str, Any]], high_risk: bool) -> list[list[str]]:
    """``[point, subject, where in this dossier, missing]`` for Annex IV points 1-9."""
    sec = {section["anchor"]: section for section in sections}
    rows = []
    for point, subject, anchors, missing in POINTS:
        note = _declaration(high_risk) if point == "8" else missing
        rows.append([f"Annex IV {point}", subject, _where(anchors, sec) or "none", note or "-"])
    return rows


def standards_rows() -> list[list[str]]:
    """Annex IV 7: each standard or guidance applied, its basis and its use here."""
    return [list(row) for row in STANDARDS]
