"""What a model version was built from: lineage tags and the key that makes registration idempotent.

The *lineage key* is the SHA-256 of what a released version consists of and is judged by: the
registered name, the dataset version (``data.dvc`` md5), the bytes of every file packaged in
the model (checkpoint, threshold object, estimator) and of the evidence it is judged against.
Re-running ``dvc repro`` with nothing changed reproduces the key, so no new version appears.
The git commit and the ``dvc.lock`` stage hashes are recorded as tags but kept out of the key:
committing ``dvc.lock`` itself (or a README) changes the commit without changing the model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from pipeline.evidence import Governance, Provenance

TAG_PREFIX = "sealaudit."
LINEAGE_KEY_TAG = f"{TAG_PREFIX}lineage_key"
# MLflow caps model-version tag values at 5000 characters; ours stay far below.
MAX_TAG_CHARS = 4000


def sha256_json(value: Any) -> str:
    """Hex SHA-256 of the canonical JSON of ``value`` (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def dvc_stage_hashes(lock_path: Path, stages: Iterable[str]) -> dict[str, str]:
    """SHA-256 of each stage's ``dvc.lock`` entry (cmd, deps, params, outs with their md5s).

    A stage absent from the lock (never run under DVC, or no lock file) maps to ``"absent"``.
    """
    lock: dict[str, Any] = {}
    if Path(lock_path).is_file():
        content = yaml.safe_load(Path(lock_path).read_text(encoding="utf-8")) or {}
        lock = content.get("stages") or {}
    return {stage: sha256_json(lock[stage]) if stage in lock else "absent" for stage in stages}


def lineage_key(model_name: str, data_md5: str, files: Mapping[str, str]) -> str:
    """The idempotency key of a model version.

    Args:
        model_name: registered model name.
        data_md5: dataset version from ``data.dvc``.
        files: logical name -> SHA-256 of each packaged artifact and evidence document.

    Returns:
        64 hex characters.
    """
    return sha256_json({"model_name": model_name, "data_md5": data_md5, "files": dict(files)})


def lineage_tags(
    *,
    mode: str,
    key: str,
    provenance: Provenance,
    governance: Governance,
    stage_hashes: Mapping[str, str],
    files: Mapping[str, str],
) -> dict[str, str]:
    """Tags set on the run and on the model version (all values strings).

    Args:
        mode: ``inline`` or ``monitoring``.
        key: the lineage key.
        provenance: the provenance of the evidence that scored the model.
        governance: ``governance.json``.
        stage_hashes: ``dvc_stage_hashes`` of the upstream stages.
        files: logical name -> SHA-256 (as given to ``lineage_key``).
    """
    tags = {
        "mode": mode,
        "lineage_key": key,
        "git_commit": str(provenance.git_commit),
        "git_dirty": json.dumps(provenance.git_dirty),
        "data_md5": str(provenance.data_md5),
        "seed": json.dumps(provenance.seed),
        "package_versions": json.dumps(provenance.package_versions, sort_keys=True),
        "governance.success": json.dumps(bool(governance.success)),
        "governance.critical_failures": str(governance.critical_failures),
        "governance.warnings": str(governance.warnings),
        "governance.suites": ",".join(f"{s.name}@{s.sha256}" for s in governance.suites),
    }
    tags.update({f"dvc_stage.{stage}": value for stage, value in stage_hashes.items()})
    tags.update({f"sha256.{name}": value for name, value in files.items()})
    return {f"{TAG_PREFIX}{name}": value[:MAX_TAG_CHARS] for name, value in tags.items()}
