"""The assess_capability stage on a tiny world: real train and calibrate stages, a real (tiny)
challenge set from the generator, the repository's protocol; hit/miss counted per capture event."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from pipeline import assess_capability, calibrate, train
from pipeline.data.challenge import generate_challenge
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import read_splits, write_splits
from pipeline.registry.protocol import load_protocol
from tests.params import section, tiny_train, write_params
from tests.worlds import governance_args, write_tiny_dataset

PROTOCOL = Path(__file__).resolve().parents[2] / "validation" / "protocol.yaml"
PARAMS = (
    tiny_train("[attention_ae]")
    + """\
calibrate:
  batch_size: 8
assess_capability:
  modes: [inline]
  test_set: challenge
  batch_size: 8
  chunk_images: 16
"""
)


def _assign(data: Path) -> dict[str, str]:
    assignment = {}
    for row in read_manifest(data):
        event = int(row.source_file.split(":")[-1])
        split = ("val", "val") if row.label else ("train", "train", "val", "test")
        assignment[row.image_id] = split[event % len(split)]
    return assignment


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("capability")
    data = write_tiny_dataset(root / "data", n_normal_events=12, n_defect_events=6)
    write_splits(_assign(data), root / "splits.csv")
    write_params(root / "params.yaml", PARAMS)
    common = ["--data", str(data), "--splits", str(root / "splits.csv")]
    common += ["--params", str(root / "params.yaml"), *governance_args(data)]
    assert train.main([*common, "--out", str(root / "train")]) == 0
    models = ["--models", str(root / "train")]
    assert calibrate.main([*common, *models, "--out", str(root / "calibrate")]) == 0
    synth = section("synth", image_height=64, image_width=384)
    tiny = section("challenge", n_normal_events=3, events_per_requirement=2)
    generate_challenge(synth, tiny, root / "challenge")
    return {"root": root, "data": data, "challenge": root / "challenge"}


def _params(world: dict[str, Path], test_set: str) -> Path:
    path = world["root"] / f"params_{test_set}.yaml"
    write_params(path, PARAMS.replace("test_set: challenge", f"test_set: {test_set}"))
    return path


def _run(
    world: dict[str, Path], out: Path, challenge: Path | None = None, test_set: str = "challenge"
) -> int:
    root = world["root"]
    return assess_capability.main(
        [
            "--challenge", str(challenge or world["challenge"]),
            "--data", str(world["data"]),
            "--splits", str(root / "splits.csv"),
            "--protocol", str(PROTOCOL),
            "--models", str(root / "train"),
            "--calibration", str(root / "calibrate"),
            "--params", str(_params(world, test_set)),
            "--out", str(out),
            *governance_args(world["data"]),
        ]
    )  # fmt: skip


def test_capability_per_requirement_counts_capture_events_not_views(
    world: dict[str, Path],
) -> None:
    out = world["root"] / "capability"
    assert _run(world, out) == 0
    doc = json.loads((out / "capability.json").read_text())
    protocol = load_protocol(PROTOCOL)
    assert doc["protocol"]["sha256"] == protocol.sha256
    assert doc["modes"]["monitoring"] is None
    inline = doc["modes"]["inline"]
    assert [row["id"] for row in inline["requirements"]] == [r.id for r in protocol.requirements]
    rows = read_manifest(world["challenge"])
    assert doc["dataset"]["n_images"] == len(rows) == 2 * doc["dataset"]["n_events"]
    for row in inline["requirements"]:
        assert row["n_events"] == 2  # two events, four images: twin views are one trial
        assert row["method"] in ("glm", "success_run", "not_demonstrated")
        assert row["passed"] is (
            row["a90_95"] is not None and row["a90_95"] <= row["required_a90_95"]
        )
        assert (out / "pod" / "inline" / row["figure"]).read_bytes()[:4] == b"\x89PNG"
    assert inline["false_reject"]["n_events"] == 3
    with (out / "events_inline.csv").open() as handle:
        events = list(csv.DictReader(handle))
    assert len(events) == doc["dataset"]["n_events"]
    hits = sum(int(e["rejected"]) for e in events if e["label"] == "1")
    assert hits == sum(row["n_hits"] for row in inline["requirements"])


def test_same_inputs_give_the_same_capability(world: dict[str, Path]) -> None:
    first, second = world["root"] / "capability", world["root"] / "capability_again"
    if not (first / "capability.json").is_file():
        assert _run(world, first) == 0
    assert _run(world, second) == 0
    assert (first / "capability.json").read_bytes() == (second / "capability.json").read_bytes()


def test_a_challenge_set_sharing_images_with_the_data_is_refused(
    world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaked = tmp_path / "challenge"
    shutil.copytree(world["data"], leaked)
    assert _run(world, tmp_path / "out", challenge=leaked) == 2
    error = capsys.readouterr().err
    assert "shares" in error and "sealaudit data challenge --force" in error
    assert not (tmp_path / "out" / "capability.json").exists()


def test_imported_data_is_measured_on_its_test_split(
    world: dict[str, Path], tmp_path: Path
) -> None:
    # the tiny world's dataset is not generated (source "tiny-test"), like an SSI import
    assert _run(world, tmp_path / "out", test_set="auto") == 0
    doc = json.loads((tmp_path / "out" / "capability.json").read_text())
    assert doc["dataset"]["kind"] == "test_split" and doc["dataset"]["path"] == str(world["data"])
    splits = read_splits(world["root"] / "splits.csv")
    rows = read_manifest(world["data"])
    test_events = {r.capture_event for r in rows if splits[r.image_id] == "test"}
    assert doc["dataset"]["n_events"] == len(test_events)
    inline = doc["modes"]["inline"]
    assert all(row["method"] == "not_demonstrated" for row in inline["requirements"])
