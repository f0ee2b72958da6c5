"""Idempotent logging and registration of one detection mode.

A version is keyed by its lineage key (``pipeline.registry.lineage``): when a version of the
model already carries the key, nothing is logged and that version is reported with
``created: false``. Otherwise one MLflow run records the evidence (params from the typed
configs, metrics and artifacts from the evidence files, lineage tags) and the pyfunc model,
and a new version is registered with the same tags.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.registry.lineage import LINEAGE_KEY_TAG
from pipeline.registry.packaging import log_mode_model

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

log = logging.getLogger(__name__)

MODEL_DESCRIPTIONS = {
    "inline": "Inline inspection: autoencoder reconstruction scored by the 4-MS-SSIM heatmap "
    "and the cross-seal path map (four_ms_ssim_path); rejects a pouch when score > threshold "
    "(arXiv 2509.05796).",
    "monitoring": "Process monitoring: Mahalanobis distance of randomly kept encoder features "
    "(RFD-MD, arXiv 2509.05796).",
}


@dataclass(frozen=True)
class ModeBundle:
    """Everything one mode's run and version record, gathered from the evidence files.

    Attributes:
        mode: ``inline`` or ``monitoring``.
        model_name: registered model name.
        lineage_key: idempotency key (also a tag).
        files: packaged files (``checkpoint``; ``estimator`` for monitoring).
        documents: packaged JSON documents (``threshold``, ``settings``).
        working_size: (H, W) the model expects.
        params: flat parameter name -> value.
        metrics: flat metric name -> value.
        tags: lineage tags for the run and the version.
        artifacts: run artifact folder -> files logged there.
    """

    mode: str
    model_name: str
    lineage_key: str
    files: dict[str, Path]
    documents: dict[str, Any]
    working_size: tuple[int, int]
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, list[Path]] = field(default_factory=dict)


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted-key leaves of nested mappings (lists stay whole)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def find_version(client: MlflowClient, name: str, key: str) -> ModelVersion | None:
    """The version of ``name`` already registered with lineage key ``key``, if any."""
    query = f"name = '{name}' and tags.`{LINEAGE_KEY_TAG}` = '{key}'"
    found = list(client.search_model_versions(query))
    return min(found, key=lambda v: int(v.version)) if found else None


def register_mode(
    client: MlflowClient, experiment_id: str, bundle: ModeBundle, requirements: list[str]
) -> dict[str, Any]:
    """Log and register ``bundle`` unless its lineage key is already registered.

    Returns:
        ``{"model_name", "version", "run_id", "lineage_key", "created"}``.
    """
    existing = find_version(client, bundle.model_name, bundle.lineage_key)
    if existing is not None:
        log.info(
            "%s: lineage %s already registered as version %s; nothing to do",
            bundle.model_name,
            bundle.lineage_key[:12],
            existing.version,
        )
        return _record(bundle, existing.version, existing.run_id, created=False)
    # The run is created only after the store has answered the lookups above, and is
    # deleted if anything fails before its version exists: no half-registration is left.
    run_name = f"{bundle.mode}-{bundle.lineage_key[:8]}"
    run_id = str(client.create_run(experiment_id, run_name=run_name).info.run_id)
    try:
        model_uri = _log_run(run_id, bundle, requirements)
        version = _register(client, bundle, model_uri, run_id)
    except Exception:
        _discard_run(client, bundle, run_id)
        raise
    log.info("%s: registered version %s (run %s)", bundle.model_name, version, run_id)
    return _record(bundle, version, run_id, created=True)


def _record(bundle: ModeBundle, version: Any, run_id: Any, created: bool) -> dict[str, Any]:
    return {
        "model_name": bundle.model_name,
        "version": int(version),
        "run_id": str(run_id),
        "lineage_key": bundle.lineage_key,
        "created": created,
    }


def _discard_run(client: MlflowClient, bundle: ModeBundle, run_id: str) -> None:
    """Delete a run whose registration failed, unless its version was registered after all."""
    try:
        if find_version(client, bundle.model_name, bundle.lineage_key) is None:
            client.delete_run(run_id)
            log.warning("%s: registration failed; deleted its run %s", bundle.model_name, run_id)
    except Exception:  # the store went away: say what is left, then report the first error
        log.warning(
            "%s: registration failed and its run %s could not be deleted (the store did not "
            "answer): `mlflow runs delete --run-id %s` once it does",
            bundle.model_name,
            run_id,
            run_id,
        )


def _log_run(run_id: str, bundle: ModeBundle, requirements: list[str]) -> str:
    import mlflow

    with mlflow.start_run(run_id=run_id):
        mlflow.set_tags(bundle.tags)
        # MLflow caps a parameter value at 6000 characters; long lists are evidence, not knobs.
        mlflow.log_params({k: str(v)[:6000] for k, v in bundle.params.items()})
        mlflow.log_metrics(bundle.metrics)
        for folder, paths in bundle.artifacts.items():
            for path in paths:
                mlflow.log_artifact(str(path), artifact_path=folder)
        info = log_mode_model(
            bundle.mode, bundle.files, bundle.documents, requirements, bundle.working_size
        )
        return str(info.model_uri)


def _register(client: MlflowClient, bundle: ModeBundle, model_uri: str, run_id: str) -> str:
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(
            bundle.model_name,
            tags={"sealaudit.mode": bundle.mode},
            description=MODEL_DESCRIPTIONS[bundle.mode],
        )
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = mlflow.register_model(model_uri, bundle.model_name, tags=bundle.tags)
    client.update_model_version(
        bundle.model_name,
        version.version,
        description=f"{bundle.mode} mode, lineage {bundle.lineage_key[:12]}, run {run_id}",
    )
    return str(version.version)
