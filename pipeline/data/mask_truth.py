"""Defect ground truth measured from an annotation mask (imported data, SSI).

The synthetic generator knows each defect's size and contrast as drawn; imported data only has
a mask, so size and contrast are measured on the full-resolution ROI crop: the size in pixels
by a method per defect type (``SIZE_METHODS``), converted to mm with the declared pixel pitch,
and the contrast as |mean grey inside the mask - mean grey of a ring around it|.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage

from pipeline.data.manifest import NO_DEFECT_TRUTH

# A channel or a seal breach crosses the band: its size is its width along the band. Any other
# type (none imported today) is sized by the diameter of the disc of the same area.
SIZE_METHODS = {"channel": "width_across_band", "seal_breach": "width_across_band"}
DEFAULT_SIZE_METHOD = "equivalent_diameter"
RING_PX = 10  # full-resolution px (0.75 mm at 0.075 mm/px): close enough to be the same band


def width_across_band_px(mask: np.ndarray) -> float:
    """Mean width (px) along the band of a mask (H, W) that crosses it: area / rows spanned."""
    rows = int(np.count_nonzero(mask.any(axis=1)))
    return float(np.count_nonzero(mask)) / rows if rows else math.nan


def equivalent_diameter_px(mask: np.ndarray) -> float:
    """Diameter (px) of the disc with the mask's (H, W) area."""
    return 2.0 * math.sqrt(float(np.count_nonzero(mask)) / math.pi)


def ring_contrast(pixels: np.ndarray, mask: np.ndarray, ring_px: int = RING_PX) -> float:
    """|mean grey inside ``mask`` - mean grey of the ring ``ring_px`` wide around it|.

    Args:
        pixels: grey levels (H, W).
        mask: bool (H, W), not empty.
        ring_px: ring width in pixels; the ring is clipped to the frame.
    """
    rows, cols = np.nonzero(mask)
    top, left = max(rows.min() - ring_px, 0), max(cols.min() - ring_px, 0)
    bottom, right = rows.max() + ring_px + 1, cols.max() + ring_px + 1
    window = mask[top:bottom, left:right]
    ring = ndimage.binary_dilation(window, iterations=ring_px) & ~window
    if not ring.any():
        return math.nan
    grey = pixels[top:bottom, left:right].astype(np.float64)
    return abs(float(grey[window].mean()) - float(grey[ring].mean()))


def measured_truth(
    defect_type: str, pixels: np.ndarray, mask: np.ndarray, mm_per_px: float
) -> dict[str, Any]:
    """The manifest's ``defect_*`` cells measured from a mask (H, W) on its frame (H, W).

    An empty mask gives unknown (NaN / empty) cells; the form is never known from a mask.
    """
    if not mask.any():
        return dict(NO_DEFECT_TRUTH)
    method = SIZE_METHODS.get(defect_type, DEFAULT_SIZE_METHOD)
    size_px = (
        width_across_band_px(mask)
        if method == "width_across_band"
        else (equivalent_diameter_px(mask))
    )
    return {
        "defect_size": size_px * mm_per_px,
        "defect_size_unit": "mm",
        "defect_contrast": ring_contrast(pixels, mask),
        "defect_form": "",
    }
