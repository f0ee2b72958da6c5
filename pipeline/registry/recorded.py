"""The evidence a model version was registered with, read back from the registry for judging.

Promotion judges what was *recorded* with the version (the evidence files logged to its run),
not whatever sits in ``artifacts/`` today, and first checks those files against the SHA-256
tags set at registration. The dossier is rendered after registration, so it is found on disk:
a JSON sidecar in the dossier folder names the version it was rendered for::

    {"model_name": ..., "version": ..., "lineage_key": ..., "pdf": "<file next to it>",
     "pdf_sha256": ...}
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import evidence
from pipeline.errors import SealauditError
from pipeline.evidence import Capability, Evaluation, Governance
from pipeline.provenance import sha256_file
from pipeline.registry.judged import DossierRecord, Judged, VersionRef
from pipeline.registry.lineage import LINEAGE_KEY_TAG, TAG_PREFIX

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

EVIDENCE_FOLDER = "evidence"
EVIDENCE_TAG = f"{TAG_PREFIX}evidence_sha256."
JUDGED_FILES = ("governance.json", "evaluation.json")
# Judged when the run carries it; a version registered without it fails the capability
# criteria with "capability evidence missing" rather than being unreadable.
OPTIONAL_JUDGED_FILES = ("capability.json",)


@dataclass(frozen=True)
class RecordedEvidence:
    """What ``evaluate_criteria`` judges, and the hashes that pin it.

    Attributes:
        evidence: what ``evaluate_criteria`` judges.
        hashes: name -> SHA-256 of each document the decision rests on.
        integrity_problems: recorded files whose bytes differ from their registration tags.
        dossier_files: the dossier's sidecar and PDF, when one was found.
    """

    evidence: Judged
    hashes: dict[str, str]
    integrity_problems: list[str] = field(default_factory=list)
    dossier_files: list[Path] = field(default_factory=list)


def find_dossier(dossier_dir: Path | None, model_name: str, version: str) -> Path | None:
    """The sidecar JSON in ``dossier_dir`` naming ``model_name`` version ``version``."""
    if dossier_dir is None or not Path(dossier_dir).is_dir():
        return None
    for path in sorted(Path(dossier_dir).glob("*.json")):
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if not isinstance(content, dict):
            continue
        same_model = content.get("model_name") == model_name
        if same_model and str(content.get("version")) == str(version):
            return path
    return None


def read_dossier(sidecar: Path) -> tuple[DossierRecord, list[Path], dict[str, str]]:
    """The version the sidecar names with ``pdf_verified``, the files, and their hashes."""
    content = json.loads(Path(sidecar).read_text(encoding="utf-8"))
    try:
        named = [str(content[key]) for key in ("model_name", "version", "lineage_key", "pdf")]
        pdf_sha256 = content["pdf_sha256"]
    except KeyError as error:
        raise SealauditError(
            f"{sidecar}: dossier sidecar lacks {error}; re-render it with `sealaudit dossier`"
        ) from error
    pdf = _dossier_pdf(Path(sidecar), named[3])
    hashes = {"dossier.json": sha256_file(sidecar)}
    files = [Path(sidecar)]
    verified = False
    if named[3] and pdf.is_file():
        hashes["dossier.pdf"] = sha256_file(pdf)
        verified = hashes["dossier.pdf"] == pdf_sha256
        files.append(pdf)
    record = DossierRecord(named[0], named[1], named[2], pdf_verified=verified)
    return record, files, hashes


def _dossier_pdf(sidecar: Path, name: str) -> Path:
    """The PDF a sidecar names, refused unless it lies in the sidecar's own folder."""
    folder = sidecar.parent.resolve()
    pdf = (folder / name).resolve()
    if name and not pdf.is_relative_to(folder):
        raise SealauditError(
            f"{sidecar}: 'pdf' {name!r} leads outside the dossier folder {folder}; a dossier "
            "is judged and uploaded only from its own folder: re-render it with "
            "`sealaudit dossier`"
        )
    return pdf


def recorded_evidence(
    client: MlflowClient, model_name: str, version: str, dossier_dir: Path | None
) -> RecordedEvidence:
    """Download the version's judged evidence, check it, and find its dossier.

    Raises:
        SealauditError: the version does not exist or was not registered by sealaudit.
        EvidenceError: a recorded document does not match the evidence contract.
    """
    model_version = _model_version(client, model_name, version)
    tags = model_version.tags or {}
    mode = tags.get(f"{TAG_PREFIX}mode")
    if mode not in ("inline", "monitoring") or LINEAGE_KEY_TAG not in tags:
        raise SealauditError(
            f"{model_name} v{version} carries no sealaudit lineage tags; register it with "
            "`dvc repro register`"
        )
    hashes, problems = {}, []
    with tempfile.TemporaryDirectory(prefix="sealaudit-evidence-") as tmp:
        local = {name: _download(client, model_version.run_id, name, tmp) for name in JUDGED_FILES}
        for name in OPTIONAL_JUDGED_FILES:
            if _listed(client, model_version.run_id, name):
                local[name] = _download(client, model_version.run_id, name, tmp)
        for name, path in local.items():
            hashes[name] = sha256_file(path)
            if hashes[name] != tags.get(f"{EVIDENCE_TAG}{name}"):
                problems.append(f"{name} of run {model_version.run_id} differs from its tag")
        governance = evidence.read_file(Governance, local["governance.json"])
        evaluation = evidence.read_file(Evaluation, local["evaluation.json"])
        capability = None
        if "capability.json" in local:
            capability = evidence.read_file(Capability, local["capability.json"])
    mode_doc = evaluation.modes.of(mode)
    if mode_doc is None:
        raise SealauditError(
            f"evaluation.json of run {model_version.run_id} has no {mode} mode; "
            "re-register the version with `dvc repro register`"
        )
    judged = Judged(
        mode=mode,
        governance=governance,
        evaluation=mode_doc,
        model_version=VersionRef(model_name, str(version), tags[LINEAGE_KEY_TAG]),
        capability_evidence=capability,
    )
    hashes["lineage_key"] = tags[LINEAGE_KEY_TAG]
    sidecar = find_dossier(dossier_dir, model_name, str(version))
    files: list[Path] = []
    if sidecar is not None:
        dossier, files, dossier_hashes = read_dossier(sidecar)
        judged = dataclasses.replace(judged, dossier=dossier)
        hashes.update(dossier_hashes)
    return RecordedEvidence(judged, hashes, problems, files)


def _model_version(client: MlflowClient, model_name: str, version: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(model_name, str(version))
    except MlflowException as error:
        raise SealauditError(
            f"model {model_name!r} has no version {version!r} in {client.tracking_uri}; "
            "list versions in the MLflow UI or check MLFLOW_TRACKING_URI"
        ) from error


def _listed(client: MlflowClient, run_id: str, name: str) -> bool:
    """Whether the run's evidence folder holds ``name``."""
    listed = client.list_artifacts(run_id, EVIDENCE_FOLDER)
    return f"{EVIDENCE_FOLDER}/{name}" in {item.path for item in listed}


def _download(client: MlflowClient, run_id: str, name: str, folder: str) -> Path:
    from mlflow.exceptions import MlflowException

    try:
        return Path(client.download_artifacts(run_id, f"{EVIDENCE_FOLDER}/{name}", folder))
    except (MlflowException, OSError) as error:
        raise SealauditError(
            f"run {run_id} has no {EVIDENCE_FOLDER}/{name} ({error}); "
            "re-register the version with `dvc repro register`"
        ) from error
