"""ROI mask functions: the band is found from image statistics; other kinds are exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.models.roi import RoiError, band_mask, compute_roi, rectangle_mask


def _band_stack(
    top: int, bottom: int, bright: bool, height: int = 32, width: int = 64
) -> np.ndarray:
    rng = np.random.default_rng(0)
    stack = 0.5 + rng.normal(0, 0.01, (6, height, width))
    if bright:
        stack[:, top:bottom] += 0.3
    else:  # darker, with a rib texture along the band instead of brightness alone
        stack[:, top:bottom] -= 0.2
        stack[:, top:bottom, ::2] += 0.08
    return np.clip(stack, 0, 1)


@pytest.mark.parametrize("bright", [True, False])
def test_band_is_found_and_widened_by_the_margin(bright: bool) -> None:
    stack = _band_stack(10, 20, bright)
    mask, rows = band_mask(stack, margin=0.0)
    assert (rows["band_top"], rows["band_bottom"]) == (10, 20)
    assert mask[10:20].all() and not mask[:10].any() and not mask[20:].any()
    wide, rows = band_mask(stack, margin=0.1)  # round(0.1 * 32) = 3 rows each side
    assert (rows["top"], rows["bottom"]) == (7, 23)
    assert wide[7:23].all() and wide.sum() == 16 * 64


def test_band_takes_the_longest_run_and_clips_at_the_border() -> None:
    stack = _band_stack(2, 14, bright=True)
    stack[:, 28:30] += 0.3  # a short bright strip elsewhere is not the band
    mask, rows = band_mask(stack, margin=0.25)
    assert (rows["band_top"], rows["band_bottom"]) == (2, 14)
    assert (rows["top"], rows["bottom"]) == (0, 22)
    assert not mask[28:30].any()


def test_flat_images_have_no_band() -> None:
    with pytest.raises(RoiError, match="rectangle"):
        band_mask(np.full((3, 16, 32), 0.5))


def test_rectangle_known_answer() -> None:
    mask = rectangle_mask(10, 20, rows=(0.2, 0.5), cols=(0.0, 0.25))
    expected = np.zeros((10, 20), dtype=bool)
    expected[2:5, 0:5] = True
    assert np.array_equal(mask, expected)
    assert rectangle_mask(10, 20, (0.99, 1.0), (0.0, 1.0)).sum() == 20  # never empty
    with pytest.raises(RoiError, match="fractions"):
        rectangle_mask(10, 20, (0.5, 0.2), (0.0, 1.0))


def test_file_mask_is_resized_with_nearest_neighbour(tmp_path: Path) -> None:
    pixels = np.zeros((20, 40), dtype=np.uint8)
    pixels[10:20, 20:40] = 255
    Image.fromarray(pixels).save(tmp_path / "roi.png")
    roi = compute_roi("file", (10, 20), mask_path=tmp_path / "roi.png")
    assert roi.kind == "file" and roi.parameters["path"].endswith("roi.png")
    assert roi.mask[5:, 10:].all() and roi.mask.sum() == 50
    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(tmp_path / "empty.png")
    with pytest.raises(RoiError, match="empty"):
        compute_roi("file", (10, 20), mask_path=tmp_path / "empty.png")
    with pytest.raises(RoiError, match="not found"):
        compute_roi("file", (10, 20), mask_path=tmp_path / "absent.png")
    with pytest.raises(RoiError, match="--roi-mask"):
        compute_roi("file", (10, 20))


def test_compute_roi_kinds_record_their_parameters() -> None:
    full = compute_roi("full", (8, 16))
    assert full.mask.all() and full.mask.shape == (8, 16) and full.coverage == 1.0
    rect = compute_roi("rectangle", (8, 16), rows=(0.25, 0.75), cols=(0.0, 1.0))
    assert rect.parameters == {"rows": [0.25, 0.75], "cols": [0.0, 1.0]}
    assert rect.coverage == 0.5
    band = compute_roi("band", (32, 64), images=_band_stack(10, 20, True), margin=0.0)
    assert band.parameters["band_top"] == 10 and band.parameters["threshold"] == 0.5
    with pytest.raises(RoiError, match="training images"):
        compute_roi("band", (16, 64), images=_band_stack(10, 20, True))
    with pytest.raises(RoiError, match="unknown ROI kind"):
        compute_roi("circle", (8, 16))


def test_weights_are_one_inside_and_outside_weight_elsewhere() -> None:
    roi = compute_roi("rectangle", (4, 4), rows=(0.0, 0.5), cols=(0.0, 1.0))
    weights = roi.weights(0.1)
    assert weights.dtype == np.float32
    assert np.allclose(weights[:2], 1.0) and np.allclose(weights[2:], 0.1)
