"""The dossier's outline (shared/DOSSIER.md): one list drives the table of contents, the section
numbers and the compliance matrix, so the three can never disagree.

Each citation carries its basis: *binding* (21 CFR 820 incorporating ISO 13485:2016, MDR general
safety and performance requirements, 21 CFR Part 11) or *voluntary alignment* (guidance, GMLP,
standards used as good practice). ``AI Act`` is Regulation (EU) 2024/1689 as amended by
Regulation (EU) 2026/1744; its basis follows the user's classification statement (voluntary when
not high-risk). Annex IV is cited by point, ``Annex IV 2(g)``.
"""

from __future__ import annotations

from dataclasses import dataclass

BINDING = "binding"
VOLUNTARY = "voluntary alignment"
AI_ACT = "ai_act"  # basis decided by the user's classification statement


@dataclass(frozen=True)
class Clause:
    """One cited requirement and the kind of its basis (``binding``, ``voluntary alignment``,
    or ``ai_act``: binding only when the user states the system is high-risk)."""

    text: str
    kind: str


def b(text: str) -> Clause:
    """A binding requirement."""
    return Clause(text, BINDING)


def v(text: str) -> Clause:
    """Guidance or a standard followed as good practice."""
    return Clause(text, VOLUNTARY)


def a(text: str) -> Clause:
    """An AI Act provision (amended text)."""
    return Clause(f"AI Act {text}", AI_ACT)


@dataclass(frozen=True)
class Section:
    """One dossier section: anchor id, title, the requirements it answers, its evidence."""

    anchor: str
    title: str
    clauses: tuple[Clause, ...]
    evidence: tuple[str, ...]


