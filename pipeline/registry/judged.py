"""What the protocol's criteria judge: one mode's recorded evidence and, at promotion, the
version being promoted and the dossier found for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline import evidence
from pipeline.evidence import Capability, CapabilityMode, Governance, Mode
from pipeline.evidence.convert import Where, from_dict


@dataclass(frozen=True)
class VersionRef:
    """A registered model version as the registry names it."""

    model_name: str
    version: str
    lineage_key: str


@dataclass(frozen=True)
class DossierRecord(VersionRef):
    """The version a dossier's sidecar names, and whether its PDF matches the recorded hash."""

    pdf_verified: bool


@dataclass(frozen=True)
class Judged:
    """One mode's governance, evaluation and capability evidence (``capability_evidence``
    None: no ``capability.json``), and at promotion the version and its dossier."""

    mode: str
    governance: Governance
    evaluation: Mode
    model_version: VersionRef | None = None
    dossier: DossierRecord | None = None
    capability_evidence: Capability | None = None

    @property
    def capability(self) -> CapabilityMode | None:
        """The mode's entry of ``capability.json`` (None when absent)."""
        if self.capability_evidence is None:
            return None
        return self.capability_evidence.modes.of(self.mode)

    @classmethod
    def from_documents(cls, documents: Mapping[str, Any]) -> Judged:
        """From ``{"mode", "governance", "evaluation"[, "capability"]}`` (documents or their
        JSON objects; ``evaluation`` is the mode's entry of ``evaluation.json``; ``capability``
        the whole ``capability.json`` or None), read strictly."""
        mode, governance, evaluation = (documents[k] for k in ("mode", "governance", "evaluation"))
        if not isinstance(governance, Governance):
            governance = evidence.parse(Governance, governance)
        if not isinstance(evaluation, Mode):
            where = Where("evaluate/evaluation.json", "evaluate", f"modes.{mode}")
            evaluation = from_dict(Mode, evaluation, where)
        capability = documents.get("capability")
        if capability is not None and not isinstance(capability, Capability):
            capability = evidence.parse(Capability, capability)
        return cls(str(mode), governance, evaluation, capability_evidence=capability)
