"""Image scores from anomaly maps: the smoothed maximum sees what the mean dilutes."""

from __future__ import annotations

import pytest
import torch

from pipeline.models.four_ssim import four_ms_ssim
from pipeline.models.pooling import smoothed_max


def test_smoothed_max_ignores_everything_outside_the_roi() -> None:
    heat = torch.zeros(1, 16, 32)
    heat[0, 1, 1] = 50.0
    roi = torch.zeros(1, 16, 32)
    roi[0, 8:12] = 1
    heat[0, 10, 20] = 1.0
    score = smoothed_max(heat * roi, roi, 1.0)
    assert 0 < score.item() < 1.0


def test_one_hot_pixel_counts_less_than_a_defect_sized_blob() -> None:
    single, blob = torch.zeros(1, 16, 32), torch.zeros(1, 16, 32)
    single[0, 8, 16] = 1.0
    blob[0, 7:10, 15:18] = 1.0
    roi = torch.ones(1, 16, 32)
    assert smoothed_max(blob, roi, 1.0) > 3 * smoothed_max(single, roi, 1.0)


def test_a_small_defect_moves_max_pooling_far_more_than_the_mean() -> None:
    generator = torch.Generator().manual_seed(0)
    x = 0.4 + 0.02 * torch.rand(2, 1, 32, 256, generator=generator)
    y = x.clone()
    x[1, 0, 14:17, 100:103] += 0.3  # a 3 x 3 px defect the reconstruction does not show
    mean = four_ms_ssim(x, y).score
    pooled = four_ms_ssim(x, y, pooling="max", pooling_sigma=1.0).score
    assert pooled[1] > 20 * pooled[0].clamp_min(1e-6)
    assert pooled[1] - pooled[0] > 10 * (mean[1] - mean[0])


def test_identical_images_score_zero_under_both_poolings() -> None:
    x = torch.rand(1, 1, 32, 64, generator=torch.Generator().manual_seed(1))
    for pooling in ("mean", "max"):
        assert four_ms_ssim(x, x.clone(), pooling=pooling).score.abs().item() < 1e-5


def test_bad_pooling_settings_are_refused() -> None:
    x = torch.rand(1, 1, 16, 16)
    with pytest.raises(ValueError, match="pooling"):
        four_ms_ssim(x, x, pooling="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sigma"):
        smoothed_max(torch.zeros(1, 4, 4), torch.ones(1, 4, 4), 0.0)


def test_scores_do_not_depend_on_the_batch() -> None:
    maps = torch.rand(4, 16, 32, generator=torch.Generator().manual_seed(2))
    roi = torch.ones(1, 16, 32)
    together = smoothed_max(maps, roi, 1.5)
    alone = torch.cat([smoothed_max(maps[i : i + 1], roi, 1.5) for i in range(4)])
    assert torch.equal(together, alone)
