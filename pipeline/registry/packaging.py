"""Logging a detection mode as an MLflow model: signature, input example, pinned requirements.

The model carries the ``pipeline`` package itself (``code_paths``) so that a served model runs
the exact scoring code that produced its evidence, and pins the packages it imports from
``requirements.lock`` so that its environment can be rebuilt.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.errors import SealauditError
from pipeline.registry.pyfunc import MODEL_CLASSES, encode_png, images_frame

if TYPE_CHECKING:
    from mlflow.models import ModelSignature
    from mlflow.models.model import ModelInfo

log = logging.getLogger(__name__)

MODEL_NAME_IN_RUN = "model"
_PIN = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements(lock_path: Path, names: Iterable[str]) -> list[str]:
    """``name==version`` lines for ``names``, taken from a pip lock file.

    Raises:
        SealauditError: the lock file is missing or lacks one of the packages.
    """
    lock_path = Path(lock_path)
    if not lock_path.is_file():
        raise SealauditError(f"{lock_path}: lock file not found; pass --requirements")
    pins = {}
    for line in lock_path.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            pins[_normalise(match.group(1))] = f"{match.group(1)}=={match.group(2)}"
    wanted = [_normalise(name) for name in names]
    missing = [name for name in wanted if name not in pins]
    if missing:
        raise SealauditError(
            f"{lock_path}: no '==' pin for {missing}; pin them or edit register.requirements"
        )
    return [pins[name] for name in wanted]


def model_signature() -> ModelSignature:
    """Input (``image_path`` or PNG ``image``), output and the ``return_heatmap`` parameter."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    inputs = Schema(
        [
            ColSpec("string", "image_path", required=False),
            ColSpec("binary", "image", required=False),
        ]
    )
    outputs = Schema(
        [
            ColSpec("double", "score"),
            ColSpec("string", "decision"),
            ColSpec("string", "threshold_id"),
            ColSpec("double", "threshold"),
            ColSpec("binary", "heatmap", required=False),
        ]
    )
    params = ParamSchema([ParamSpec("return_heatmap", "boolean", False)])
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def example_image(height: int, width: int) -> np.ndarray:
    """A plain mid-grey 8-bit image at the working size (a valid request, no data leaked)."""
    return np.full((height, width), 128, dtype=np.uint8)


def stage_artifacts(
    workdir: Path, files: Mapping[str, Path], documents: Mapping[str, Any]
) -> dict[str, str]:
    """Copy ``files`` and write ``documents`` (JSON) into ``workdir``; artifact name -> path."""
    artifacts = {}
    for name, source in files.items():
        target = workdir / f"{name}{Path(source).suffix}"
        shutil.copyfile(source, target)
        artifacts[name] = str(target)
    for name, content in documents.items():
        target = workdir / f"{name}.json"
        target.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        artifacts[name] = str(target)
    return artifacts


def log_mode_model(
    mode: str,
    files: Mapping[str, Path],
    documents: Mapping[str, Any],
    requirements: list[str],
    working_size: tuple[int, int],
) -> ModelInfo:
    """Log ``mode``'s pyfunc model into the active run.

    Args:
        mode: ``inline`` or ``monitoring``.
        files: artifact name -> file (``checkpoint``, and ``estimator`` for monitoring).
        documents: artifact name -> JSON content (``threshold``, ``settings``).
        requirements: pinned pip requirements.
        working_size: (H, W) of the input example.

    Returns:
        MLflow's ``ModelInfo`` (``model_uri`` is what a version is registered from).
    """
    import mlflow

    import pipeline

    package_dir = Path(pipeline.__file__).resolve().parent
    example = images_frame([example_image(*working_size)])
    with tempfile.TemporaryDirectory(prefix=f"sealaudit-{mode}-") as workdir:
        artifacts = stage_artifacts(Path(workdir), files, documents)
        return mlflow.pyfunc.log_model(
            name=MODEL_NAME_IN_RUN,
            python_model=MODEL_CLASSES[mode](),
            artifacts=artifacts,
            code_paths=[str(package_dir)],
            signature=model_signature(),
            input_example=example,
            pip_requirements=requirements,
            metadata={"sealaudit_mode": mode},
        )


__all__ = ["encode_png", "log_mode_model", "model_signature", "pinned_requirements"]
