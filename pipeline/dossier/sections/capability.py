"""Context of the "Detection capability" section: per mode, the protocol and challenge set the
capability was measured under, one row per requirement (a50, a90, a90/95 against the required
size, with the sample behind it), the false-reject row and the POD figures.

Rows are judged by ``pipeline.registry.checks.requirement_line``, the very rule of the verdict
(criterion AC-CAP-1), so the section and the verdict cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.dossier.figures import figure
from pipeline.dossier.formatting import NOT_RECORDED, fmt, fmt_pct
from pipeline.dossier.sections.performance import MODE_TITLES
from pipeline.evidence.capability import (
    Capability,
    CapabilityMode,
    FalseReject,
    PodFit,
    RequirementCapability,
)
from pipeline.registry.checks import requirement_line
from pipeline.registry.protocol import Protocol, Requirement

SOURCE = "assess_capability/capability.json"
WRITER = "run `dvc repro assess_capability`"
METHODS = {"glm": "GLM", "success_run": "success run", "not_demonstrated": "not demonstrated"}
ABSENT = (
    f"No capability evidence ({SOURCE}) accompanies this model version, so no detection "
    f"capability is demonstrated; {WRITER} (it needs the challenge set, `challenge.dvc`)"
)


def size_text(value: float | None, unit: str, *, sign: bool = False) -> str:
    """``0.41 mm``, ``+0.16 mm``; fractions of the nominal width in percent (``25 %``)."""
    if value is None:
        return NOT_RECORDED
    number = 100.0 * value if unit == "fraction" else value
    text = f"{number:+.3g}" if sign else f"{number:.3g}"
    return f"{text.replace('-', chr(0x2212))} {'%' if unit == 'fraction' else 'mm'}"


def defect_text(defect_type: str, form: str | None) -> str:
    """``incomplete seal``, ``contamination (fibre)``."""
    name = defect_type.replace("_", " ")
    return f"{name} ({form})" if form else name


def capability_section(
    capability: Capability | None,
    protocol: Protocol,
    status: dict[str, Any],
    mode: str,
    evidence_dir: Path,
) -> dict[str, Any]:
    """The section's context: absent evidence gives a note naming the stage that writes it.

    Args:
        capability: ``assess_capability/capability.json`` (None when absent).
        protocol: the protocol the verdict judges against (requirements, statistics).
        status: the verdict's protocol status (``predates_test``, test date, deviations).
        mode: the dossier's mode: shown first, with its POD figures.
        evidence_dir: the ``artifacts/`` folder holding ``assess_capability/pod/<mode>/``.
    """
    how = _how_to_read(protocol)
    if capability is None:
        return {"present": False, "note": ABSENT, "how_to_read": how}
    order = [mode, *(m for m in MODE_TITLES if m != mode)]
    figures_dir = Path(evidence_dir) / "assess_capability" / "pod"
    return {
        "present": True,
        "protocol": _protocol_rows(capability, status),
        "deviations": [str(d) for d in status["deviations"]],
        "challenge": _challenge_rows(capability),
        "decision_unit": _decision_unit(protocol),
        "modes": [
            mode_block(m, capability.modes.of(m), protocol, figures_dir if m == mode else None)
            for m in order
        ],
        "how_to_read": how,
    }


def _protocol_rows(capability: Capability, status: dict[str, Any]) -> list[list[str]]:
    ref = capability.protocol
    tested = str(status["test_executed_at"])
    tested = tested if tested.startswith("unknown") else f"test executed {tested}"
    return [
        ["Protocol", f"{ref.document} rev {ref.revision}"],
        ["Protocol sha256 (first 16)", ref.sha256[:16]],
        ["Approved on", ref.approved_on],
        ["Approver", ref.approver],
        ["Protocol predates the test", f"{status['predates_test']} ({tested})"],
    ]


def _challenge_rows(capability: Capability) -> list[list[str]]:
    data = capability.dataset
    return [
        ["Challenge set", data.path],
        ["DVC md5", data.md5 or NOT_RECORDED],
        [
            "Capture events",
            f"{fmt(data.n_events)} ({fmt(data.n_normal_events)} normal, "
            f"{fmt(data.n_defect_events)} defective; {fmt(data.n_images)} images)",
        ],
    ]


def _decision_unit(protocol: Protocol) -> str:
    unit = protocol.sections.get("decision_unit") or {}
    parts = [unit.get("unit"), unit.get("views"), unit.get("rule")]
    return "; ".join(str(p).strip() for p in parts if p) or NOT_RECORDED


def _how_to_read(protocol: Protocol) -> dict[str, str]:
    stats = protocol.statistics
    return {
        "pod_level": fmt_pct(stats.pod_level, 0),
        "confidence": fmt_pct(stats.confidence, 0),
        "link": stats.pod_link,
        "success_run_n": fmt(stats.success_run_n),
        "reliability": fmt_pct(stats.success_run_reliability, 0),
        "minimum_events": fmt(stats.minimum_defect_events),
        "upper_share": fmt_pct(stats.contrast_upper_share, 0),
    }


def mode_block(
    mode: str, entry: CapabilityMode | None, protocol: Protocol, figures_dir: Path | None
) -> dict[str, Any]:
    """One mode's requirement table, false-reject row, unmet requirements and POD figures."""
    title = MODE_TITLES[mode]
    if entry is None:
        note = f"not assessed (assess_capability ran without the {mode} mode); {WRITER}"
        return {"mode": mode, "title": title, "recorded": False, "note": note}
    minimum = protocol.statistics.minimum_defect_events
    judged = [(req, entry.requirement(req.id)) for req in protocol.requirements]
    lines = [(req, row, *requirement_line(req, row, minimum)) for req, row in judged]
    false_reject = _false_reject(entry.false_reject, protocol.statistics.minimum_normal_events)
    unmet = [line for _, _, passed, line in lines if not passed]
    if not false_reject["passed"]:
        bound = f"upper 95 % bound {false_reject['upper']} > limit {false_reject['limit']}"
        unmet.append(f"false rejects: {false_reject['minimum'] or bound}")
    return {
        "mode": mode,
        "title": title,
        "recorded": True,
        "threshold": f"{entry.threshold:.4g} ({entry.threshold_rule})",
        "rows": [requirement_row(req, row, passed) for req, row, passed, _ in lines],
        "notes": [f"{row.id}: {row.note}" for _, row, _, _ in lines if row and row.note],
        "false_reject": false_reject,
        "unmet": unmet,
        "label": "FAIL" if unmet else "PASS",
        "figures": _figures(mode, judged, figures_dir) if figures_dir else [],
    }


