"""One mode's capability evidence: per requirement the POD assessment, and the false rejects.

Pure apart from the POD figures it writes: the stage scores the challenge set and hands the
event outcomes here, with the protocol's requirements and rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.capability.events import (
    EventOutcome,
    defect_events,
    normal_events,
    sizes_and_hits,
    upper_contrast,
)
from pipeline.capability.plots import plot_pod
from pipeline.capability.pod import Assessment, assess
from pipeline.data.manifest import DatasetError
from pipeline.models.thresholds import clopper_pearson
from pipeline.registry.protocol import Requirement, Statistics


@dataclass(frozen=True)
class Rules:
    """The protocol's statistical rules (never tuned after testing)."""

    pod: float  # the probability of detection demanded (0.90)
    confidence: float  # of the lower POD bound and of the false-reject bound (0.95)
    link: str  # logit | probit
    false_reject_limit: float  # upper bound of the false-reject rate (0.05)
    upper_contrast_share: float  # the upper share of the contrast range reported apart (2/3)

    @classmethod
    def of(cls, statistics: Statistics) -> Rules:
        """The rules of a loaded protocol's ``statistics``."""
        return cls(
            pod=statistics.pod_level,
            confidence=statistics.confidence,
            link=statistics.pod_link,
            false_reject_limit=statistics.false_reject_limit,
            upper_contrast_share=statistics.contrast_upper_share,
        )


def assess_mode(
    events: Sequence[EventOutcome],
    requirements: Sequence[Requirement],
    rules: Rules,
    figures: Path,
) -> dict[str, Any]:
    """The ``requirements`` and ``false_reject`` entries of one mode's capability evidence;
    one POD figure per requirement is written under ``figures``."""
    return {
        "false_reject": false_reject(events, rules),
        "requirements": [
            assess_requirement(events, requirement, rules, figures) for requirement in requirements
        ],
    }


def false_reject(events: Sequence[EventOutcome], rules: Rules) -> dict[str, Any]:
    """False rejects among the normal events, with the one-sided upper bound judged."""
    normals = normal_events(events)
    rejected = sum(event.rejected for event in normals)
    _, upper = clopper_pearson(rejected, len(normals), rules.confidence, one_sided=True)
    return {
        "n_events": len(normals),
        "n_rejected": rejected,
        "rate": rejected / len(normals) if normals else None,
        "upper": upper,
        "limit": rules.false_reject_limit,
        "passed": bool(normals) and upper <= rules.false_reject_limit,
    }


def assess_requirement(
    events: Sequence[EventOutcome], requirement: Requirement, rules: Rules, figures: Path
) -> dict[str, Any]:
    """One requirement row: POD over the full contrast range (the verdict) and over its upper
    share (reported), the margin to the requirement, and the POD figure. Events without a
    recorded size (an imported frame without a mask) cannot enter a size curve: they are left
    out and counted in the note."""
    matching = defect_events(events, requirement.defect_type, requirement.form)
    selected = [event for event in matching if event.size > 0]  # NaN: no recorded size
    _check_unit(selected, requirement)
    full = _assess(selected, rules)
    upper = upper_contrast(selected, rules.upper_contrast_share)
    figure = figures / f"{requirement.id}.png"
    if selected:
        sizes, hits = sizes_and_hits(selected)
        title = f"{requirement.id}: {requirement.defect_type}" + (
            f" ({requirement.form})" if requirement.form else ""
        )
        plot_pod(full, sizes, hits, requirement.required_a90_95, requirement.unit, title, figure)
    passed = full.a90_95 is not None and full.a90_95 <= requirement.required_a90_95
    return {
        "id": requirement.id,
        "defect_type": requirement.defect_type,
        "form": requirement.form,
        "unit": requirement.unit,
        "required_a90_95": requirement.required_a90_95,
        **_summary(full),
        "passed": passed,
        "margin": None if full.a90_95 is None else full.a90_95 - requirement.required_a90_95,
        "note": _note(full.note, len(matching) - len(selected)),
        "figure": figure.name if selected else None,
        "upper_contrast": _summary(_assess(upper, rules)) if upper else None,
    }


def _note(note: str, unsized: int) -> str:
    if not unsized:
        return note
    return f"{note}; {unsized} event(s) of this type without a recorded size left out"


def _assess(events: Sequence[EventOutcome], rules: Rules) -> Assessment:
    if not events:
        return Assessment(
            "not_demonstrated",
            None,
            None,
            None,
            0,
            0,
            rules.pod,
            rules.confidence,
            None,
            "no defect events of this requirement in the challenge set",
        )
    sizes, hits = sizes_and_hits(events)
    return assess(sizes, hits, reliability=rules.pod, confidence=rules.confidence, link=rules.link)


def _summary(result: Assessment) -> dict[str, Any]:
    return {
        "n_events": result.n_events,
        "n_hits": result.n_hits,
        "method": result.method,
        "a50": result.a50,
        "a90": result.a90,
        "a90_95": result.a90_95,
    }


def _check_unit(events: Sequence[EventOutcome], requirement: Requirement) -> None:
    units = sorted({event.size_unit for event in events})
    if units and units != [requirement.unit]:
        raise DatasetError(
            f"{requirement.id}: the challenge set records {requirement.defect_type} sizes in "
            f"{units}, the protocol requires {requirement.unit!r}; regenerate the challenge set "
            "or correct the protocol's unit"
        )