SECTIONS = (
    Section(
        "verdict",
        "Cover, verdict and signatures",
        (
            a("Annex IV 2(g): dated and signed test reports"),
            a("Art 9(8): criteria fixed before testing"),
            b("ISO 13485:2016 4.1.6, 7.6: validation record of the inspection software"),
            b("21 CFR 11.50, 11.70: signature manifestation, bound to the record"),
            v("FDA CSA (final, 3 Feb 2026): approver signature and date"),
        ),
        ("validation/protocol.yaml", "register/registration.json", "registry audit log"),
    ),
    Section(
        "compliance",
        "Compliance matrix",
        (a("Art 11, Annex IV points 1-9"), b("ISO 13485:2016 4.2.3 (via 21 CFR 820.10)")),
        ("this document",),
    ),
    Section(
        "intended-use",
        "Intended use and classification",
        (
            a("Art 6(1)(a)+(b), 6(1a), 6(1b), Annex I, Annex III: the user's classification"),
            a("Art 13(3)(a)-(b)"),
            a("Annex IV 1(a)"),
            b("ISO 13485:2016 4.1.6, 7.6: intended use of the software"),
            v("FDA CSA (final, 3 Feb 2026): intended use, process risk per feature"),
        ),
        ("validation/intended_use.yaml",),
    ),
    Section(
        "system",
        "System description",
        (a("Annex IV 1(a)-(e), 2(b)-(c)"), a("Art 13(3)(e)"), b("ISO 13485:2016 4.1.6")),
        ("train/train_summary.json", "evaluate/evaluation.json (provenance)"),
    ),
    Section(
        "data",
        "Data and data governance",
        (a("Art 10(2)-(4)"), a("Annex IV 2(d)"), v("GMLP 3, 4"), b("ISO 13485:2016 4.2.5")),
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
        (a("Annex IV 2(a)-(c)"), v("GMLP 2, 6")),
        (
            "train/train_summary.json",
            "train/<model>/training_curve.png",
            "fit_monitor/monitor_summary.json",
        ),
    ),
    Section(
        "performance",
        "Performance",
        (
            a("Art 15(1)-(3)"),
            a("Art 13(3)(b)(ii)"),
            a("Annex IV 2(g), 3, 4"),
            b("ISO 13485:2016 7.6, 4.1.6"),
            v("GMLP 5, 8"),
        ),
        ("evaluate/evaluation.json", "evaluate/metrics.json"),
    ),
    Section(
        "thresholds",
        "Threshold justification",
        (
            a("Art 15(3)"),
            b("ISO 13485:2016 7.6, 4.1.6: inspection software validation"),
            v("ASTM F1886/F1886M: human visual inspection as comparator"),
            v("FDA CSA (final, 3 Feb 2026)"),
        ),
        ("evaluate/evaluation.json (thresholds)", "validation/protocol.yaml"),
    ),
    Section(
        "capability",
        "Detection capability",
        (
            a("Annex IV 2(g), 3: test reports, accuracy"),
            a("Art 15(1)"),
            b("ISO 13485:2016 7.6, 4.1.6: inspection software validation"),
            v("MIL-HDBK-1823A hit/miss POD"),
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
        (a("Art 13(1), 13(3)(b)(iv), (vii)"), a("Art 14(4)(c)"), v("GMLP 7, 9")),
        ("evaluate/evaluation.json (gallery)", "evaluate/gallery images"),
    ),
    Section(
        "robustness",
        "Robustness",
        (a("Art 15(1), 15(4)"), a("Annex IV 3"), v("GMLP 8")),
        ("evaluate/evaluation.json (robustness)",),
    ),
    Section(
        "risk",
        "Risk management",
        (
            a("Art 9"),
            a("Annex IV 5"),
            b("MDR (EU) 2017/745 general safety and performance requirements: device risk"),
            b("ISO 13485:2016 7.5.6: the sealing process, validated under ISO 11607-2"),
            v("ISO 14971:2019 7.1, 7.2: the inspection as a risk control"),
        ),
        ("validation/risk_register.yaml", "assess_capability/capability.json (residual risk)"),
    ),
    Section(
        "oversight",
        "Human oversight and instructions for use",
        (a("Art 14(1)-(4)"), a("Art 13(3)(d)"), a("Annex IV 2(e), 1(h)"), v("GMLP 7, 9")),
        ("validation/oversight.yaml", "validation/intended_use.yaml"),
    ),
    Section(
        "monitoring",
        "Post-market monitoring plan",
        (a("Art 72"), a("Art 12"), a("Annex IV 9"), v("GMLP 10")),
        ("fit_monitor/monitor_summary.json", "validation/monitoring_plan.yaml"),
    ),
    Section(
        "change-control",
        "Change control",
        (
            a("Annex IV 2(f), 6"),
            a("Art 17 (within the ISO 13485 QMS, 17(3))"),
            b("ISO 13485:2016 7.3.9, 4.1.6: revalidation after changes"),
            v("pre-authorised change protocol, PCCP-shaped (FDA PCCP does not apply)"),
        ),
        ("validation/change_control.yaml",),
    ),
    Section(
        "traceability",
        "Traceability and records",
        (
            a("Art 12, 19"),
            a("Annex IV 1(c)"),
            b("21 CFR 11.10(e): audit trail"),
            b("ISO 13485:2016 4.2.5"),
        ),
        (
            "dvc.lock",
            "data.dvc",
            "register/registration.json",
            "registry audit log",
            "validation/risk_register.yaml",
            "test-results/junit.xml (when attached)",
        ),
    ),
    Section(
        "acceptance",
        "Acceptance criteria",
        (
            b("ISO 13485:2016 4.1.6, 7.6"),
            a("Annex IV 2(g)"),
            v("FDA CSA (final, 3 Feb 2026): results, issues, disposition, conclusion"),
        ),
        ("validation/protocol.yaml", "all evidence files"),
    ),
    Section(
        "annexes",
        "Annexes: evidence, test log, CSA assurance records, glossary",
        (
            a("Annex IV 2(g): test logs"),
            b("21 CFR 11.10(e)"),
            v("FDA CSA (final, 3 Feb 2026): assurance record per feature"),
        ),
        ("PDF attachments", "test-results/junit.xml (when attached)"),
    ),
)


def ai_act_basis(high_risk: bool) -> str:
    """The AI Act's basis under the user's statement."""
    if high_risk:
        return f"{BINDING} once Chapter III applies (the user states the system is high-risk)"
    return VOLUNTARY


def outline(high_risk: bool = False) -> list[dict[str, object]]:
    """Numbered sections for the context: table of contents and compliance matrix rows.

    Args:
        high_risk: the user's classification statement (it decides the AI Act's basis).
    """
    return [
        {
            "number": str(index),
            "anchor": section.anchor,
            "title": section.title,
            "clauses": [
                {
                    "text": clause.text,
                    "basis": ai_act_basis(high_risk) if clause.kind == AI_ACT else clause.kind,
                }
                for clause in section.clauses
            ],
            "evidence": list(section.evidence),
        }
        for index, section in enumerate(SECTIONS, start=1)
    ]
