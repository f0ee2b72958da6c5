"""dvc.yaml, params.yaml and the typed configs agree (STYLE.md: one concept, one home)."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import pytest
import yaml

from pipeline.config import from_mapping, load_params_file, load_section, section_classes
from tests.params import merged

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


@pytest.mark.parametrize("section", sorted(section_classes()))
def test_params_yaml_gives_every_field_of_every_section(section: str) -> None:
    """params.yaml is the one source of values: the dataclasses have no defaults to fall back on."""
    loaded = load_section(ROOT / "params.yaml", section)
    assert all(not _has_default(field) for field in _all_fields(type(loaded))), section


@pytest.mark.parametrize("overlay", sorted((ROOT / "params").glob("*.yaml")), ids=lambda p: p.name)
def test_a_profile_overlay_names_known_keys_only(overlay: Path) -> None:
    """params/<profile>.yaml is applied over params.yaml (dvc exp run -S, or copying sections)."""
    changes, classes = load_params_file(overlay), section_classes()
    assert changes and set(changes) <= set(classes), f"{overlay.name}: unknown section(s)"
    applied = merged(PARAMS, changes)
    for section in changes:  # an unknown or mistyped key, at any depth, is a ParamsError
        from_mapping(classes[section], applied[section], where=f"{overlay.name}:{section}")


@pytest.mark.parametrize("name", ["train", "fit_monitor", "evaluate"])
def test_torch_stages_declare_the_shared_thread_count(name: str) -> None:
    assert "base.torch_threads" in STAGES[name]["params"], (
        f"{name}: base.torch_threads not in params"
    )


def _all_fields(cls: type) -> list[dataclasses.Field]:
    hints = typing.get_type_hints(cls)
    fields = list(dataclasses.fields(cls))
    for field in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[field.name]):
            fields += _all_fields(hints[field.name])
    return fields


def _has_default(field: dataclasses.Field) -> bool:
    return not (
        field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    )
