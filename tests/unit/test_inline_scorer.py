"""The inline scorer with the cross-seal path map: calibrated on normals, served as evaluated."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pipeline.errors import SealauditError
from pipeline.evaluation.inference import PATH_SCORE, ReconstructionScorer
from pipeline.models.alignment import Alignment
from pipeline.models.autoencoder import AutoencoderConfig, build_model
from pipeline.models.checkpoint import CheckpointMeta
from pipeline.models.roi import Roi
from pipeline.models.seal_path import fit_path_calibration
from tests.unit.test_inspect import DETECTOR, WORK_H, WORK_W, band_image

OPTIONS = {"pooling": "max", "pooling_sigma": 1.0}
SEAL_PATH = {"max_drift_px": 3, "highpass_px": 9}


def _model_and_meta(kind: str = "band") -> tuple[torch.nn.Module, CheckpointMeta]:
    torch.set_num_threads(1)
    config = AutoencoderConfig(
        WORK_H, WORK_W, widths=(4, 8), latent_dim=8, dropout=0.0, skip_levels=(1,)
    )
    mask = np.zeros((WORK_H, WORK_W), dtype=bool)
    mask[WORK_H // 4 : 3 * WORK_H // 4, 4:-4] = True
    roi = Roi("rectangle", {"rows": [0.25, 0.75], "cols": [0.03, 0.97]}, mask)
    alignment = Alignment(kind, (0.25, 0.75))
    model = build_model(DETECTOR, config, seed=0).eval()
    return model, CheckpointMeta(DETECTOR, config, roi, alignment=alignment)


def _images(n: int, seed: int) -> np.ndarray:
    return np.stack([band_image(seed=seed + i) for i in range(n)]).astype(np.float32) / 255.0


def _scorer(seal_path: dict, kind: str = "band") -> ReconstructionScorer:
    model, meta = _model_and_meta(kind)
    return ReconstructionScorer(model, meta, DETECTOR, PATH_SCORE, OPTIONS, 8, seal_path)


def _calibrated() -> dict:
    ssim, path = _scorer(SEAL_PATH).component_maxima(_images(6, seed=0))
    return {**SEAL_PATH, "calibration": fit_path_calibration(ssim, path).to_dict()}


def test_an_uncalibrated_path_score_is_a_clear_error() -> None:
    with pytest.raises(SealauditError, match="not calibrated"):
        _scorer(SEAL_PATH)(_images(2, seed=10))


def test_the_path_score_needs_a_band_aligned_model() -> None:
    with pytest.raises(SealauditError, match="alignment.kind: band"):
        _scorer(SEAL_PATH, kind="none").component_maxima(_images(2, seed=0))


def test_settings_that_went_through_json_give_the_same_scores() -> None:
    settings = _calibrated()
    images = _images(4, seed=20)
    evaluated = _scorer(settings)(images).scores
    served = _scorer(json.loads(json.dumps(settings)))(images).scores
    np.testing.assert_array_equal(evaluated, served)


def test_the_path_only_adds_to_the_4_ms_ssim_heatmap() -> None:
    images = _images(4, seed=30)
    model, meta = _model_and_meta()
    plain = ReconstructionScorer(model, meta, DETECTOR, "four_ms_ssim", OPTIONS, 8)
    combined = _scorer(_calibrated())(images, keep_maps=True)
    assert np.all(combined.scores >= plain(images).scores - 1e-6)
    assert np.all(combined.heatmaps >= plain(images, keep_maps=True).heatmaps - 1e-6)
