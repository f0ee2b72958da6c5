"""A registered version's evidence, read back from its MLflow run into the ``artifacts/`` layout.

``register`` logs each mode's run with artifact folders: ``evidence/`` (the stages' JSON
documents), ``plots/`` (curves), ``gallery/`` (heatmap images), ``train/<model>/`` (history
and training curve of every trained model; runs registered before carried only the detector's,
in ``plots/``) and ``pod/<mode>/`` (the POD figures of ``capability.json``). The dossier
reads evidence in the layout of docs/architecture.md, so the files are put back where the
stages wrote them.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import evidence
from pipeline.dossier.evidence import MissingEvidenceError
from pipeline.errors import SealauditError
from pipeline.evidence import DOCUMENTS, Registration
from pipeline.evidence.documents import RegisteredModel

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

# File name in the run's evidence/ folder -> path under artifacts/.
RUN_LAYOUT = {
    **{row.file_name: row.path for row in DOCUMENTS.values() if row.stage != "register"},
    "summary.md": "validate_data/summary.md",
}
TRAIN_PLOTS = ("training_curve.png", "history.json")
# Dataset records a run may carry (else the working tree's, if its data version matches).
RECORDS = ("dataset.json", "data.dvc", "dvc.lock")
FOLDERS = ("evidence", "plots", "gallery", "train", "pod")


@dataclass(frozen=True)
class FetchedVersion:
    """A version's evidence laid out on disk, and what it is."""

    mode: str
    model_name: str
    version: str
    evidence_dir: Path
    records: dict[str, Path]


def arrange(run_dir: Path, mode: str, evidence_dir: Path) -> None:
    """Copy ``evidence/``, ``plots/``, ``gallery/``, ``train/`` and ``pod/`` of a downloaded run
    into the layout.

    Raises:
        MissingEvidenceError: the run lacks evaluation.json.
    """
    run_dir, evidence_dir = Path(run_dir), Path(evidence_dir)
    for name, relative in RUN_LAYOUT.items():
        source = run_dir / "evidence" / name
        if source.is_file():
            _copy(source, evidence_dir / relative)
    evaluation_path = evidence_dir / RUN_LAYOUT["evaluation.json"]
    if not evaluation_path.is_file():
        raise MissingEvidenceError(f"{run_dir / 'evidence/evaluation.json'}: not in the run")
    mode_doc = json.loads(evaluation_path.read_text(encoding="utf-8"))["modes"][mode]
    for source in sorted((run_dir / "plots").glob("*")):
        if source.name in TRAIN_PLOTS:
            target = evidence_dir / "train" / str(mode_doc.get("detector")) / source.name
        else:
            target = evidence_dir / "evaluate" / source.name
        _copy(source, target)
    for source in sorted((run_dir / "train").glob("*/*")):
        _copy(source, evidence_dir / "train" / source.parent.name / source.name)
    for source in sorted((run_dir / "pod").glob("*/*")):
        _copy(source, evidence_dir / "assess_capability" / "pod" / source.parent.name / source.name)
    for names in (mode_doc.get("gallery") or {}).values():
        for name in names:
            source = run_dir / "gallery" / Path(name).name
            if source.is_file():
                _copy(source, evidence_dir / "evaluate" / name)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def fetch_version(
    client: MlflowClient, model_name: str, version: str, dest: Path, companion: str = ""
) -> FetchedVersion:
    """Download a registered version's evidence into ``dest`` (``dest/artifacts`` layout).

    An inline run carries no ``monitor_summary.json``; it is then taken from model
    ``companion`` (the monitoring model) registered from the same commit and data.

    Raises:
        SealauditError: the version does not exist or carries no sealaudit tags.
    """
    from mlflow.exceptions import MlflowException

    try:
        model_version = client.get_model_version(model_name, str(version))
    except MlflowException as error:
        raise SealauditError(
            f"model {model_name!r} has no version {version!r} in {client.tracking_uri}; "
            "check the name and version, or MLFLOW_TRACKING_URI"
        ) from error
    tags = model_version.tags or {}
    mode = tags.get("sealaudit.mode")
    if mode not in ("inline", "monitoring"):
        raise SealauditError(f"{model_name} v{version} carries no sealaudit.mode tag")
    run_id = str(model_version.run_id)
    run_dir = Path(dest) / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    for folder in FOLDERS:
        try:
            client.download_artifacts(run_id, folder, str(run_dir))
        except (MlflowException, OSError) as error:
            log.warning("run %s has no %s/ folder (%s)", run_id, folder, error)
    evidence_dir = Path(dest) / "artifacts"
    if companion and not (run_dir / "evidence" / "monitor_summary.json").is_file():
        _companion_summary(client, companion, tags, run_dir / "evidence")
    arrange(run_dir, mode, evidence_dir)
    _write_registration(evidence_dir, mode, model_name, str(version), model_version, tags)
    records = {n: run_dir / "evidence" / n for n in RECORDS if (run_dir / "evidence" / n).is_file()}
    return FetchedVersion(mode, model_name, str(version), evidence_dir, records)


def _companion_summary(client: MlflowClient, name: str, tags: dict, into: Path) -> None:
    """Copy monitor_summary.json from the latest companion version built from the same code
    and data (same git commit and data md5 tags): fit_monitor is deterministic given both."""
    keys = ("sealaudit.git_commit", "sealaudit.data_md5")
    matches = [
        candidate
        for candidate in client.search_model_versions(f"name='{name}'")
        if all((candidate.tags or {}).get(k) == tags.get(k) for k in keys)
    ]
    if not matches:
        return
    chosen = max(matches, key=lambda candidate: int(candidate.version))
    local = client.download_artifacts(
        str(chosen.run_id), "evidence/monitor_summary.json", str(into.parent / "companion")
    )
    shutil.copyfile(local, into / "monitor_summary.json")
    log.info("monitor_summary.json taken from %s v%s (same commit and data)", name, chosen.version)


def _write_registration(
    evidence_dir: Path, mode: str, name: str, version: str, model_version: Any, tags: dict
) -> None:
    """The registration record the version's run itself cannot carry (it is written later)."""
    entry = RegisteredModel(
        model_name=name,
        version=int(version),
        run_id=model_version.run_id,
        lineage_key=tags.get("sealaudit.lineage_key", "not recorded"),
        created=False,
    )
    record = Registration(inline=entry) if mode == "inline" else Registration(monitoring=entry)
    evidence.write(record, evidence_dir)


def champion_version(client: MlflowClient, model_name: str, alias: str) -> str | None:
    """The version holding ``alias`` (None when the model or the alias does not exist)."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None
