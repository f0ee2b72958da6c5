"""The cross-seal path map: a faint line across the band stands out; texture along it does not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.models.seal_path import (
    PathCalibration,
    combined_heatmap,
    cross_band_map,
    fit_path_calibration,
    row_offsets,
)

BAND = (8, 24)


def _texture(seed: int, n: int = 1, height: int = 32, width: int = 192) -> torch.Tensor:
    """Residual texture streaked along the band (smooth in x, independent rows), sd ~0.02."""
    generator = torch.Generator().manual_seed(seed)
    raw = torch.randn(n, 1, height, width + 8, generator=generator)
    return 0.02 * raw.unfold(-1, 9, 1).mean(-1)[..., :width] * 3.0


def _line(residual: torch.Tensor, col: int, drift: int, amplitude: float) -> torch.Tensor:
    """Add a one-pixel line across the band rows, drifting ``drift`` columns top to bottom."""
    out = residual.clone()
    for row, offset in zip(range(*BAND), row_offsets(BAND[1] - BAND[0], drift), strict=True):
        out[:, 0, row, col + offset] += amplitude
    return out


def test_row_offsets_span_the_drift_about_the_middle_row() -> None:
    offsets = row_offsets(16, 5)
    assert offsets[-1] - offsets[0] == 5 and abs(offsets[0] + offsets[-1]) <= 1
    assert row_offsets(16, 0) == [0] * 16


def test_zero_residual_gives_a_zero_map() -> None:
    assert cross_band_map(torch.zeros(2, 1, 32, 64), BAND, 3, 9).abs().sum() == 0


def test_a_faint_tilted_line_lights_up_its_path_and_nothing_off_the_band() -> None:
    texture = _texture(0)
    with_line = _line(texture, col=100, drift=4, amplitude=0.03)  # ~1.5 sd of the texture
    clean = cross_band_map(texture, BAND, 5, 9)
    lit = cross_band_map(with_line, BAND, 5, 9)
    assert lit.amax() > 2 * clean.amax()
    peak_col = int(lit[0, 16].argmax())
    assert abs(peak_col - 100) <= 1
    assert lit[0, : BAND[0]].abs().sum() == 0 and lit[0, BAND[1] :].abs().sum() == 0


def test_the_shear_search_is_what_finds_a_tilted_line() -> None:
    with_line = _line(_texture(1), col=90, drift=5, amplitude=0.03)
    assert (
        cross_band_map(with_line, BAND, 5, 9).amax()
        > 1.5 * cross_band_map(with_line, BAND, 0, 9).amax()
    )


def test_a_streak_along_the_band_is_not_a_path() -> None:
    texture = _texture(2)
    streak = texture.clone()
    streak[:, 0, 15, 40:160] += 0.05  # a long horizontal streak: texture, not a path
    line = _line(texture, col=100, drift=0, amplitude=0.05)
    assert cross_band_map(line, BAND, 5, 9).amax() > 3 * cross_band_map(streak, BAND, 5, 9).amax()


@pytest.mark.parametrize(
    ("band", "drift", "highpass"), [((30, 40), 3, 9), ((8, 24), -1, 9), ((8, 24), 3, 8)]
)
def test_bad_settings_are_errors(band: tuple[int, int], drift: int, highpass: int) -> None:
    with pytest.raises(ValueError):
        cross_band_map(torch.zeros(1, 1, 32, 64), band, drift, highpass)


def test_calibration_matches_the_maxima_of_normal_images() -> None:
    rng = np.random.default_rng(0)
    ssim, path = rng.normal(0.15, 0.03, 200), rng.normal(0.008, 0.002, 200)
    calibration = fit_path_calibration(ssim, path)
    mapped = calibration.gain * path + calibration.offset
    assert mapped.mean() == pytest.approx(ssim.mean()) and mapped.std() == pytest.approx(ssim.std())
    assert PathCalibration.from_dict(calibration.to_dict()) == calibration
    with pytest.raises(ValueError, match="vary"):
        fit_path_calibration(ssim, np.full(200, 0.01))


def test_combined_heatmap_keeps_the_larger_and_stays_zero_off_the_band() -> None:
    ssim = torch.zeros(1, 32, 64)
    ssim[0, 12, 10] = 0.5
    path = torch.zeros(1, 32, 64)
    path[0, 8:24, 40] = 0.02
    combined = combined_heatmap(ssim, path, PathCalibration(gain=20.0, offset=0.05))
    assert combined[0, 12, 10] == pytest.approx(0.5)
    assert combined[0, 16, 40] == pytest.approx(0.45)
    assert combined[0, :8].abs().sum() == 0 and combined[0, 24:].abs().sum() == 0
