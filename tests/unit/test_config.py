"""Typed params: unknown keys, wrong types and bad values are errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import ParamsError, load_params_file, load_section


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


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
    with pytest.raises(ParamsError, match="missing"):
        load_section(_write(tmp_path, "synth: {}\n"), "prepare")
    with pytest.raises(ParamsError, match="not found"):
        load_section(tmp_path / "absent.yaml", "prepare")


def test_int_accepted_for_float_and_tuple_from_list(tmp_path: Path) -> None:
    path = _write(tmp_path, "synth:\n  subtle_share: 0\n  defect_types: [void, burn]\n")
    params = load_section(path, "synth")
    assert params.subtle_share == 0.0 and params.defect_types == ("void", "burn")


def test_a_misspelled_section_is_an_error_naming_it_and_the_known_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, "prepare: {}\ntrian:\n  seed: 1\n")
    with pytest.raises(ParamsError, match=r"unknown top-level section\(s\) \['trian'\].*'train'"):
        load_section(path, "prepare")


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_a_non_finite_float_is_a_one_line_error_naming_the_key(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, f"train:\n  fit:\n    learning_rate: {value}\n")
    with pytest.raises(ParamsError, match=r"train\.fit\.learning_rate: .* not a finite") as error:
        load_section(path, "train")
    assert "\n" not in str(error.value)


def test_every_params_file_of_the_repository_holds_known_sections_only() -> None:
    root = Path(__file__).resolve().parents[2]
    for path in [root / "params.yaml", *sorted((root / "params").glob("*.yaml"))]:
        for section in load_params_file(path):
            load_section(path, section)
