"""``sealaudit inspect --heatmaps``: heatmaps and overlays come back in the captured image's frame.

The tiny world is a real (untrained) band-aligned autoencoder packaged as an MLflow model
folder with the project's own pyfunc class and signature (no tracking server, no registry);
the raw images are larger than the working frame, with a tilted, offset band.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from pipeline.cli import main as cli
from pipeline.commands.inspect import heatmap_overlay
from pipeline.models.alignment import Alignment
from pipeline.models.autoencoder import AutoencoderConfig, build_model
from pipeline.models.checkpoint import save_autoencoder
from pipeline.models.roi import Roi
from pipeline.models.thresholds import Threshold
from pipeline.registry.packaging import model_signature
from pipeline.registry.pyfunc import IMAGE_ROOT_ENV, ImageInputError, InlineModel, read_images
from pipeline.registry.tracking import TRACKING_ENV

WORK_H, WORK_W = 32, 128
RAW_H, RAW_W = 64, 256
BAND_TOP, BAND_SLOPE, BAND_THICKNESS = 22.0, 0.02, 16.0
DETECTOR = "attention_ae"


def band_image(defect_at: tuple[int, int] | None = None, seed: int = 0) -> np.ndarray:
    """(RAW_H, RAW_W) uint8: a web at 150 with a darker band whose upper edge is
    BAND_TOP + BAND_SLOPE * col; optionally a bright 6 x 6 defect with its corner at (row, col)."""
    rows = np.arange(RAW_H, dtype=np.float64)[:, None]
    top = BAND_TOP + BAND_SLOPE * np.arange(RAW_W)[None, :]
    inside = np.clip(rows - top + 0.5, 0, 1) * np.clip(top + BAND_THICKNESS - rows + 0.5, 0, 1)
    image = 150.0 - 70.0 * inside + np.random.default_rng(seed).normal(0, 3, (RAW_H, RAW_W))
    if defect_at is not None:
        image[defect_at[0] : defect_at[0] + 6, defect_at[1] : defect_at[1] + 6] = 230.0
    return np.clip(image, 0, 255).astype(np.uint8)


def package_inline_model(folder: Path) -> Path:
    """An MLflow pyfunc model folder of the inline mode around an untrained band-aligned AE."""
    import mlflow

    torch.set_num_threads(1)
    config = AutoencoderConfig(
        WORK_H, WORK_W, widths=(4, 8), latent_dim=8, dropout=0.0, skip_levels=(1,)
    )
    mask = np.zeros((WORK_H, WORK_W), dtype=bool)
    mask[WORK_H // 4 : 3 * WORK_H // 4] = True  # the band rows of the alignment below
    roi = Roi("rectangle", {"rows": [0.25, 0.75], "cols": [0.0, 1.0]}, mask)
    staged = folder.parent / "staged"
    checkpoint = staged / "checkpoint.pt"
    save_autoencoder(
        checkpoint,
        build_model(DETECTOR, config, seed=0).eval(),
        DETECTOR,
        roi,
        alignment=Alignment("band", (0.25, 0.75)),
    )
    threshold = Threshold("four_ms_ssim-fixed-0000", "four_ms_ssim", 0.2, "fixed", {}, "val", 3, 0)
    settings = {"mode": "inline", "score": "four_ms_ssim", "detector": DETECTOR}
    documents = {"threshold": threshold.to_dict(), "settings": {**settings, "four_ms_ssim": {}}}
    artifacts = {"checkpoint": str(checkpoint)}
    for name, content in documents.items():
        (staged / f"{name}.json").write_text(json.dumps(content), encoding="utf-8")
        artifacts[name] = str(staged / f"{name}.json")
    mlflow.pyfunc.save_model(
        str(folder),
        python_model=InlineModel(),
        artifacts=artifacts,
        signature=model_signature(),  # declares the return_heatmap parameter
        pip_requirements=["torch"],  # explicit: no slow requirement inference
    )
    return folder


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.chdir(tmp_path)  # inspect points MLflow at <repo>/mlflow.db, here
    monkeypatch.setenv(TRACKING_ENV, "")  # setenv, so teardown removes what MLflow exports
    package_inline_model(tmp_path / "model")
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(band_image()).save(images / "clean.png")
    Image.fromarray(band_image(defect_at=(30, 150), seed=1)).save(images / "notch.png")
    return tmp_path


@pytest.mark.filterwarnings("ignore:.*An input example was not provided")
def test_inspect_writes_heatmap_and_overlay_at_the_raw_image_size(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = world / "heatmaps"
    images = [str(world / "images" / name) for name in ("clean.png", "notch.png")]
    local = ["--model", str(world / "model"), "--trust-local-model"]
    code = cli(["inspect", *images, *local, "--heatmaps", str(out)])
    printed = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(printed) == 3  # header + one line per image
    for stem in ("clean", "notch"):
        with (
            Image.open(out / f"{stem}_heatmap.png") as heat,
            Image.open(out / f"{stem}_overlay.png") as overlay,
        ):
            assert heat.size == (RAW_W, RAW_H) and heat.mode == "L"
            assert overlay.size == (RAW_W, RAW_H) and overlay.mode == "RGB"
            heatmap = np.asarray(heat)
        # The ROI covers the band rows of the working frame: mapped back, the heat lies on
        # the band of the captured image (bilinear: one row of spill either side).
        rows, cols = np.nonzero(heatmap)
        assert rows.size > 0
        top = BAND_TOP + BAND_SLOPE * cols
        assert (rows >= top - 1.5).all() and (rows <= top + BAND_THICKNESS + 1.5).all()


def normal_heatmap(threshold: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(RAW_H, RAW_W) heat of a clean image that passes, and its band mask: half-normal with
    the spread measured on the embedded dataset's normal val images (median about 0.2 T,
    90th percentile 0.5 T, 99th 0.75 T), its peak capped just under the threshold."""
    rows = np.arange(RAW_H)[:, None]
    top = BAND_TOP + BAND_SLOPE * np.arange(RAW_W)[None, :]
    band = (rows >= top) & (rows < top + BAND_THICKNESS)
    noise = np.abs(np.random.default_rng(seed).normal(0.0, 0.3 * threshold, (RAW_H, RAW_W)))
    return np.where(band, np.minimum(noise, 0.95 * threshold), 0.0), band


