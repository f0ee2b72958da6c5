"""The benchmark studies ``evaluate`` carries into its evidence: read verbatim, or a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import SealauditError
from pipeline.evaluation.studies import CEILING, RESOLUTION, Study, read_study
from tests.study_world import ceiling_study


def test_a_given_study_is_carried_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks" / "results" / "detectability_ceiling.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(ceiling_study(), indent=2), encoding="utf-8")
    assert read_study(path, CEILING.name, CEILING.script) == ceiling_study()


def test_no_study_given_is_none() -> None:
    assert read_study(None, CEILING.name, CEILING.script) is None


@pytest.mark.parametrize("study", [RESOLUTION, CEILING], ids=lambda s: s.key)
def test_missing_study_is_one_line_naming_the_file_and_the_script(
    tmp_path: Path, study: Study
) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(SealauditError) as caught:
        read_study(path, study.name, study.script)
    message = str(caught.value)
    assert "\n" not in message
    assert message == f"{path}: {study.name} not found; run {study.script}"


def test_resolution_study_error_keeps_its_meaning(tmp_path: Path) -> None:
    path = tmp_path / "resolution_study.json"
    with pytest.raises(
        SealauditError, match="resolution study not found; run benchmarks/resolution_study.py"
    ):
        read_study(path, RESOLUTION.name, RESOLUTION.script)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_unreadable_study_is_one_line_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "detectability_ceiling.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SealauditError) as caught:
        read_study(path, CEILING.name, CEILING.script)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    assert message.endswith(f"rerun {CEILING.script}")
