"""A tiny fitted monitor for surveillance tests: a seeded (untrained) autoencoder whose encoder
features are still deterministic, fitted on in-control lots of the drift generator."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from pipeline.config.fit_monitor import ChartParams
from pipeline.data.drift import generate_lots
from pipeline.data.images import load_gray
from pipeline.fit_monitor import fit_chosen
from pipeline.models.autoencoder import AutoencoderConfig, build_model
from pipeline.models.checkpoint import save_autoencoder
from pipeline.models.roi import Roi
from pipeline.models.thresholds import fit_unsupervised
from pipeline.monitoring.fitted import SCORE_NAME, save_monitor
from pipeline.monitoring.scoring import extract_features
from tests.params import section

HEIGHT, WIDTH = 32, 128
SYNTH = section("synth", image_height=HEIGHT, image_width=WIDTH)  # the lots' renderer


def lot_images(folder: Path) -> np.ndarray:
    """(N, H, W) images of a generated lot folder, in lots.csv order."""
    with (folder / "lots.csv").open(newline="", encoding="utf-8") as handle:
        files = [row["file"] for row in csv.DictReader(handle)]
    return np.stack([load_gray(folder / name) for name in files])


def fit_world_monitor(
    root: Path,
    seed: int = 2,
    layer: str = "enc2",
    n_kept: int = 100,
    n_train: int = 200,
    n_val: int = 200,
    chart: ChartParams | None = None,
) -> tuple[Path, Path]:
    """Write ``model.pt`` and ``monitor.npz`` under ``root``; return their paths."""
    config = AutoencoderConfig(
        HEIGHT, WIDTH, widths=(8, 16, 32), latent_dim=8, dropout=0.0, skip_levels=(2,)
    )
    model = build_model("attention_ae", config, seed=seed).eval()
    checkpoint = root / "model.pt"
    save_autoencoder(
        checkpoint, model, "attention_ae", Roi("full", {}, np.ones((HEIGHT, WIDTH), bool))
    )
    sets = []
    for name, n, offset in (("train", n_train, 101), ("val", n_val, 202)):
        generate_lots(
            root / name,
            SYNTH,
            n_lots=1,
            images_per_lot=n,
            drift_start_lot=1,
            drift="none",
            seed=seed + offset,
        )
        sets.append(extract_features(model, lot_images(root / name), layer)[0])
    _, shape = extract_features(model, lot_images(root / "val")[:1], layer)
    params = section(
        "fit_monitor", seed=seed, layer=layer, n_features_kept=n_kept, chart=chart or {}
    )
    monitor, _ = fit_chosen(
        (sets[0], sets[1]),
        shape,
        np.zeros(n_val, dtype=np.int64),
        params,
        (checkpoint, "attention_ae"),
    )
    # the calibrate stage's step: the operating threshold (here mean + 2 sd of val normals)
    rule = fit_unsupervised(monitor.reference.sorted_scores, 2.0, score_name=SCORE_NAME)
    path = root / "monitor.npz"
    save_monitor(monitor.with_thresholds([rule]), path)
    return path, checkpoint
