"""The two records section 16 and the risk table read as typed rows: the registry's audit log
entries and the risk register's hazards.

Hazards are reviewed text (``validation/risk_register.yaml``): every key is required and an
unknown one is an error, so a renamed key cannot empty a column unnoticed. Audit entries are
append-only history: their hash chain (``pipeline.registry.audit.verify_log``) vouches for the
whole line, and a line written by an older sealaudit cannot be rewritten to a newer shape, so
only the keys every writer has recorded are required and the keys the dossier does not show
are left to the log.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.dossier.evidence import MissingEvidenceError
from pipeline.registry.audit import AuditError, read_entries

RISK_REGISTER = "validation/risk_register.yaml"


@dataclass(frozen=True)
class Hazard:
    """One ISO 14971 row: hazard -> situation -> harm, its controls and the residual risk."""

    id: str
    hazard: str
    hazardous_situation: str
    harm: str
    severity: int
    probability: int
    controls: list[str]
    verification: list[str]
    residual_probability: int
    residual_risk: str

    @classmethod
    def from_dict(cls, raw: Any, where: str = RISK_REGISTER) -> Hazard:
        """A hazard from its YAML mapping; a missing or unknown key names it and the file."""
        known = [f.name for f in dataclasses.fields(cls)]
        fix = f"fix {RISK_REGISTER} (keys: {known})"
        if not isinstance(raw, dict):
            raise MissingEvidenceError(f"{where}: a hazard is not a mapping; {fix}")
        unknown = sorted(set(raw) - set(known))
        missing = [key for key in known if key not in raw]
        if unknown or missing:
            problem = f"unknown key {unknown[0]!r}" if unknown else f"key {missing[0]!r} missing"
            raise MissingEvidenceError(f"{where}: hazard {raw.get('id', '?')}: {problem}; {fix}")
        for key in ("controls", "verification"):
            _require_text_items(raw[key], f"{where}: hazard {raw['id']}: {key}")
        return cls(**raw)


def _require_text_items(items: Any, where: str) -> None:
    """A list of plain strings; YAML reads ``- Name: text`` as a mapping, which would print as a
    Python dict, so such an item is an error telling how to quote it."""
    if not isinstance(items, list):
        raise MissingEvidenceError(f"{where}: not a list; fix {RISK_REGISTER}")
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise MissingEvidenceError(
                f"{where}[{index}] is a {type(item).__name__}, not text ({item!r}); "
                f"quote it in {RISK_REGISTER} (a ': ' inside an unquoted item makes a mapping)"
            )


def hazards(register: Any, where: str = RISK_REGISTER) -> list[Hazard]:
    """The register's ``hazards`` (an error naming the file when the list is absent)."""
    items = register.get("hazards") if isinstance(register, dict) else None
    if not isinstance(items, list):
        raise MissingEvidenceError(
            f"{where}: no 'hazards' list; restore it from git (a reviewed file under validation/)"
        )
    return [Hazard.from_dict(item, f"{where}: hazards[{i}]") for i, item in enumerate(items)]


@dataclass(frozen=True)
class AuditEntry:
    """One line of the registry's audit log, as far as the dossier shows it.

    ``alias`` and ``role`` are None on lines recorded before the registry wrote them.
    """

    seq: int
    action: str
    model_name: str
    version: int | str
    signer: str
    meaning: str
    signed_at: str
    hash: str
    alias: str | None = None
    role: str | None = None

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> AuditEntry:
        """An entry from its JSON line; a missing required key is an error naming it."""
        if not isinstance(raw, dict):
            raise AuditError(f"{where}: not a JSON object; {_RESTORE}")
        names = [f.name for f in dataclasses.fields(cls)]
        required = [f.name for f in dataclasses.fields(cls) if f.default is not None]
        missing = [key for key in required if key not in raw]
        if missing:
            raise AuditError(f"{where}: key {missing[0]!r} missing; {_RESTORE}")
        return cls(**{key: raw[key] for key in names if key in raw})


_RESTORE = "the log was damaged: restore it from backup and run `sealaudit audit verify`"


def read_audit_log(path: Path | None) -> list[AuditEntry]:
    """Entries of the registry's audit log, in log order ([] when there is none yet)."""
    if path is None:
        return []
    return [
        AuditEntry.from_dict(raw, f"{path}: entry {number}")
        for number, raw in enumerate(read_entries(Path(path)), start=1)
    ]
