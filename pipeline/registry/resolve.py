"""A ``models:/`` URI to the registered version it names and the files that version packages.

``models:/NAME@ALIAS`` (``shadow``, ``champion``) or ``models:/NAME/VERSION``. Files are
fetched from the artifact store the registry points at (``mlartifacts/`` for the embedded
store, the server's store otherwise) and checked against the sha256 the ``register`` stage
recorded as the version's ``sealaudit.sha256.<name>`` tags (``pipeline.registry.lineage``), so a
file altered in the artifact store after registration is refused before it judges anything.

``sealaudit monitor --model`` uses ``registered_monitor``: the monitoring model's fitted monitor
(``calibrate/monitor.npz``, packaged as ``estimator``) and its autoencoder checkpoint.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pipeline.errors import SealauditError
from pipeline.monitoring.fitted import (
    MonitorError,
    ResolvedReference,
    check_checkpoint,
    load_monitor,
)
from pipeline.provenance import sha256_file
from pipeline.registry.lineage import TAG_PREFIX
from pipeline.registry.tracking import connect, resolve_target

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

log = logging.getLogger(__name__)

MODELS_URI = re.compile(r"models:/([^/@]+)(?:@([^/]+)|/([^/]+))")
MONITOR_FILES = ("estimator", "checkpoint")


class RegistryError(SealauditError):
    """A registry cannot be reached, lacks what a URI names, or holds altered files."""


@dataclass(frozen=True)
class ModelRef:
    """What a ``models:/`` URI names: ``alias`` or ``version`` (the other is None)."""

    uri: str
    name: str
    alias: str | None
    version: str | None


def parse_models_uri(uri: str) -> ModelRef:
    """``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.

    Raises:
        RegistryError: any other form.
    """
    match = MODELS_URI.fullmatch(uri)
    if match is None:
        raise RegistryError(
            f"{uri}: not a registered model URI; give models:/NAME@ALIAS "
            "(e.g. models:/sealaudit-monitoring@shadow) or models:/NAME/VERSION"
        )
    name, alias, version = match.groups()
    return ModelRef(uri, name, alias, version)


def open_registry() -> MlflowClient:
    """A client for the resolved store, refused when that store is absent or unreachable."""
    target = resolve_target()
    database = target.tracking_uri.removeprefix("sqlite:///")
    if target.embedded and not Path(database).is_file():
        raise RegistryError(
            f"no registry at {target.tracking_uri}: run `make demo` (it registers both modes) "
            "or set MLFLOW_TRACKING_URI to your tracking server"
        )
    client, _ = connect()
    try:
        client.search_registered_models(max_results=1)
    except Exception as error:  # connection, HTTP and database errors alike
        raise RegistryError(
            f"cannot reach the registry at {target.tracking_uri} ({_reason(error)}); start the "
            "tracking server or set MLFLOW_TRACKING_URI to one that runs"
        ) from error
    return client


def _reason(error: Exception) -> str:
    """The operating system's reason (``[Errno 111] Connection refused``) if MLflow's long
    message carries one, else its first line, at most 160 characters."""
    text = str(error).strip()
    found = re.search(r"\[Errno -?\d+\][^'\")\]]*", text)
    if found:
        return found.group(0).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:160]


def registry_hint(client: Any, uri: str) -> str | None:
    """One line saying what the registry lacks for a ``models:/NAME@ALIAS`` or
    ``models:/NAME/VERSION`` URI and what to do next; None when the registry has it."""
    match = MODELS_URI.fullmatch(uri)
    if match is None:
        return None
    name, alias, version = match.groups()
    versions = sorted(
        (str(v.version) for v in client.search_model_versions(f"name='{name}'")), key=int
    )
    if not versions:
        return (
            f"{uri}: no model named {name!r} is registered in {client.tracking_uri}; "
            "run `make demo` (it registers both modes) or set MLFLOW_TRACKING_URI"
        )
    listed = ", ".join(versions)
    if alias is not None and not _holds_alias(client, name, alias):
        return (
            f"{uri}: no version of {name} holds the alias {alias!r} yet (registered: {listed}); "
            f"promote one (`sealaudit promote {name} <version> --alias {alias} --signer NAME "
            f"--reason TEXT`) or pass --model models:/{name}/<version>"
        )
    if version is not None and version not in versions:
        return f"{uri}: {name} has no version {version} (registered: {listed})"
    return None


def _holds_alias(client: Any, name: str, alias: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return False
    return True


def find_version(client: MlflowClient, ref: ModelRef) -> ModelVersion:
    """The version ``ref`` names.

    Raises:
        RegistryError: no such model, alias or version (the message lists what exists).
    """
    hint = registry_hint(client, ref.uri)
    if hint is not None:
        raise RegistryError(hint)
    if ref.alias is not None:
        return client.get_model_version_by_alias(ref.name, ref.alias)
    return client.get_model_version(ref.name, str(ref.version))


def fetch_packaged(
    client: MlflowClient, version: ModelVersion, names: tuple[str, ...], dest: Path
) -> dict[str, Path]:
    """Download the packaged artifacts ``names`` of ``version`` into ``dest``, each checked
    against the sha256 registration recorded (``sealaudit.sha256.<name>``).

    Raises:
        RegistryError: the model lacks an artifact or its hash tag, or a file's hash differs.
    """
    import mlflow

    label = f"models:/{version.name}/{version.version}"
    root = client.get_model_version_download_uri(version.name, version.version).rstrip("/")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    mlmodel = mlflow.artifacts.download_artifacts(f"{root}/MLmodel", dst_path=str(dest))
    packaged = _pyfunc_artifacts(Path(mlmodel), label)
    files = {}
    for name in names:
        if name not in packaged:
            raise RegistryError(
                f"{label}: packages no {name!r} artifact (it has {sorted(packaged)}); "
                "is it the right model?"
            )
        local = mlflow.artifacts.download_artifacts(f"{root}/{packaged[name]}", dst_path=str(dest))
        files[name] = Path(local)
        _verify(label, name, Path(local), version.tags)
    return files


def _pyfunc_artifacts(mlmodel: Path, label: str) -> dict[str, str]:
    """Artifact name -> path inside the model folder, from the model's ``MLmodel`` file."""
    content = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
    artifacts = (content.get("flavors") or {}).get("python_function", {}).get("artifacts")
    if not isinstance(artifacts, dict):
        raise RegistryError(f"{label}: its MLmodel lists no python_function artifacts")
    return {name: str(entry["path"]) for name, entry in artifacts.items()}


