"""Evidence document of the ``assess_capability`` stage: detection capability per requirement.

``assess_capability/capability.json`` records, per detection mode, the false-reject rate on the
challenge set's normal capture events and, per requirement of ``validation/protocol.yaml``,
the hit/miss POD fit (a50, a90, a90/95) or its success-run fallback. It names the protocol
(document, revision, sha256, approval) it was produced under, so the release gate can tell
whether the protocol predates the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.evidence.documents import Provenance

METHODS = ("glm", "success_run", "not_demonstrated")


@dataclass(frozen=True)
class ProtocolRef:
    """The protocol the capability was assessed under."""

    document: str
    revision: int | str
    sha256: str
    approved_on: str
    approver: str


@dataclass(frozen=True)
class ChallengeSet:
    """The data the capability was measured on: ``kind`` ``challenge`` (the generated challenge
    set) or ``test_split`` (an imported dataset's test split), its path, DVC md5 and counts."""

    kind: str
    path: str
    md5: str | None
    n_images: int
    n_events: int
    n_normal_events: int
    n_defect_events: int


@dataclass(frozen=True)
class FalseReject:
    """Rejected normal capture events, with the one-sided 95 % Clopper-Pearson upper bound."""

    n_events: int
    n_rejected: int
    rate: float | None
    upper: float | None
    limit: float
    passed: bool


@dataclass(frozen=True)
class PodFit:
    """A POD fit over a subset of the contrast range (the upper two thirds)."""

    n_events: int
    n_hits: int
    method: str
    a50: float | None
    a90: float | None
    a90_95: float | None


@dataclass(frozen=True)
class RequirementCapability:
    """One requirement row: sizes in ``unit`` (``mm`` or ``fraction``); ``margin`` is
    ``a90_95 - required_a90_95`` (None when not demonstrated)."""

    id: str
    defect_type: str
    form: str | None
    unit: str
    required_a90_95: float
    n_events: int
    n_hits: int
    method: str
    a50: float | None
    a90: float | None
    a90_95: float | None
    passed: bool
    margin: float | None
    note: str
    figure: str | None  # the POD figure under assess_capability/pod/<mode>/ (None: no events)
    upper_contrast: PodFit | None


@dataclass(frozen=True)
class CapabilityMode:
    """One detection mode: its operating threshold, false rejects and requirement rows."""

    threshold: float
    threshold_rule: str
    false_reject: FalseReject
    requirements: list[RequirementCapability]

    def requirement(self, requirement_id: str) -> RequirementCapability | None:
        """The row of ``requirement_id`` (None when the evidence has none)."""
        return next((row for row in self.requirements if row.id == requirement_id), None)


@dataclass(frozen=True)
class CapabilityModes:
    """``modes``: monitoring is null when the stage ran without it."""

    inline: CapabilityMode
    monitoring: CapabilityMode | None

    def of(self, mode: str) -> CapabilityMode | None:
        """The mode's entry (None when absent)."""
        return {"inline": self.inline, "monitoring": self.monitoring}[mode]


@dataclass(frozen=True)
class Capability:
    """``assess_capability/capability.json``."""

    protocol: ProtocolRef
    dataset: ChallengeSet
    modes: CapabilityModes
    torch_numerics: dict[str, Any]
    provenance: Provenance
