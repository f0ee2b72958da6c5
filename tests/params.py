"""The repository's ``params.yaml`` as the one source of params in tests.

The ``Params`` dataclasses have no defaults: a test takes a section from ``params.yaml`` and
overrides what it needs (``section``), or writes a whole params file with some keys changed
(``write_params``). Overrides are nested mappings merged key by key, so
``section("train", fit={"epochs": 1})`` keeps every other ``fit`` value.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import from_mapping, load_params_file, section_classes

ROOT = Path(__file__).resolve().parents[1]
PARAMS_FILE = ROOT / "params.yaml"


def merged(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overlay`` merged in: mappings key by key, anything else replaced."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def raw_section(name: str, **overrides: Any) -> dict[str, Any]:
    """Section ``name`` of ``params.yaml`` as a plain mapping, with ``overrides`` merged in."""
    return merged(load_params_file(PARAMS_FILE)[name], overrides)


def section(name: str, **overrides: Any) -> Any:
    """Section ``name`` of ``params.yaml`` as its validated dataclass, with ``overrides``."""
    return from_mapping(section_classes()[name], raw_section(name, **overrides), f"test:{name}")


def write_params(path: Path, overlay: str | dict[str, Any] = "") -> Path:
    """Write ``params.yaml`` to ``path`` with ``overlay`` (YAML text or a mapping) merged in."""
    changes = yaml.safe_load(overlay) if isinstance(overlay, str) else overlay
    content = merged(load_params_file(PARAMS_FILE), changes or {})
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return path


def tiny_train(models: str = "[attention_ae, plain_ae]") -> str:
    """The ``base`` and ``train`` sections of a tiny world (one epoch on 32 x 128 images), as
    YAML text that a test extends with its own sections."""
    return f"""\
base:
  torch_threads: 1
train:
  seed: 11
  models: {models}
  working_height: 32
  working_width: 128
  model:
    widths: [8, 16, 32]
    skip_levels: [2]
  fit:
    epochs: 1
    batch_size: 4
    ssim_window: 5
"""
