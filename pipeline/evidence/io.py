"""Reading and writing evidence documents through their dataclasses.

The byte format is the one every stage wrote before this package existed (``dvc.lock`` hashes
depend on it): ``json.dumps(..., indent=2, sort_keys=True)`` plus a trailing newline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pipeline.atomic import write_text_atomic
from pipeline.evidence.convert import EvidenceError, Where, from_dict, to_dict
from pipeline.evidence.table import BY_TYPE, DOCUMENTS, Document

D = TypeVar("D")


def document(name: str) -> Document:
    """The table row of a document name, or an error listing the known names."""
    if name not in DOCUMENTS:
        raise EvidenceError(f"{name!r}: not an evidence document; known: {sorted(DOCUMENTS)}")
    return DOCUMENTS[name]


def path(name: str, artifacts_dir: Path) -> Path:
    """Where document ``name`` lives under ``artifacts_dir``."""
    return Path(artifacts_dir) / document(name).path


def parse(cls: type[D], raw: Any, file: str | Path | None = None) -> D:
    """Document ``cls`` from its parsed JSON; unknown or missing keys name file, key, stage."""
    row = BY_TYPE[cls]
    return from_dict(cls, raw, Where(str(file or row.path), row.stage))


def read_file(cls: type[D], file: Path) -> D:
    """Read one document of type ``cls`` from ``file`` (a stage folder or a run's evidence/)."""
    stage = BY_TYPE[cls].stage
    if not Path(file).is_file():
        raise EvidenceError(f"{file}: evidence file missing; run `dvc repro {stage}`")
    try:
        raw = json.loads(Path(file).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise EvidenceError(
            f"{file}: not valid JSON ({error}); rerun `dvc repro {stage}`"
        ) from error
    return parse(cls, raw, file)


def read(name: str, artifacts_dir: Path) -> Any:
    """Document ``name`` (a key of ``DOCUMENTS``) from ``artifacts_dir``."""
    return read_file(document(name).type, path(name, artifacts_dir))


def dumps(instance: Any) -> str:
    """The exact text a stage writes for ``instance``."""
    row = BY_TYPE[type(instance)]
    content = to_dict(instance)
    return json.dumps(content, indent=2, sort_keys=True, allow_nan=row.allow_nan) + "\n"


def write_file(instance: Any, file: Path) -> Path:
    """Write ``instance`` to ``file`` (a stage's ``--out`` folder / its file name)."""
    Path(file).parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(Path(file), dumps(instance))


def write_to(instance: Any, out_dir: Path) -> Path:
    """Write ``instance`` under its file name into a stage's output folder."""
    return write_file(instance, Path(out_dir) / BY_TYPE[type(instance)].file_name)


def write(instance: Any, artifacts_dir: Path) -> Path:
    """Write ``instance`` at its table path under ``artifacts_dir``."""
    return write_file(instance, Path(artifacts_dir) / BY_TYPE[type(instance)].path)
