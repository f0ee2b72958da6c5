"""The benchmark studies ``evaluate`` carries verbatim into ``evaluation.json``.

Each study is written by a script under ``benchmarks/`` that is run by hand (minutes to an
hour, too long for every ``dvc repro``); carrying its JSON into the evaluation evidence lets the
dossier report it without recomputing anything, and the dossier names the script as the fix
when a study is absent.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import SealauditError


@dataclass(frozen=True)
class Study:
    """One benchmark study: its key in ``evaluation.json``, its name and the script writing it."""

    key: str
    name: str
    script: str


RESOLUTION = Study("resolution_study", "resolution study", "benchmarks/resolution_study.py")
CEILING = Study(
    "detectability_ceiling", "detectability ceiling study", "benchmarks/detectability_ceiling.py"
)
LATENCY = Study("inline_latency", "inline latency benchmark", "benchmarks/inline_latency.py")


def hardware() -> dict[str, Any]:
    """The machine a benchmark measured on, as its evidence records it."""
    import torch

    return {
        "cpu": _cpu_model() or platform.processor() or platform.machine(),
        "logical_cpus": os.cpu_count(),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "torch_threads": torch.get_num_threads(),
    }


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return ""
    for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return ""


def read_study(path: Path | None, name: str, script: str) -> dict[str, Any] | None:
    """A benchmark study's JSON evidence (carried verbatim), or None when not given.

    Args:
        path: the study's JSON file, or None.
        name: what the study is, for the error (``resolution study``).
        script: the benchmark that writes the file, named in the error as the fix.

    Raises:
        SealauditError: one line naming the file and the script, when the file is missing, is
            not valid JSON or is not a JSON object.
    """
    if path is None:
        return None
    if not path.is_file():
        raise SealauditError(f"{path}: {name} not found; run {script}")
    try:
        study = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SealauditError(
            f"{path}: {name} is not valid JSON ({error}); rerun {script}"
        ) from error
    if not isinstance(study, dict):
        raise SealauditError(f"{path}: {name} is not a JSON object; rerun {script}")
    return study
