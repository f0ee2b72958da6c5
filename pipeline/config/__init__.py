"""Typed, frozen parameters: one dataclass per ``params.yaml`` section.

Each section lives in its own module under ``pipeline/config/`` that defines ``SECTION`` (the
key in ``params.yaml``) and ``Params`` (a frozen dataclass). Modules are discovered, so adding a
stage never edits a shared registry.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import yaml

from pipeline.config.base import ParamsError, from_mapping

__all__ = ["ParamsError", "from_mapping", "load_params_file", "load_section", "section_classes"]


def section_classes() -> dict[str, type]:
    """Map every known ``params.yaml`` section name to its dataclass."""
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[module.SECTION] = module.Params
    return found


def load_params_file(path: str | Path) -> dict[str, Any]:
    """Read a params YAML file into a mapping, with a clear error when it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found; run from the repository root")
    with path.open(encoding="utf-8") as handle:
        content = yaml.safe_load(handle) or {}
    if not isinstance(content, dict):
        raise ParamsError(f"{path}: top level must be a mapping of sections")
    return content


def load_section(path: str | Path, section: str) -> Any:
    """Load and validate one section of a params file into its frozen dataclass."""
    classes = section_classes()
    if section not in classes:
        raise ParamsError(f"unknown params section '{section}'; known: {sorted(classes)}")
    content = load_params_file(path)
    unknown = sorted(str(key) for key in set(content) - set(classes))
    if unknown:
        raise ParamsError(
            f"{path}: unknown top-level section(s) {unknown}; known: {sorted(classes)} "
            "(a misspelled section would be silently ignored: rename or remove it)"
        )
    if section not in content:
        raise ParamsError(f"{path}: section '{section}' is missing; add it (see params.yaml)")
    return from_mapping(classes[section], content[section], where=f"{path}:{section}")
