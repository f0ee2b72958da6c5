"""The train stage on a tiny world: real data layout, real params file, real outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline import runtime, train
from pipeline.data.images import load_gray
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import write_splits
from pipeline.errors import SealauditError
from pipeline.models.checkpoint import load_autoencoder, preprocess_images
from tests.params import section, tiny_train, write_params
from tests.worlds import governance_args, write_tiny_dataset

PARAMS = (
    tiny_train()
    + """\
  roi:
    kind: band
  alignment:
    kind: none
"""
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("world")
    data = write_tiny_dataset(root / "data", n_normal_events=6, n_defect_events=2)
    assignment = {}
    for row in read_manifest(data):
        normal_event = int(row.capture_event.split("_")[-1]) % 3  # spread events over splits
        split = "test" if row.label else ("val" if normal_event == 0 else "train")
        assignment[row.image_id] = split
    write_splits(assignment, root / "splits.csv")
    return data, root / "splits.csv"


def _main(world: tuple[Path, Path], params: Path, out: Path) -> int:
    data, splits = world
    args = ["--data", str(data), "--splits", str(splits), "--params", str(params)]
    return train.main([*args, *governance_args(data), "--out", str(out)])


def test_stage_writes_models_histories_curves_and_summary(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    params = tmp_path / "params.yaml"
    write_params(params, PARAMS)
    assert _main(world, params, tmp_path / "out") == 0
    summary = json.loads((tmp_path / "out" / "train_summary.json").read_text())
    assert set(summary["models"]) == {"attention_ae", "plain_ae"}
    assert summary["provenance"]["stage"] == "train" and summary["provenance"]["seed"] == 11
    for name, entry in summary["models"].items():
        folder = tmp_path / "out" / name
        assert entry["epochs_run"] == 1 and entry["best_epoch"] == 1
        assert (entry["image_height"], entry["image_width"], entry["roi_kind"]) == (32, 128, "band")
        assert entry["parameters"] > 0 and entry["torch_version"] == torch.__version__
        history = json.loads((folder / "history.json").read_text())["epochs"]
        assert len(history) == 1 and history[0]["val_loss"] == entry["best_val_loss"]
        assert (folder / "training_curve.png").read_bytes()[:4] == b"\x89PNG"
        model, meta = load_autoencoder(folder / "model.pt")
        assert meta.architecture == name and meta.roi.kind == "band"
        # the tiny world's band spans rows 1/3..2/3 of the image (21 of the stored 64, halved)
        assert meta.roi.parameters["band_top"] == 11
        assert meta.roi.mask.shape == (32, 128) and meta.roi.mask[16].all()
        assert model(torch.zeros(1, 1, 32, 128)).shape == (1, 1, 32, 128)


def test_band_alignment_is_trained_with_and_recorded_in_the_checkpoint(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    params = tmp_path / "params.yaml"
    aligned = PARAMS.replace("models: [attention_ae, plain_ae]", "models: [plain_ae]")
    write_params(params, aligned.replace("kind: none", "kind: band\n    band_rows: [0.25, 0.75]"))
    assert _main(world, params, tmp_path / "out") == 0
    model, meta = load_autoencoder(tmp_path / "out" / "plain_ae" / "model.pt")
    assert meta.alignment.kind == "band" and meta.alignment.band_rows == (0.25, 0.75)
    # the ROI is where the alignment puts the band (rows 8-24 of 32, widened by the margin)
    assert (
        meta.roi.parameters["aligned_rows"][0]
        < 0.25
        < 0.75
        < meta.roi.parameters["aligned_rows"][1]
    )
    assert meta.roi.mask[8:24, 8:-8].all() and not meta.roi.mask[0].any()
    assert not meta.roi.mask[:, 0].any()  # roi.cols leaves the outer columns out
    data, _ = world
    raw = np.stack([load_gray(path) for path in sorted((data / "images").glob("*.png"))[:2]])
    assert preprocess_images(raw, meta).shape == (2, 32, 128)


def test_a_defective_training_image_is_a_clear_error(
    world: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, splits = world
    text = splits.read_text().replace(",test", ",train", 1)
    bad = tmp_path / "splits.csv"
    bad.write_text(text)
    params = tmp_path / "params.yaml"
    write_params(params, PARAMS)
    assert _main((data, bad), params, tmp_path / "out") == 2
    assert "defective image(s) in 'train'" in capsys.readouterr().err
    assert not (tmp_path / "out" / "train_summary.json").exists()


def test_a_size_the_encoder_cannot_halve_is_rejected(
    world: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = tmp_path / "params.yaml"
    write_params(params, PARAMS.replace("working_height: 32", "working_height: 30"))
    assert _main(world, params, tmp_path / "out") == 2
    assert "divisible by 8" in capsys.readouterr().err


def test_threads_come_from_the_environment_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    configured = section("base").torch_threads
    monkeypatch.setenv(runtime.THREADS_ENV, "3")
    assert runtime.torch_threads(configured) == 3
    monkeypatch.setenv(runtime.THREADS_ENV, "many")
    with pytest.raises(SealauditError, match=runtime.THREADS_ENV):
        runtime.torch_threads(configured)
    monkeypatch.delenv(runtime.THREADS_ENV)
    assert runtime.torch_threads(configured) == configured
