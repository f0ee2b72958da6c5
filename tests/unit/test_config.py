"""Typed params: unknown keys, wrong types and bad values are errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.config import ParamsError, load_params_file, load_section
from tests.params import PARAMS_FILE, write_params


def _write(tmp_path: Path, overlay: str) -> Path:
    """The repository's params.yaml with ``overlay`` (YAML) merged in."""
    return write_params(tmp_path / "params.yaml", overlay)


def test_unknown_key_is_rejected_with_its_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "prepare:\n  sead: 1\n")
    with pytest.raises(ParamsError, match="sead"):
        load_section(path, "prepare")


def test_wrong_type_names_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "prepare:\n  test_per_class: many\n")
    with pytest.raises(ParamsError, match="prepare.test_per_class"):
        load_section(path, "prepare")


def test_invalid_value_runs_validate(tmp_path: Path) -> None:
    path = _write(tmp_path, "prepare:\n  val_defect_share: 1.5\n")
    with pytest.raises(ParamsError, match="val_defect_share"):
        load_section(path, "prepare")


def test_literal_choice_is_enforced(tmp_path: Path) -> None:
    path = _write(tmp_path, "prepare:\n  strategy: shuffled\n")
    with pytest.raises(ParamsError, match="strategy"):
        load_section(path, "prepare")


def test_missing_section_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "partial.yaml").write_text("synth: {}\n")
    with pytest.raises(ParamsError, match="section 'prepare' is missing"):
        load_section(tmp_path / "partial.yaml", "prepare")
    with pytest.raises(ParamsError, match="not found"):
        load_section(tmp_path / "absent.yaml", "prepare")


def test_int_accepted_for_float_and_tuple_from_list(tmp_path: Path) -> None:
    path = _write(tmp_path, "synth:\n  subtle_share: 0\n  defect_types: [void, burn]\n")
    params = load_section(path, "synth")
    assert params.subtle_share == 0.0 and params.defect_types == ("void", "burn")


def test_a_misspelled_section_is_an_error_naming_it_and_the_known_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, "trian:\n  seed: 1\n")
    with pytest.raises(ParamsError, match=r"unknown top-level section\(s\) \['trian'\].*'train'"):
        load_section(path, "prepare")


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_a_non_finite_float_is_a_one_line_error_naming_the_key(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, f"train:\n  fit:\n    learning_rate: {value}\n")
    with pytest.raises(ParamsError, match=r"train\.fit\.learning_rate: .* not a finite") as error:
        load_section(path, "train")
    assert "\n" not in str(error.value)


def test_a_missing_key_is_an_error_naming_it_and_params_yaml(tmp_path: Path) -> None:
    content = load_params_file(PARAMS_FILE)
    del content["train"]["fit"]["patience"]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(content))
    with pytest.raises(ParamsError, match=r"train\.fit\.patience: missing; add it to params.yaml"):
        load_section(path, "train")


def test_the_shared_section_is_typed_and_validated(tmp_path: Path) -> None:
    assert load_section(PARAMS_FILE, "base").torch_threads >= 1
    with pytest.raises(ParamsError, match="torch_threads must be >= 1"):
        load_section(_write(tmp_path, "base:\n  torch_threads: 0\n"), "base")