def red_excess(overlay: np.ndarray, image: np.ndarray) -> np.ndarray:
    """(H, W) how far the overlay's red channel rises over the grey image, in grey levels."""
    return overlay[..., 0].astype(float) - np.rint(image * 255.0)


def test_overlay_of_a_clean_image_stays_pale_over_the_band() -> None:
    threshold = 0.2
    heatmap, band = normal_heatmap(threshold)
    image = band_image().astype(np.float32) / 255.0
    excess = red_excess(heatmap_overlay(image, heatmap, threshold), image)[band]
    # Stated bound, in grey levels of red over the band: mean under 5, nine pixels in ten
    # under 5, 99 % under 60 (the former scale, zero to the threshold, gave 29, 60 and 99).
    assert excess.mean() < 5.0 and np.percentile(excess, 90) < 5.0
    assert np.percentile(excess, 99) < 60.0
    assert (
        heatmap_overlay(image, heatmap * 0.5, threshold) == np.rint(image * 255)[..., None]
    ).all()


def test_overlay_of_a_defect_is_clearly_red() -> None:
    threshold = 0.2
    heatmap, _ = normal_heatmap(threshold)
    heatmap[30:36, 150:156] = 3.0 * threshold  # a rejected blob
    image = band_image(defect_at=(30, 150), seed=1).astype(np.float32) / 255.0
    overlay = heatmap_overlay(image, heatmap, threshold).astype(int)
    blob = overlay[30:36, 150:156]
    assert (blob[..., 0] - blob[..., 1:].max(axis=-1) > 150).all()  # full red (0.7 opacity)
    assert heatmap_overlay(image, np.full_like(image, threshold), threshold)[0, 0, 0] > 200


