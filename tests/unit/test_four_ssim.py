"""4-MS-SSIM: agreement with the authors' scikit-image computation, and behaviour on defects."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.errors import SealauditError
from pipeline.models.four_ssim import (
    four_ms_ssim,
    four_ssim,
    region_weights,
    sobel_magnitude,
)

# 1 - 4-SSIM and 1 - 4-MS-SSIM of ``_reference_pair`` computed with scikit-image 0.26 as the
# authors' metrics/ssimlib.py does (structural_similarity(win_size=7, full=True), sobel_h/v,
# resize(anti_aliasing=True)); (48, 130) skips the 1/8 scale (6 px < 7).
REFERENCE = [
    ((61, 187), "uniform", None, 0.1647025516, 0.1181897308),
    ((61, 187), "uniform", 1.0, 0.1215461533, 0.0919734423),
    ((61, 187), "gaussian", None, 0.1727967272, 0.1233083648),
    ((61, 187), "gaussian", 1.0, 0.1277076227, 0.0958726692),
    ((48, 130), "uniform", None, 0.1720784688, 0.1288823318),
    ((48, 130), "uniform", 1.0, 0.1325975662, 0.1029801038),
    ((48, 130), "gaussian", None, 0.1828877536, 0.1374539954),
    ((48, 130), "gaussian", 1.0, 0.1415023399, 0.1099805013),
]


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _reference_pair(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(7)
    rows, cols = np.mgrid[:height, :width]
    band = np.abs(rows - height / 2) < height / 4
    a = 0.5 + 0.2 * np.sin(cols / 4.0) * band + 0.05 * rng.random((height, width))
    b = 0.8 * a + 0.1 + 0.05 * rng.random((height, width))
    b[10:20, 40:50] = 0.15
    return torch.tensor(a)[None, None], torch.tensor(b)[None, None]


def planted_pair(
    seed: int, defect: tuple[slice, slice] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A textured band image, a faithful reconstruction, and optionally a dark defect in x."""
    gen = torch.Generator().manual_seed(seed)
    cols = torch.arange(96.0).view(1, -1)
    rows = torch.arange(48.0).view(-1, 1)
    band = ((rows - 24).abs() < 12).float()
    x = 0.5 + 0.15 * torch.sin(cols / 3.0) * band + 0.02 * torch.rand(48, 96, generator=gen)
    y = x + 0.01 * (torch.rand(48, 96, generator=gen) - 0.5)
    if defect is not None:
        x[defect] = 0.1
    return x.clamp(0, 1)[None, None], y.clamp(0, 1)[None, None]


@pytest.mark.parametrize(("size", "window", "data_range", "single", "multi"), REFERENCE)
def test_matches_the_authors_scikit_image_computation(size, window, data_range, single, multi):
    x, y = _reference_pair(*size)
    got_single = four_ssim(x, y, window=window, data_range=data_range).score.item()
    got_multi = four_ms_ssim(x, y, window=window, data_range=data_range).score.item()
    assert got_single == pytest.approx(single, abs=1e-7)
    assert got_multi == pytest.approx(multi, abs=1e-7)


def test_scales_under_seven_pixels_are_skipped():
    x, y = _reference_pair(48, 130)
    result = four_ms_ssim(x, y)
    assert result.scales_used == (1.0, 0.5, 0.25)
    assert result.scale_scores.shape == (1, 3)


def test_sobel_gives_one_on_a_unit_step_so_thresholds_mean_the_authors_values():
    step = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    step[..., 5:] = 1.0
    magnitude = sobel_magnitude(step)[0, 0]
    assert torch.allclose(magnitude[:, 4:6], torch.ones(9, 2, dtype=torch.float64))
    assert magnitude[:, :3].abs().max() == 0


