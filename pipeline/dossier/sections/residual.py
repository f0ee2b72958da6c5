"""The capability residual risk of the risk section: per requirement, the defects below the
demonstrated a90/95 (not shown to be detected with 90 % probability), and whether the requirement is
met. Generated from ``assess_capability/capability.json``; judged by the verdict's rule.
"""

from __future__ import annotations

from typing import Any

from pipeline.dossier.formatting import fmt, fmt_pct
from pipeline.dossier.registers import RISK_REGISTER
from pipeline.dossier.sections import records
from pipeline.dossier.sections.capability import (
    ABSENT,
    SOURCE,
    WRITER,
    defect_text,
    size_text,
)
from pipeline.evidence.capability import Capability, RequirementCapability
from pipeline.registry.checks import requirement_line
from pipeline.registry.protocol import Protocol, Requirement

# How a size below the threshold reads, per (defect type, form); others use the size measure.
PHRASES = {
    ("channel", None): "channels narrower than {size}",
    ("wrinkle", None): "wrinkles shorter than {size}",
    ("incomplete_seal", None): "incomplete seals shorter than {size} along the band",
    ("contamination", "particle"): "particles smaller than {size} in diameter",
    ("contamination", "fibre"): "fibres shorter than {size}",
    ("void", None): "voids with a major axis below {size}",
    ("burn", None): "burns shorter than {size} along the band",
    ("width_deviation", None): "seal narrowings of less than {size} of the nominal width",
}


def below(req: Requirement, size: float) -> str:
    """``channels narrower than 0.41 mm`` (defects below ``size`` of ``req``'s measure)."""
    text = size_text(size, req.unit)
    phrase = PHRASES.get((req.defect_type, req.form))
    if phrase is None:
        return f"{defect_text(req.defect_type, req.form)} with {req.size_measure} below {text}"
    return phrase.format(size=text)


def risk_section(
    register: Any, capability: Capability | None, protocol: Protocol, mode: str
) -> dict[str, Any]:
    """The risk table of ``validation/risk_register.yaml`` with the capability residual risk
    (``capability``), generated from the evidence and tied to the hazard that names it."""
    section = records.risk_section(register, RISK_REGISTER)
    named = (r["id"] for r in section["rows"] if any(SOURCE in v for v in r["verification"]))
    hazard = next(named, None)
    return {**section, "capability": residual_risk(capability, protocol, mode, hazard)}


def residual_risk(
    capability: Capability | None, protocol: Protocol, mode: str, hazard: str | None
) -> dict[str, Any]:
    """The capability residual-risk list of ``mode`` (unmet requirements first).

    Args:
        capability: the capability evidence (None: nothing demonstrated, said so).
        protocol: the requirements and the minimum defect events per requirement.
        mode: the dossier's mode.
        hazard: the risk register's hazard this list details (None: none names the evidence).
    """
    entry = None if capability is None else capability.modes.of(mode)
    absent = ABSENT if capability is None else f"the {mode} mode was not assessed; {WRITER}"
    stats = protocol.statistics
    pod, confidence = fmt_pct(stats.pod_level, 0), fmt_pct(stats.confidence, 0)
    level = f"{pod} probability at {confidence} confidence"
    minimum = stats.minimum_defect_events
    items: list[dict[str, Any]] = []
    for req in protocol.requirements:
        row = None if entry is None else entry.requirement(req.id)
        met, _ = requirement_line(req, row, minimum)
        text = _item(req, row, met, level, minimum)
        items.append({"id": req.id, "met": met, "text": text[:1].upper() + text[1:]})
    items.sort(key=lambda item: bool(item["met"]))
    return {
        "source": SOURCE,
        "hazard": hazard or "no hazard of validation/risk_register.yaml names this evidence",
        "note": "" if entry is not None else absent,
        "items": items,
        "n_unmet": fmt(sum(not item["met"] for item in items)),
    }


def _item(
    req: Requirement, row: RequirementCapability | None, met: bool, level: str, minimum: int
) -> str:
    required = size_text(req.required_a90_95, req.unit)
    defect = defect_text(req.defect_type, req.form)
    if row is None or row.a90_95 is None or row.method == "not_demonstrated":
        counts = "" if row is None else f" ({fmt(row.n_events)} events, {fmt(row.n_hits)} hits)"
        return (
            f"{defect}: detection capability not demonstrated{counts}; no size is shown to be "
            f"detected with {level} (required a90/95 {required}). "
            f"Requirement {req.id} not met."
        )
    lead = (
        f"{below(req, row.a90_95)} are not shown to be detected with {level} "
        f"(a90/95 {size_text(row.a90_95, req.unit)}"
    )
    if met:
        return f"{lead}, within the required {required}). Requirement {req.id} met."
    if row.a90_95 > req.required_a90_95:
        over = size_text(row.a90_95 - req.required_a90_95, req.unit, sign=True)
        return f"{lead} vs required {required}, {over} over). Requirement {req.id} not met."
    return (
        f"{lead} vs required {required}), shown on {fmt(row.n_events)} defect events, fewer "
        f"than the {fmt(minimum)} the protocol requires. Requirement {req.id} not met."
    )