def test_overlay_is_grey_without_heat_and_checks_its_inputs() -> None:
    image = np.full((4, 6), 0.5, dtype=np.float32)
    overlay = heatmap_overlay(image, np.zeros_like(image), threshold=0.2)
    assert overlay.shape == (4, 6, 3) and overlay.dtype == np.uint8 and (overlay == 128).all()
    with pytest.raises(ValueError, match="shape"):
        heatmap_overlay(image, image[:, :3], threshold=0.2)
    with pytest.raises(ValueError, match="threshold"):
        heatmap_overlay(image, image, threshold=0.0)


@pytest.mark.filterwarnings("ignore:.*An input example was not provided")
def test_without_a_champion_inspect_says_which_versions_exist_and_how_to_promote(
    world: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.registry.tracking import connect
    from tests.integration.registry_world import seed_tracking_db

    image = str(world / "images" / "clean.png")
    seed_tracking_db(tmp_path_factory.getbasetemp() / "mlflow-cache", world)
    client, _ = connect()
    assert cli(["inspect", image]) == 2  # nothing registered yet
    assert "no model named 'sealaudit-inline' is registered" in capsys.readouterr().err
    client.create_registered_model("sealaudit-inline")
    client.create_model_version("sealaudit-inline", str(world / "model"))
    assert cli(["inspect", image]) == 2  # the default models:/sealaudit-inline@champion
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "make demo" not in err
    assert "no version of sealaudit-inline holds the alias 'champion' yet (registered: 1)" in err
    assert "sealaudit promote sealaudit-inline <version> --alias champion" in err
    assert "--model models:/sealaudit-inline/<version>" in err
    assert cli(["inspect", image, "--model", "models:/sealaudit-inline/1"]) == 0
    assert cli(["inspect", image, "--model", "models:/sealaudit-inline/4"]) == 2
    assert "has no version 4 (registered: 1)" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:.*An input example was not provided")
def test_a_missing_image_is_reported_with_a_hint_that_can_work(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = world / "images" / "typo.png"
    local = ["--model", str(world / "model"), "--trust-local-model"]
    assert cli(["inspect", str(missing), *local]) == 2
    err = capsys.readouterr().err
    assert "image file not found; check the path" in err and "dvc checkout" not in err


def test_a_local_model_folder_needs_the_trust_flag(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Loading a model folder unpickles code from it: refused before MLflow touches it (#15)."""
    image = str(world / "images" / "clean.png")
    assert cli(["inspect", image, "--model", str(world / "model")]) == 2
    err = capsys.readouterr().err
    assert "not a registered model" in err and "--trust-local-model" in err
    assert len(err.strip().splitlines()) == 1


def test_the_model_reads_paths_only_under_its_image_root_and_never_says_which_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    inside, secret = images / "a.png", tmp_path / "secret.png"
    for path in (inside, secret):
        Image.fromarray(np.zeros((32, 128), dtype=np.uint8)).save(path)

    def frame(path: Path | str) -> pd.DataFrame:
        return pd.DataFrame({"image_path": [str(path)]})

    monkeypatch.delenv(IMAGE_ROOT_ENV, raising=False)
    with pytest.raises(ImageInputError, match=f"send the PNG bytes in 'image'.*{IMAGE_ROOT_ENV}"):
        read_images(frame(inside))
    assert read_images(pd.DataFrame({"image": [inside.read_bytes()]}))[0].shape == (32, 128)
    monkeypatch.setenv(IMAGE_ROOT_ENV, str(images))
    assert read_images(frame(inside))[0].shape == read_images(frame("a.png"))[0].shape
    messages = set()
    for probe in (secret, "../secret.png", images / "missing.png", tmp_path / "none.png"):
        with pytest.raises(ImageInputError) as error:
            read_images(frame(probe))
        messages.add(str(error.value))
    assert len(messages) == 1 and "secret" not in messages.pop()  # existence is not revealed