def requirement_row(req: Requirement, row: RequirementCapability | None, passed: bool) -> list[str]:
    """Id, defect, size measure, required, a50, a90, a90/95, upper-contrast a90/95, method,
    events / hits, margin to the requirement, result."""
    head = [req.id, defect_text(req.defect_type, req.form), req.size_measure]
    required = size_text(req.required_a90_95, req.unit)
    if row is None:
        return [*head, required, *["not in the evidence"] * 6, "", "FAIL"]
    margin = None if row.a90_95 is None else row.a90_95 - req.required_a90_95
    return [
        *head,
        required,
        _estimate(row.a50, req.unit),
        _estimate(row.a90, req.unit),
        _a90_95(row.a90_95, req.unit),
        _upper_contrast(row.upper_contrast, req.unit),
        METHODS.get(row.method, row.method),
        f"{fmt(row.n_events)} / {fmt(row.n_hits)}",
        "n/a" if margin is None else size_text(margin, req.unit, sign=True),
        "PASS" if passed else "FAIL",
    ]


def _estimate(value: float | None, unit: str) -> str:
    """a50 or a90: none when the fit fell back to the success run (no POD curve)."""
    return "n/a" if value is None else size_text(value, unit)


def _a90_95(value: float | None, unit: str) -> str:
    return "not demonstrated" if value is None else size_text(value, unit)


def _upper_contrast(fit: PodFit | None, unit: str) -> str:
    if fit is None:
        return "not fitted"
    text = _a90_95(fit.a90_95, unit)
    if fit.a90_95 is not None and fit.method != "glm":
        text += f" ({METHODS.get(fit.method, fit.method)})"
    return f"{text} ({fmt(fit.n_events)} / {fmt(fit.n_hits)})"


def _false_reject(rejects: FalseReject, minimum: int) -> dict[str, Any]:
    """The false-reject row, judged like criterion AC-FR-1: enough normal events, and the
    one-sided upper bound at most the limit."""
    enough = rejects.n_events >= minimum
    passed = enough and rejects.upper is not None and rejects.upper <= rejects.limit
    return {
        "n_events": fmt(rejects.n_events),
        "n_rejected": fmt(rejects.n_rejected),
        "rate": fmt_pct(rejects.rate, 2),
        "upper": fmt_pct(rejects.upper, 2),
        "limit": fmt_pct(rejects.limit, 1),
        "minimum": "" if enough else f"{fmt(rejects.n_events)} normal events < {minimum}",
        "passed": passed,
        "result": "PASS" if passed else "FAIL",
    }


def _figures(
    mode: str,
    judged: Sequence[tuple[Requirement, RequirementCapability | None]],
    folder: Path,
) -> list[dict[str, str]]:
    """One POD figure per requirement with events; a figure the evidence names but the folder
    lacks is an error naming it."""
    shown = []
    for req, row in judged:
        if row is None or row.figure is None:
            continue
        caption = (
            f"{req.id}: probability of detection of {defect_text(req.defect_type, req.form)} "
            f"against {req.size_measure}, {MODE_TITLES[mode].lower()} "
            f"(a90/95 {_a90_95(row.a90_95, req.unit)}, required "
            f"{size_text(req.required_a90_95, req.unit)})."
        )
        source = f"assess_capability/pod/{mode}/{row.figure}"
        shown.append(figure(folder / mode / row.figure, caption, source, WRITER))
    return shown