def _verify(label: str, name: str, path: Path, tags: dict[str, str]) -> None:
    tag = f"{TAG_PREFIX}sha256.{name}"
    recorded = tags.get(tag)
    if not recorded:
        raise RegistryError(
            f"{label}: no {tag} tag, so its {path.name} cannot be verified; register it with "
            "`dvc repro register`"
        )
    actual = sha256_file(path)
    if actual != recorded:
        raise RegistryError(
            f"{label}: {path.name} in the artifact store has sha256 {actual[:12]}, not the "
            f"{recorded[:12]} recorded at registration ({tag}); refusing an altered model: "
            "restore the artifact store or register the model again (`dvc repro register`)"
        )
    log.debug("%s: %s verified (sha256 %s)", label, path.name, actual[:12])


def registered_monitor(uri: str, dest: Path) -> ResolvedReference:
    """The monitor and checkpoint a registered monitoring version packages, verified, fetched
    into ``dest``; history rows are stamped ``models:/NAME/VERSION``.

    Raises:
        RegistryError: bad URI, unreachable registry, unknown alias or version, a model that is
            not a monitoring model, or files that differ from what was registered.
        MonitorError: the packaged monitor is unusable or disagrees with its checkpoint.
    """
    ref = parse_models_uri(uri)
    client = open_registry()
    version = find_version(client, ref)
    label = f"models:/{version.name}/{version.version}"
    mode = version.tags.get(f"{TAG_PREFIX}mode")
    if mode != "monitoring":
        raise RegistryError(
            f"{uri}: {label} is registered as mode {mode!r}, not 'monitoring'; pass the "
            "monitoring model (e.g. models:/sealaudit-monitoring@shadow)"
        )
    files = fetch_packaged(client, version, MONITOR_FILES, Path(dest))
    monitor = load_monitor(files["estimator"])
    threshold_id = version.tags.get(f"{TAG_PREFIX}threshold_id")
    if monitor.threshold.threshold_id != threshold_id:
        raise MonitorError(
            f"{label}: its monitor decides with threshold {monitor.threshold.threshold_id}, the "
            f"version was registered with {threshold_id}; rerun `dvc repro calibrate register`"
        )
    check_checkpoint(monitor, files["checkpoint"])
    log.info("%s (%s): monitor and checkpoint verified", label, uri)
    return ResolvedReference(monitor, files["checkpoint"], label, uri)
