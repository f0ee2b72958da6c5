"""dvc.yaml, params.yaml and the typed configs agree (STYLE.md: one concept, one home)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from pipeline.config import load_params_file, load_section, section_classes

ROOT = Path(__file__).resolve().parents[2]
DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())
PARAMS = load_params_file(ROOT / "params.yaml")
# Sections used by commands rather than by a DVC stage: they shape the data that data.dvc tracks.
DATASET_SECTIONS = {"synth", "import_ssi"}
STAGES = DVC["stages"]


def _stage_params(stage: dict) -> set[str]:
    names = set()
    for entry in stage.get("params", []):
        names.update(entry if isinstance(entry, dict) else [entry.split(".")[0]])
    return names


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_module_exists_and_is_a_dependency(name: str) -> None:
    stage = STAGES[name]
    module = re.search(r"python -m (pipeline\.\w+)", stage["cmd"]).group(1)
    path = module.replace(".", "/") + ".py"
    assert (ROOT / path).is_file(), f"{name}: {path} missing"
    assert path in stage["deps"], f"{name}: its own module {path} is not in deps"


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_outputs_live_outside_data(name: str) -> None:
    stage = STAGES[name]
    outputs = [next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", [])]
    outputs += [next(iter(m)) if isinstance(m, dict) else m for m in stage.get("metrics", [])]
    assert outputs, f"{name}: declares no output"
    for output in outputs:
        assert not output.startswith("data"), f"{name}: output {output} inside data/"
        assert "mlflow" not in output, f"{name}: MLflow state must never be a DVC output"


def test_every_params_section_is_typed_and_used() -> None:
    used = set().union(*(_stage_params(s) for s in STAGES.values())) | DATASET_SECTIONS
    assert set(PARAMS) == set(section_classes()), "params.yaml sections vs pipeline/config"
    assert set(PARAMS) == used, "a params section no stage or command reads is dead"


@pytest.mark.parametrize("section", sorted(PARAMS))
def test_params_yaml_values_match_dataclass_defaults(section: str) -> None:
    """params.yaml is the single source of defaults: the dataclass defaults must agree."""
    loaded = load_section(ROOT / "params.yaml", section)
    defaults = section_classes()[section]()
    for field in dataclasses.fields(loaded):
        assert getattr(loaded, field.name) == getattr(defaults, field.name), (
            f"{section}.{field.name}: params.yaml and the dataclass default disagree"
        )
