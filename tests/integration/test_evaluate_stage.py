"""The calibrate and evaluate stages on a tiny world: real train (and fit_monitor) stages, real
evidence, checked for consistency: thresholds fitted by calibrate on val, measured on test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import calibrate, evaluate, fit_monitor, train
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import read_splits, write_splits
from pipeline.monitoring.fitted import load_monitor
from tests.params import tiny_train, write_params
from tests.worlds import governance_args, write_tiny_dataset

PARAMS = (
    tiny_train()
    + """\
fit_monitor:
  layer: enc2
  n_features_kept: 50
  n_examples: 1
  batch_size: 8
  ablation:
    layers: [enc2]
    n_features_kept: [50]
    covariances: [ledoit_wolf]
calibrate:
  batch_size: 8
evaluate:
  n_boot: 200
  gallery_per_class: 1
  batch_size: 8
  robustness:
    brightness: [0.2]
    noise: [0.02]
    blur: [1.0]
    shift: [0.03]
    max_images: 8
"""
)
N_TEST, N_VAL = (6, 8), (6, 4)  # (normal, defective)


def _assign(data: Path) -> dict[str, str]:
    """Normal events: half train, a quarter val, a quarter test; defect events: 1/3 val."""
    assignment = {}
    for row in read_manifest(data):
        event = int(row.source_file.split(":")[-1])
        if row.label:
            assignment[row.image_id] = "val" if event % 3 == 0 else "test"
        else:
            assignment[row.image_id] = ("train", "train", "val", "test")[event % 4]
    return assignment


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("evaluate")
    data = write_tiny_dataset(root / "data", n_normal_events=12, n_defect_events=6)
    write_splits(_assign(data), root / "splits.csv")
    write_params(root / "params.yaml", PARAMS)
    paths = {"root": root, "data": data, "splits": root / "splits.csv"}
    paths["params"], paths["models"] = root / "params.yaml", root / "train"
    assert train.main([*_args(paths), "--out", str(paths["models"])]) == 0
    models = ["--models", str(paths["models"])]
    assert calibrate.main([*_args(paths), *models, "--out", str(root / "calibrate")]) == 0
    calibration = ["--calibration", str(root / "calibrate")]
    assert evaluate.main([*_args(paths), *models, *calibration, "--out", str(root / "eval")]) == 0
    return paths


def _args(paths: dict[str, Path]) -> list[str]:
    return [
        "--data",
        str(paths["data"]),
        "--splits",
        str(paths["splits"]),
        "--params",
        str(paths["params"]),
        *governance_args(paths["data"]),
    ]


def _load(folder: Path, calibrated: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    evaluation, metrics = (
        json.loads((folder / name).read_text()) for name in ("evaluation.json", "metrics.json")
    )
    return evaluation, metrics, json.loads((calibrated / "thresholds.json").read_text())


def _operating(mode: dict[str, Any]) -> dict[str, Any]:
    return next(
        t for t in mode["thresholds"] if t["threshold_id"] == mode["operating_threshold_id"]
    )


def test_evidence_has_the_contract_shape(world: dict[str, Path]) -> None:
    folder = world["root"] / "eval"
    evaluation, metrics, thresholds = _load(folder, world["root"] / "calibrate")
    assert not (folder / "thresholds.json").exists()  # calibrate's document, not evaluate's
    assert set(evaluation) >= {"modes", "ablation", "baselines", "paper_reference", "provenance"}
    assert evaluation["modes"]["monitoring"] is None and metrics["monitoring"] is None
    inline = evaluation["modes"]["inline"]
    assert (inline["detector"], inline["score"]) == ("attention_ae", "four_ms_ssim_path")
    # the path map's calibration is fitted on the normal train images, and only on them
    train_normals = [i for i, split in read_splits(world["splits"]).items() if split == "train"]
    assert inline["seal_path"]["calibration"]["gain"] > 0
    assert inline["seal_path"]["n_images"] == len(train_normals)
    assert set(inline["plots"]) == {"roc", "pr", "histogram", "confusion"}
    for name in [*inline["plots"].values(), *sum(inline["gallery"].values(), [])]:
        assert (folder / name).read_bytes()[:4] == b"\x89PNG", name
    assert (folder / "roc_inline.csv").is_file()
    assert [t["threshold_id"] for t in thresholds["inline"]] == [
        t["threshold_id"] for t in inline["thresholds"]
    ]
    point = _operating(inline)
    assert metrics["inline"]["auroc"] == inline["ranking"]["auroc"]
    assert metrics["inline"]["accuracy"] == point["test"]["accuracy"]
    assert evaluation["provenance"]["stage"] == "evaluate"
    assert "not computed" in evaluation["paper_reference"]["source"]


def test_figures_are_consistent_and_thresholds_come_from_val(world: dict[str, Path]) -> None:
    evaluation, _, _ = _load(world["root"] / "eval", world["root"] / "calibrate")
    inline = evaluation["modes"]["inline"]
    assert (inline["n_test_normal"], inline["n_test_defective"]) == N_TEST
    ranking = inline["ranking"]
    for name in ("auroc", "aupr"):
        low, high = ranking["ci"][name]
        assert 0 <= low <= ranking[name] <= high <= 1
    for entry in inline["thresholds"]:
        assert entry["fitted_on_split"] == "val"
        assert entry["n_normal"] == N_VAL[0]
        test = entry["test"]
        assert test["tp"] + test["fp"] + test["tn"] + test["fn"] == sum(N_TEST)
        for name, (low, high) in entry["test_ci"].items():
            assert 0 <= low <= test[name] <= high <= 1, name
    supervised = next(t for t in inline["thresholds"] if t["rule"] == "supervised")
    assert supervised["n_defective"] == N_VAL[1]
    assert sum(v["n"] for v in inline["per_defect_type"].values()) == N_TEST[1]
    assert 0 <= inline["pixel"]["auroc"] <= 1 and 0 <= inline["pixel"]["pro"] <= 1
    assert {r["perturbation"] for r in inline["robustness"]} == {
        "brightness",
        "noise",
        "blur",
        "shift",
    }
    ablation = {row["score"]: row for row in evaluation["ablation"]}
    assert len(ablation) == 7 and ablation["ms_ssim"]["auroc"] is None  # 32 px: too small
    assert 0 <= ablation["four_ms_ssim"]["auroc"] <= 1  # the paper's score, one row of seven
    names = [b["name"] for b in evaluation["baselines"]]
    assert names == ["plain_ae_mse", "plain_ae_four_ms_ssim", "padim_own_features"]


def test_same_inputs_same_evaluation_and_the_monitoring_mode_plugs_in(
    world: dict[str, Path],
) -> None:
    root, models = world["root"], ["--models", str(world["models"])]
    model = ["--model", str(world["models"] / "attention_ae" / "model.pt")]
    assert fit_monitor.main([*_args(world), *model, "--out", str(root / "fit_monitor")]) == 0
    monitor = ["--monitor", str(root / "fit_monitor")]
    out = root / "calibrate_monitor"
    assert calibrate.main([*_args(world), *models, *monitor, "--out", str(out)]) == 0
    args = [*_args(world), *models, "--calibration", str(out), "--out", str(root / "eval_m")]
    assert evaluate.main(args) == 0
    first, _, inline_only = _load(root / "eval", root / "calibrate")
    second, metrics, thresholds = _load(root / "eval_m", out)
    for key in ("ablation", "baselines"):
        assert first[key] == second[key]
    assert first["modes"]["inline"] == second["modes"]["inline"]
    assert inline_only["inline"] == thresholds["inline"] and inline_only["monitoring"] is None
    monitoring = second["modes"]["monitoring"]
    assert monitoring["score"] == "rfd_mahalanobis" and "pixel" not in monitoring
    assert all(t["fitted_on_split"] == "val" for t in thresholds["monitoring"])
    assert metrics["monitoring"]["auroc"] == monitoring["ranking"]["auroc"]
    # one monitoring threshold: the calibrated monitor decides with the evaluated one
    calibrated = load_monitor(out / "monitor.npz")
    assert calibrated.threshold.threshold_id == monitoring["operating_threshold_id"]
    assert calibrated.threshold.rule == "supervised"  # calibrate.thresholds.operating_rule


def test_evaluate_without_a_calibration_is_a_clear_error(
    world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*_args(world), "--models", str(world["models"]), "--out", str(tmp_path / "out")]
    assert evaluate.main([*args, "--calibration", str(tmp_path / "none")]) == 2
    assert "calibration.json: evidence file missing; run `dvc repro calibrate`" in (
        capsys.readouterr().err
    )


def test_a_missing_model_is_a_clear_error(
    world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*_args(world), "--models", str(tmp_path / "none"), "--out", str(tmp_path / "out")]
    assert calibrate.main(args) == 2
    assert "checkpoint not found" in capsys.readouterr().err
