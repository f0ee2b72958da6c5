"""The evidence contract: every document of the fixture round-trips through its dataclass
byte for byte, and a renamed key is an error naming the file, the key and the stage."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from pipeline import evidence
from pipeline.evidence.io import dumps
from tests.dossier_world import FIXTURE, ROOT


@pytest.mark.parametrize("name", sorted(evidence.DOCUMENTS))
def test_each_fixture_document_round_trips_exactly(name: str) -> None:
    document = evidence.read(name, FIXTURE)
    assert isinstance(document, evidence.DOCUMENTS[name].type)
    assert dumps(document) == (FIXTURE / evidence.DOCUMENTS[name].path).read_text()


@pytest.mark.parametrize("name", sorted(evidence.DOCUMENTS))
def test_write_gives_the_bytes_read(name: str, tmp_path: Path) -> None:
    written = evidence.write(evidence.read(name, FIXTURE), tmp_path)
    assert written == tmp_path / evidence.DOCUMENTS[name].path
    assert written.read_bytes() == (FIXTURE / evidence.DOCUMENTS[name].path).read_bytes()


@pytest.mark.parametrize(
    ("name", "key", "renamed"),
    [
        ("evaluation", "modes.inline.operating_threshold_id", "operating_id"),
        ("train_summary", "models", "trained"),
        ("governance", "expectations[0].requirement_id", "requirement"),
        ("split_summary", "strategy", "split_strategy"),
    ],
)
def test_a_renamed_key_fails_naming_the_key(
    name: str, key: str, renamed: str, tmp_path: Path
) -> None:
    row = evidence.DOCUMENTS[name]
    target = tmp_path / row.path
    target.parent.mkdir(parents=True)
    shutil.copyfile(FIXTURE / row.path, target)
    content = json.loads(target.read_text())
    parent, last = _walk(content, key)
    parent[renamed] = parent.pop(last)
    target.write_text(json.dumps(content))
    with pytest.raises(evidence.EvidenceError) as error:
        evidence.read(name, tmp_path)
    message = str(error.value)
    assert str(target) in message and f"`{row.stage}`" in message
    assert repr(key.rsplit(".", 1)[0] + "." + renamed if "." in key else renamed) in message


def test_a_missing_key_fails_naming_it() -> None:
    row = evidence.DOCUMENTS["calibration"]
    content = json.loads((FIXTURE / row.path).read_text())
    del content["modes"]["monitoring"]["operating_threshold_id"]
    match = "'modes.monitoring.operating_threshold_id' missing; written by stage `calibrate`"
    with pytest.raises(evidence.EvidenceError, match=match):
        evidence.parse(evidence.Calibration, content)


def test_the_calibrated_operating_thresholds_are_the_evaluated_ones() -> None:
    """calibrate fits, evaluate measures: the fixture's two documents name the same ids."""
    calibration = evidence.read("calibration", FIXTURE)
    thresholds = evidence.read("thresholds", FIXTURE)
    evaluation = evidence.read("evaluation", FIXTURE)
    for mode in ("inline", "monitoring"):
        wanted = calibration.mode(mode).operating_threshold_id
        assert evaluation.modes.of(mode).operating_threshold_id == wanted
        assert evidence.operating_threshold(thresholds.of(mode), wanted).threshold_id == wanted


def test_the_operating_threshold_is_the_one_the_mode_names() -> None:
    mode = evidence.read("evaluation", FIXTURE).modes.inline
    assert mode.operating().threshold_id == mode.operating_threshold_id
    with pytest.raises(evidence.EvidenceError, match="not among the fitted thresholds"):
        evidence.operating_threshold(mode.thresholds, "nonexistent")


def _walk(content: dict, key: str) -> tuple[dict, str]:
    *parents, last = key.split(".")
    for part in parents:
        name, _, index = part.partition("[")
        content = content[name] if not index else content[name][int(index[:-1])]
    name, _, index = last.partition("[")
    if index:
        return content[name][int(index.split("]")[0])], last.split(".")[-1]
    return content, last


def _with_written_studies() -> dict:
    """The fixture's evaluation.json carrying the studies benchmarks/ last wrote."""
    content = json.loads((FIXTURE / "evaluate" / "evaluation.json").read_text())
    for key in ("resolution_study", "detectability_ceiling"):
        content[key] = json.loads((ROOT / "benchmarks" / "results" / f"{key}.json").read_text())
    return content


def test_the_written_benchmark_studies_round_trip_in_evaluation_json() -> None:
    content = _with_written_studies()
    document = evidence.parse(evidence.Evaluation, content)
    assert document.resolution_study is not None and document.detectability_ceiling is not None
    assert dumps(document) == json.dumps(content, indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize(
    ("key", "renamed"),
    [
        ("resolution_study.results[1].val_auroc", "auroc"),
        ("detectability_ceiling.inline_detector.checkpoint_sha256", "sha256"),
        ("detectability_ceiling.sizes[0].runs[0].test.per_type_auroc", "per_type"),
    ],
)
def test_a_renamed_study_key_fails_naming_it(key: str, renamed: str) -> None:
    content = _with_written_studies()
    parent, last = _walk(content, key)
    parent[renamed] = parent.pop(last)
    expected = re.escape(f"key '{key.rsplit('.', 1)[0]}.{renamed}' unknown")
    with pytest.raises(evidence.EvidenceError, match=expected):
        evidence.parse(evidence.Evaluation, content)
