"""The governance gate: every stage after validate_data refuses data that failed governance or
that governance did not judge, with one line naming governance.json and the fix, before it
reads anything else or writes any output."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from pipeline import (
    assess_capability,
    calibrate,
    evaluate,
    evidence,
    fit_monitor,
    register,
    render_dossier,
    train,
)
from pipeline.evidence import Governance
from pipeline.evidence.gate import GovernanceGateError, require_passed_governance
from pipeline.provenance import dataset_md5
from tests.worlds import write_governance, write_tiny_dataset

Main = Callable[[Sequence[str] | None], int]


def _with_data(main: Main, *flags: str) -> Callable[[Path, Path, Path], int]:
    """A stage that takes ``--data`` and ``--governance`` (other paths never read)."""

    def call(root: Path, data: Path, governance: Path) -> int:
        args = [arg for flag in flags for arg in (flag, str(root / flag.strip("-")))]
        return main(["--data", str(data), "--governance", str(governance), *args])

    return call


def _register(root: Path, data: Path, _governance: Path) -> int:
    args = ["--evidence", str(root / "artifacts"), "--params", str(root / "params.yaml")]
    args += ["--lock", str(root / "dvc.lock"), "--requirements", str(root / "req.lock")]
    return register.main([*args, "--out", str(root / "out"), "--data", str(data)])


def _render_dossier(root: Path, data: Path, _governance: Path) -> int:
    args = ["--evidence-dir", str(root / "artifacts"), "--params", str(root / "params.yaml")]
    for flag in ("--validation", "--templates", "--dataset-info", "--data-dvc", "--dvc-lock"):
        args += [flag, str(root / flag.strip("-"))]
    return render_dossier.main([*args, "--out", str(root / "out"), "--data", str(data)])


STAGES = {
    "train": _with_data(train.main, "--splits", "--params", "--out"),
    "fit_monitor": _with_data(fit_monitor.main, "--splits", "--model", "--params", "--out"),
    "calibrate": _with_data(calibrate.main, "--splits", "--models", "--params", "--out"),
    "evaluate": _with_data(
        evaluate.main, "--splits", "--models", "--calibration", "--params", "--out"
    ),
    "assess_capability": _with_data(
        assess_capability.main,
        *("--challenge", "--splits", "--protocol", "--models", "--calibration", "--params"),
        "--out",
    ),
    "register": _register,
    "render_dossier": _render_dossier,
}


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """A dataset and, where register and render_dossier read it, its governance record."""
    data = write_tiny_dataset(tmp_path / "data", n_normal_events=2, n_defect_events=1)
    return {"root": tmp_path, "data": data, "evidence": tmp_path / "artifacts" / "validate_data"}


def _refused(stage: str, world: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> str:
    governance = world["evidence"] / "governance.json"
    assert STAGES[stage](world["root"], world["data"], governance) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert not (world["root"] / "out").exists(), f"{stage} wrote output past the gate"
    assert err[-1].startswith(f"{stage}: error: {governance}: ")
    return err[-1]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_stage_refuses_data_that_failed_governance(
    stage: str, world: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    write_governance(world["evidence"], world["data"], success=False)
    line = _refused(stage, world, capsys)
    judged = dataset_md5(world["data"])[:12]
    assert f"governance FAILED for data {judged} (1 critical failure(s), see " in line
    assert line.endswith("; fix the data and rerun `dvc repro validate_data`")


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_stage_refuses_data_that_governance_did_not_judge(
    stage: str, world: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    write_governance(world["evidence"], world["data"])
    judged = dataset_md5(world["data"])
    # an edit after validate_data ran, one the manifest does not see
    (world["data"] / "notes.txt").write_text("relabelled by hand\n", encoding="utf-8")
    current = dataset_md5(world["data"])
    line = _refused(stage, world, capsys)
    assert f"governance was judged on data {judged[:12]}, not the current data {current[:12]}" in (
        line
    )
    assert line.endswith("; rerun `dvc repro validate_data`")


def test_passed_governance_on_the_same_data_lets_the_stage_run(world: dict[str, Path]) -> None:
    path = write_governance(world["evidence"], world["data"])
    governance = require_passed_governance(path, world["data"])
    assert governance.success and governance.provenance.data_md5 == dataset_md5(world["data"])


def test_governance_without_a_dataset_version_names_the_fix(world: dict[str, Path]) -> None:
    path = write_governance(world["evidence"], world["data"])
    document = evidence.read_file(Governance, path)
    provenance = dataclasses.replace(document.provenance, data_md5="untracked")
    evidence.write_file(dataclasses.replace(document, provenance=provenance), path)
    with pytest.raises(GovernanceGateError, match="run `dvc add data`, commit data.dvc and"):
        require_passed_governance(path, world["data"])


def test_missing_governance_says_which_stage_to_run(world: dict[str, Path]) -> None:
    with pytest.raises(evidence.EvidenceError, match="run `dvc repro validate_data`"):
        require_passed_governance(world["evidence"] / "governance.json", world["data"])
