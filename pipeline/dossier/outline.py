"""The dossier's outline (shared/DOSSIER.md): one list drives the table of contents, the section
numbers and the compliance matrix, so the three can never disagree.

Clause texts are short references; ``AI Act`` is Regulation (EU) 2024/1689.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """One dossier section: anchor id, title, the requirements it answers, its evidence."""

    anchor: str
    title: str
    clauses: tuple[str, ...]
    evidence: tuple[str, ...]


SECTIONS = (
    Section(
        "verdict",
        "Cover, verdict and signatures",
        ("AI Act Annex IV(2)(g) dated and signed test reports", "21 CFR 11.50, 11.70", "FDA CSA"),
        ("validation/protocol.yaml", "register/registration.json", "registry audit log"),
    ),
    Section(
        "compliance",
        "Compliance matrix",
        ("AI Act Art 11 + Annex IV", "ISO 13485:2016 4.2.3 (via 21 CFR 820)"),
        ("this document",),
    ),
    Section(
        "intended-use",
        "Intended use and classification",
        ("AI Act Art 6(1) + Annex I", "Art 13(3)(a)-(b)", "Annex IV(1)(a)", "FDA CSA intended use"),
        ("validation/intended_use.yaml",),
    ),
    Section(
        "system",
        "System description",
        ("AI Act Annex IV(1)(a)-(e), IV(2)(b)-(c)", "Art 13(3)(e)", "ISO 13485 4.1.6"),
        ("train/train_summary.json", "evaluate/evaluation.json (provenance)"),
    ),
    Section(
        "data",
        "Data and data governance",
        ("AI Act Art 10(2)-(5)", "Annex IV(2)(d)", "GMLP 3, 4", "ISO 13485 4.2.5"),
        (
            "data.dvc",
            "data/dataset.json",
            "prepare/split_summary.json",
            "validate_data/governance.json",
        ),
    ),
    Section(
        "development",
        "Development",
        ("AI Act Annex IV(2)(a)-(c)", "GMLP 2, 6"),
        (
            "train/train_summary.json",
            "train/<model>/training_curve.png",
            "fit_monitor/monitor_summary.json",
        ),
    ),
    Section(
        "performance",
        "Performance",
        ("AI Act Art 15(1)-(3)", "Art 13(3)(b)(ii)", "Annex IV(2)(g), IV(3), IV(4)", "GMLP 5, 8"),
        ("evaluate/evaluation.json", "evaluate/metrics.json"),
    ),
    Section(
        "thresholds",
        "Threshold justification",
        ("AI Act Art 15(3)", "ISO 13485 7.5.6", "ISO 11607-2", "ASTM F1886", "FDA CSA"),
        ("evaluate/evaluation.json (thresholds)", "validation/protocol.yaml"),
    ),
    Section(
        "capability",
        "Detection capability",
        (
            "AI Act Annex IV(2)(g) test reports",
            "Art 15(1) accuracy",
            "ISO 13485:2016 7.6 (inspection software validation), 4.1.6",
            "MIL-HDBK-1823A hit/miss POD",
        ),
        (
            "assess_capability/capability.json",
            "assess_capability/pod/<mode>/<requirement>.png",
            "validation/protocol.yaml",
        ),
    ),
    Section(
        "explainability",
        "Explainability",
        ("AI Act Art 13(1), 13(3)(b)(iv), (vii)", "Art 14(4)(c)", "GMLP 7, 9"),
        ("evaluate/evaluation.json (gallery)", "evaluate/gallery images"),
    ),
    Section(
        "robustness",
        "Robustness",
        ("AI Act Art 15(1), 15(4)", "Annex IV(3)", "GMLP 8"),
        ("evaluate/evaluation.json (robustness)",),
    ),
    Section(
        "risk",
        "Risk management",
        ("AI Act Art 9", "Annex IV(5)", "ISO 14971:2019"),
        ("validation/risk_register.yaml", "assess_capability/capability.json (residual risk)"),
    ),
    Section(
        "oversight",
        "Human oversight and instructions for use",
        ("AI Act Art 14(1)-(4)", "Art 13(3)(d)", "Annex IV(2)(e), IV(1)(h)", "GMLP 7, 9"),
        ("validation/oversight.yaml", "validation/intended_use.yaml"),
    ),
    Section(
        "monitoring",
        "Post-market monitoring plan",
        ("AI Act Art 72", "Art 12", "Annex IV(9)", "GMLP 10"),
        ("fit_monitor/monitor_summary.json", "validation/monitoring_plan.yaml"),
    ),
    Section(
        "change-control",
        "Change control",
        ("AI Act Annex IV(2)(f), IV(6)", "Art 17", "FDA PCCP guidance", "ISO 13485 7.3.9"),
        ("validation/change_control.yaml",),
    ),
    Section(
        "traceability",
        "Traceability and records",
        ("AI Act Art 12", "21 CFR 11.10(e)", "Annex IV(1)(c)", "ISO 13485 4.2.5"),
        ("dvc.lock", "data.dvc", "register/registration.json", "registry audit log"),
    ),
    Section(
        "acceptance",
        "Acceptance criteria",
        ("FDA CSA record of results and conclusion", "ISO 13485 4.1.6", "Annex IV(2)(g)"),
        ("validation/protocol.yaml", "all evidence files"),
    ),
    Section(
        "annexes",
        "Annexes: evidence, test log, glossary",
        ("AI Act Annex IV(2)(g) test logs", "21 CFR 11.10(e)"),
        ("PDF attachments",),
    ),
)


def outline() -> list[dict[str, object]]:
    """Numbered sections for the context: table of contents and compliance matrix rows."""
    return [
        {
            "number": str(index),
            "anchor": section.anchor,
            "title": section.title,
            "clauses": list(section.clauses),
            "evidence": list(section.evidence),
        }
        for index, section in enumerate(SECTIONS, start=1)
    ]