def test_region_classes_follow_the_four_component_model():
    step = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    step[..., 5:] = 1.0
    flat = torch.full_like(step, 0.5)
    assert set(region_weights(step, step)[0, 0, :, 4].tolist()) == {0.25}  # preserved edge
    assert set(region_weights(step, flat)[0, 0, :, 4].tolist()) == {0.5}  # changed edge
    assert set(region_weights(step, step)[0, 0, :, 0].tolist()) == {0.125}  # smooth
    low_step = step * 0.1  # magnitude 0.1 in both: no edge (<= 0.12), texture (mean > 0.06)
    assert set(region_weights(low_step, low_step)[0, 0, :, 4].tolist()) == {0.125}
    assert set(region_weights(step, low_step)[0, 0, :, 4].tolist()) == {0.5}  # edge only in x


def test_identical_images_score_zero_with_an_empty_heatmap():
    x, _ = planted_pair(0)
    result = four_ms_ssim(x, x)
    assert result.score.abs().max() < 1e-6
    assert result.heatmap.abs().max() < 1e-6


def test_a_planted_defect_raises_the_score_and_lights_up_the_heatmap():
    defect = (slice(20, 26), slice(40, 46))
    clean = four_ms_ssim(*planted_pair(0))
    dirty = four_ms_ssim(*planted_pair(0, defect))
    assert dirty.score.item() > clean.score.item() + 0.01
    heat = dirty.heatmap[0]
    assert heat.shape == (48, 96)
    inside = torch.zeros_like(heat, dtype=torch.bool)
    inside[17:29, 37:49] = True  # the defect grown by the 7 x 7 window's reach
    row, col = divmod(int(heat.argmax()), heat.shape[1])
    assert inside[row, col]
    assert heat[inside].mean() > 10 * heat[~inside].mean()


def test_roi_excludes_a_defect_outside_it():
    roi = torch.zeros(1, 1, 48, 96, dtype=torch.bool)
    roi[..., 14:34, :] = True
    clean = four_ms_ssim(*planted_pair(0), roi=roi)
    outside = four_ms_ssim(*planted_pair(0, (slice(2, 8), slice(40, 46))), roi=roi)
    inside = four_ms_ssim(*planted_pair(0, (slice(20, 26), slice(40, 46))), roi=roi)
    # The 1/8 scale's windows reach ~24 px, so a defect 6 px from the ROI is not fully
    # invisible: it must change the score far less than the same defect inside.
    assert abs(outside.score.item() - clean.score.item()) < 0.1 * (
        inside.score.item() - clean.score.item()
    )
    assert outside.heatmap[0, ~roi[0, 0]].abs().max() == 0


def test_single_scale_heatmap_averages_to_the_score():
    result = four_ssim(*planted_pair(1, (slice(20, 26), slice(40, 46))))
    assert result.heatmap.mean().item() == pytest.approx(result.score.item(), rel=1e-5)


@pytest.mark.parametrize("data_range", [1.0, None])
def test_batch_scores_equal_one_by_one(data_range):
    pairs = [
        planted_pair(seed, (slice(20, 26), slice(10 * seed, 10 * seed + 6))) for seed in (0, 1, 2)
    ]
    x = torch.cat([p[0] for p in pairs])
    y = torch.cat([p[1] for p in pairs])
    batch = four_ms_ssim(x, y, data_range=data_range)
    for i, (xi, yi) in enumerate(pairs):
        single = four_ms_ssim(xi, yi, data_range=data_range)
        # Filters are elementwise sums of shifted slices: an image's result does not depend
        # on the batch it was scored in, to the bit.
        assert torch.equal(batch.score[i], single.score[0])
        assert torch.equal(batch.heatmap[i], single.heatmap[0])


def test_passes_no_gradient():
    x, y = planted_pair(0)
    y = y.clone().requires_grad_(True)
    assert not four_ms_ssim(x, y).score.requires_grad


def test_too_small_images_and_bad_inputs_are_refused():
    tiny = torch.rand(1, 1, 6, 40)
    with pytest.raises(SealauditError, match="at least 7 px"):
        four_ms_ssim(tiny, tiny)
    x, y = planted_pair(0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        four_ms_ssim(x * 255, y * 255)
    with pytest.raises(ValueError, match="empty"):
        four_ms_ssim(x, y, roi=torch.zeros_like(x))
