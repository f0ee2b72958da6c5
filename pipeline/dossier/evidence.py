"""Locating and reading the evidence a dossier is built from (docs/architecture.md contracts).

A required file that is absent is an error naming it and the stage that writes it: a dossier
never shows a silently empty section.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from pipeline import evidence
from pipeline.errors import SealauditError
from pipeline.evidence import (
    DOCUMENTS,
    Calibration,
    Capability,
    Evaluation,
    Governance,
    Metrics,
    MonitorSummary,
    Registration,
    SplitSummary,
    Thresholds,
    TrainSummary,
)
from pipeline.provenance import sha256_file

# Documents of pipeline.evidence.DOCUMENTS a dossier cannot do without; the others are
# read when present (None otherwise).
REQUIRED_EVIDENCE = (
    "split_summary",
    "governance",
    "train_summary",
    "evaluation",
    "monitor_summary",
)
OPTIONAL_EVIDENCE = tuple(name for name in DOCUMENTS if name not in REQUIRED_EVIDENCE)
INTENDED_USE = "intended_use.yaml"
PROTOCOL = "protocol.yaml"
# Reviewed text blocks of the dossier (validation/, owned with the dossier).
TEXT_BLOCKS = (
    "risk_register.yaml",
    "oversight.yaml",
    "monitoring_plan.yaml",
    "change_control.yaml",
)


class MissingEvidenceError(SealauditError):
    """An evidence file the dossier needs is absent or unreadable."""


@dataclass(frozen=True)
class EvidencePaths:
    """Where one model version's evidence lives.

    Attributes:
        evidence_dir: the ``artifacts/`` folder (or a copy fetched from the registry).
        validation_dir: reviewed files (``intended_use.yaml``, ``protocol.yaml``...).
        dataset_info: ``data/dataset.json`` (source, licence).
        dvc_lock: ``dvc.lock``.
        data_dvc: ``data.dvc``.
        audit_log: the registry's append-only audit log, if any (signatures).
        test_results: a test run's JUnit XML to attach (``sealaudit dossier --test-results``),
            if any: the CSA assurance records and the traceability matrix name its tests.
    """

    evidence_dir: Path
    validation_dir: Path
    dataset_info: Path
    dvc_lock: Path
    data_dvc: Path
    audit_log: Path | None = None
    test_results: Path | None = None

    def evidence(self, key: str) -> Path:
        """Path of a named evidence document (a key of ``pipeline.evidence.DOCUMENTS``)."""
        return evidence.path(key, Path(self.evidence_dir))

    def validation(self, name: str) -> Path:
        """Path of a reviewed file under the validation folder."""
        return Path(self.validation_dir) / name


def require_file(path: Path, writer: str) -> Path:
    """``path`` if it is a file, else a MissingEvidenceError naming it and what writes it."""
    if not Path(path).is_file():
        raise MissingEvidenceError(f"{path}: evidence file missing; {writer}")
    return Path(path)


def read_json(path: Path, writer: str) -> Any:
    """Parse a JSON evidence file, naming the file when it is missing or malformed."""
    require_file(path, writer)
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise MissingEvidenceError(f"{path}: not valid JSON ({error}); {writer}") from error


def read_yaml(path: Path, writer: str) -> Any:
    """Parse a YAML file (validation text blocks, dvc.lock, data.dvc) with a clear error."""
    require_file(path, writer)
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise MissingEvidenceError(f"{path}: not valid YAML ({error}); {writer}") from error


@dataclass(frozen=True)
class Documents:
    """One model version's evidence documents (``pipeline.evidence`` dataclasses); the
    optional ones are None when their file is absent."""

    split_summary: SplitSummary
    governance: Governance
    train_summary: TrainSummary
    evaluation: Evaluation
    monitor_summary: MonitorSummary
    metrics: Metrics | None
    calibration: Calibration | None
    thresholds: Thresholds | None
    registration: Registration | None
    capability: Capability | None

    def present(self) -> dict[str, Any]:
        """The documents read, by name (required ones first)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: doc for name, doc in values.items() if doc is not None}


def load_evidence(paths: EvidencePaths) -> Documents:
    """Every evidence document, checked against its dataclass (a renamed or missing key is an
    error naming it); optional ones are None when absent."""
    documents: dict[str, Any] = {}
    for key in (*REQUIRED_EVIDENCE, *OPTIONAL_EVIDENCE):
        path = paths.evidence(key)
        if key in OPTIONAL_EVIDENCE and not path.is_file():
            documents[key] = None
            continue
        row = DOCUMENTS[key]
        require_file(path, f"run `dvc repro {row.stage}`")
        try:
            documents[key] = evidence.read_file(row.type, path)
        except evidence.EvidenceError as error:
            raise MissingEvidenceError(str(error)) from error
    return Documents(**documents)


def evidence_digest(files: dict[str, Path], subject: str = "") -> str:
    """One sha256 over ``subject`` and the (name, file sha256) pairs in name order.

    ``subject`` (model name, version, mode) tells apart the dossiers of two models that share
    one evidence set.
    """
    digest = hashlib.sha256(f"{subject}\n".encode())
    for name in sorted(files):
        digest.update(f"{name}\0{sha256_file(files[name])}\n".encode())
    return digest.hexdigest()
