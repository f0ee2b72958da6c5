"""Provenance stamped into every evidence file: code, data and environment identity.

Each figure in a dossier must trace to a git commit, a DVC data hash and an MLflow run; this
module supplies the first two (and the environment), read once per stage.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import subprocess
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import SealauditError

TRACKED_PACKAGES = (
    "sealaudit",
    "torch",
    "numpy",
    "scikit-learn",
    "scipy",
    "pytorch-msssim",
    "great-expectations",
    "mlflow",
    "dvc",
    "jinja2",
    "weasyprint",
    "pillow",
)


# What the pipeline's results are made from. ``dvc.lock`` is not among them: ``dvc repro``
# rewrites it after every stage, so counting it made every later stage of a first run "dirty",
# and stamping HEAD made a committed lock stale the moment it was committed (its own commit
# changed every evidence file's bytes). README, docs and tests change no result either.
SOURCE_PATHS = (
    "pipeline",
    "params.yaml",
    "dvc.yaml",
    "data.dvc",
    "challenge.dvc",
    "validation",
    "reports/templates",
    "benchmarks/results",
    "pyproject.toml",
    "requirements.lock",
)


def git_state(root: Path = Path()) -> dict[str, Any]:
    """The sources' identity: ``git_commit`` is the newest commit that changed a path of
    ``SOURCE_PATHS``, ``git_dirty`` whether the work tree's sources differ from it (tracked
    files only; "unknown"/None outside git).

    A commit that only records ``dvc.lock`` (or edits the README) leaves both unchanged, so
    a fresh clone of it reproduces the committed lock byte for byte.
    """
    try:
        commit = _git(root, "log", "-1", "--format=%H", "--", *SOURCE_PATHS)
        dirty = bool(
            _git(root, "status", "--porcelain", "--untracked-files=no", "--", *SOURCE_PATHS)
        )
        boundary = _shallow_boundary(root)
    except (OSError, subprocess.CalledProcessError):
        return {"git_commit": "unknown", "git_dirty": None}
    if commit in boundary:
        # A shallow clone's oldest commit looks as if it changed every file: it cannot name
        # the source commit, so say so rather than stamp a wrong one.
        commit = SHALLOW_UNKNOWN
    return {"git_commit": commit or "unknown", "git_dirty": dirty}


SHALLOW_UNKNOWN = "unknown (shallow clone: fetch the history to name the source commit)"


def _shallow_boundary(root: Path) -> set[str]:
    """Commits at the edge of a shallow clone's history (empty for a full clone)."""
    if _git(root, "rev-parse", "--is-shallow-repository") != "true":
        return set()
    shallow = Path(_git(root, "rev-parse", "--git-path", "shallow"))
    shallow = shallow if shallow.is_absolute() else Path(root) / shallow
    return set(shallow.read_text(encoding="utf-8").split()) if shallow.is_file() else set()


def _git(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True, timeout=30
    )
    return result.stdout.strip()


def data_md5(dvc_file: Path = Path("data.dvc")) -> str:
    """The dataset version: the md5 that ``data.dvc`` records ("untracked" without it)."""
    if not dvc_file.is_file():
        return "untracked"
    content = yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}
    outs = content.get("outs") or [{}]
    return str(outs[0].get("md5", "untracked"))


def dataset_md5(data_dir: Path) -> str:
    """DVC's md5 of a dataset folder, computed from its files: the value ``dvc add`` records.

    The same hash as :func:`data_md5` (``"<hex>.dir"``, DVC's own hashing, ``.dvcignore``
    honoured), but of the files on disk, so it sees an edit that ``data.dvc`` has not recorded.
    """
    from dvc.ignore import DvcIgnoreFilter
    from dvc_data.hashfile.build import IgnoreInCollectedDirError, build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_objects.fs.local import LocalFileSystem
    from dvc_objects.fs.memory import MemoryFileSystem

    folder = Path(data_dir).resolve()
    if not folder.is_dir():
        raise SealauditError(
            f"{data_dir}: dataset folder missing; `dvc pull` it or create it "
            "(`sealaudit data synth`)"
        )
    fs = LocalFileSystem()
    root = next((p for p in folder.parents if (p / ".dvc").is_dir()), None)
    ignore = DvcIgnoreFilter(fs, str(root)) if root is not None else None
    # dry_run: hash only; the object database is never written
    db = HashFileDB(MemoryFileSystem(), "/")
    try:
        _, _, tree = build(db, str(folder), fs, "md5", dry_run=True, ignore=ignore)
    except (OSError, IgnoreInCollectedDirError) as error:
        raise SealauditError(
            f"{data_dir}: DVC cannot hash the dataset folder ({error}); fix the folder, as "
            "`dvc add` would refuse it too"
        ) from error
    return str(tree.hash_info.value)


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages whose behaviour shapes the results."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def stage_provenance(stage: str, params: Any, seed: int | None = None) -> dict[str, Any]:
    """The ``provenance`` object every evidence file carries (docs/architecture.md)."""
    is_instance = dataclasses.is_dataclass(params) and not isinstance(params, type)
    section = dataclasses.asdict(params) if is_instance else params
    return {
        "stage": stage,
        **git_state(),
        "data_md5": data_md5(),
        "params": section,
        "package_versions": package_versions(),
        "seed": seed,
    }


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks (the one file fingerprint)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
