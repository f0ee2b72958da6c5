"""Where MLflow state lives, and an offline, quiet MLflow.

Embedded default: a SQLite store ``<repo>/mlflow.db`` (absolute URI, because MLflow resolves a
relative one against whatever the current directory is) with artifacts under
``<repo>/mlartifacts``. A team sets ``MLFLOW_TRACKING_URI`` to its server and nothing else
changes. Neither is ever a DVC output: DVC deletes outputs before a run and its run cache can
skip a stage's side effects.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

TRACKING_ENV = "MLFLOW_TRACKING_URI"
DB_NAME = "mlflow.db"
ARTIFACTS_NAME = "mlartifacts"
AUDIT_LOG_NAME = "registry_audit.jsonl"
AUDIT_LOG_ENV = "SEALAUDIT_AUDIT_LOG"

# MLflow's only network attempt is telemetry; the rest keeps logs readable in `dvc repro`.
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "DO_NOT_TRACK": "1",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_NO_INPUT": "1",
}


@dataclass(frozen=True)
class TrackingTarget:
    """Resolved MLflow locations.

    Attributes:
        tracking_uri: the tracking (and registry) store.
        artifact_root: where a new experiment stores artifacts; ``None`` for a server, which
            owns its artifact store.
        embedded: True for the local SQLite default.
    """

    tracking_uri: str
    artifact_root: str | None
    embedded: bool


def repo_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding ``dvc.yaml``.

    Falls back to ``start`` itself, so commands run from a sub-folder still find the one
    embedded store instead of silently creating a second one.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    return here


def resolve_target(root: Path | None = None) -> TrackingTarget:
    """The server named by ``MLFLOW_TRACKING_URI``, else the embedded store under ``root``.

    ``mlflow.set_tracking_uri`` exports the variable itself, so a value equal to the embedded
    default still counts as the embedded store.
    """
    base = repo_root(root)
    embedded = TrackingTarget(
        tracking_uri=f"sqlite:///{(base / DB_NAME).as_posix()}",
        artifact_root=(base / ARTIFACTS_NAME).as_posix(),
        embedded=True,
    )
    uri = os.environ.get(TRACKING_ENV, "").strip()
    if uri and uri != embedded.tracking_uri:
        return TrackingTarget(tracking_uri=uri, artifact_root=None, embedded=False)
    return embedded


def default_audit_log(root: Path | None = None) -> Path:
    """``SEALAUDIT_AUDIT_LOG`` if set, else ``<repo>/registry_audit.jsonl``."""
    configured = os.environ.get(AUDIT_LOG_ENV, "").strip()
    if configured:
        return Path(configured).resolve()
    return repo_root(root) / AUDIT_LOG_NAME


def quiet_mlflow() -> None:
    """Switch off telemetry, progress bars and pip checks (before MLflow is imported)."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


def connect(root: Path | None = None) -> tuple[MlflowClient, TrackingTarget]:
    """Point MLflow at the resolved store and return a client for it."""
    quiet_mlflow()
    import mlflow
    from mlflow import MlflowClient

    # MLflow logs a failed SQL call at ERROR with a traceback; sealaudit reports it in one line
    # (pipeline.registry.outage).
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    target = resolve_target(root)
    mlflow.set_tracking_uri(target.tracking_uri)
    mlflow.set_registry_uri(target.tracking_uri)
    log.debug("MLflow tracking store: %s", target.tracking_uri)
    return MlflowClient(target.tracking_uri, target.tracking_uri), target


def ensure_experiment(client: MlflowClient, name: str, target: TrackingTarget) -> str:
    """The id of experiment ``name``, created with an explicit artifact location if new."""
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    location = None
    if target.artifact_root is not None:
        location = Path(target.artifact_root).as_uri()
    log.info("creating MLflow experiment '%s'", name)
    return str(client.create_experiment(name, artifact_location=location))
