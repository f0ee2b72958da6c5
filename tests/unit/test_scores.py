"""The ablation score registry: known answers every score must give."""

from __future__ import annotations

import pytest
import torch

from pipeline.errors import SealauditError
from pipeline.models.scores import (
    SCORE_FUNCTIONS,
    ms_ssim_score,
    ms_ssim_window,
    psnr_score,
    ssim_score,
)

HEIGHT, WIDTH = 48, 128  # short side >= 33 so MS-SSIM (window 3) fits
INSIDE = (slice(20, 27), slice(60, 67))
OUTSIDE = (slice(2, 9), slice(60, 67))


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def pair(seed: int, defect: tuple[slice, slice] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A ribbed band image with mild noise, a near-perfect reconstruction, optional dark spot."""
    gen = torch.Generator().manual_seed(seed)
    cols = torch.arange(float(WIDTH)).view(1, -1)
    rows = torch.arange(float(HEIGHT)).view(-1, 1)
    band = ((rows - 24).abs() < 10).float()
    x = 0.5 + 0.15 * torch.sin(cols / 3.0) * band + 0.02 * torch.rand(HEIGHT, WIDTH, generator=gen)
    y = x + 0.01 * (torch.rand(HEIGHT, WIDTH, generator=gen) - 0.5)
    if defect is not None:
        x[defect] = 0.1
    return x.clamp(0, 1)[None, None], y.clamp(0, 1)[None, None]


def band_roi() -> torch.Tensor:
    roi = torch.zeros(1, 1, HEIGHT, WIDTH)
    roi[..., 14:34, :] = 1.0
    return roi


def test_registry_holds_the_papers_ablation_scores():
    assert set(SCORE_FUNCTIONS) == {
        "mse", "mae", "psnr", "ssim", "ms_ssim", "four_ssim", "four_ms_ssim",
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCORE_FUNCTIONS))
def test_identical_images_get_the_minimum_score(name):
    x, _ = pair(0)
    score = SCORE_FUNCTIONS[name](x, x, None)
    minimum = -100.0 if name == "psnr" else 0.0
    assert score.shape == (1,)
    assert score.item() == pytest.approx(minimum, abs=1e-5)


@pytest.mark.parametrize("name", sorted(SCORE_FUNCTIONS))
def test_a_planted_defect_raises_every_score(name):
    clean = SCORE_FUNCTIONS[name](*pair(0), None).item()
    dirty = SCORE_FUNCTIONS[name](*pair(0, INSIDE), None).item()
    assert dirty > clean


@pytest.mark.parametrize("name", sorted(SCORE_FUNCTIONS))
def test_roi_keeps_a_defect_outside_it_from_the_score(name):
    roi = band_roi()
    clean = SCORE_FUNCTIONS[name](*pair(0), roi).item()
    outside = SCORE_FUNCTIONS[name](*pair(0, OUTSIDE), roi).item()
    inside = SCORE_FUNCTIONS[name](*pair(0, INSIDE), roi).item()
    # Window-based scores see a few pixels past the ROI edge (4-MS-SSIM's coarse scales
    # further), so "excluded" means: far smaller an effect than the same defect inside.
    assert abs(outside - clean) < 0.1 * (inside - clean)


@pytest.mark.parametrize("name", sorted(SCORE_FUNCTIONS))
def test_batch_scores_equal_one_by_one(name):
    pairs = [pair(seed, (slice(20, 27), slice(10 * seed, 10 * seed + 7))) for seed in range(3)]
    x = torch.cat([p[0] for p in pairs])
    y = torch.cat([p[1] for p in pairs])
    batch = SCORE_FUNCTIONS[name](x, y, band_roi())
    singles = torch.cat([SCORE_FUNCTIONS[name](xi, yi, band_roi()) for xi, yi in pairs])
    # pytorch_msssim's convolutions round differently by batch size (float32, ~1e-6)
    assert torch.allclose(batch, singles, atol=1e-5, rtol=0)


def test_psnr_is_negated_decibels():
    x = torch.full((1, 1, 8, 8), 0.5)
    y = x + 0.1  # MSE 0.01 -> PSNR 20 dB
    assert psnr_score(x, y).item() == pytest.approx(-20.0, abs=1e-4)


def test_ssim_window_choice_changes_the_score_not_its_zero():
    x, y = pair(0, INSIDE)
    uniform, gaussian = ssim_score(x, y, window="uniform"), ssim_score(x, y, window="gaussian")
    assert uniform.item() != pytest.approx(gaussian.item(), abs=1e-4)
    assert ssim_score(x, x, window="gaussian").item() == pytest.approx(0.0, abs=1e-6)


def test_ms_ssim_window_fits_pytorch_msssim_size_rule():
    assert ms_ssim_window(256, 1024) == 11  # 256 > 160
    assert ms_ssim_window(128, 768) == 7  # 128 > 96, but not > 112
    assert ms_ssim_window(33, 100) == 3
    with pytest.raises(SealauditError, match="at least 33 px"):
        ms_ssim_window(32, 100)


def test_ms_ssim_refuses_images_too_small_for_an_explicit_window():
    x, y = pair(0)
    with pytest.raises(SealauditError, match="at least 161 px"):
        ms_ssim_score(x, y, win_size=11)
