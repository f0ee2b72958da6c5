"""Region-of-interest ("attention mask") functions that focus loss and score on the seal band.

Each function returns a (H, W) bool mask at the working resolution. ``compute_roi`` dispatches
on a kind name and returns an ``Roi`` (kind, parameters, mask) that the checkpoint stores, so
scoring reuses exactly the mask the model was trained with rather than recomputing it.

Kinds:

* ``band``: with band alignment, the rows the alignment puts the band on, widened by a margin;
  otherwise rows whose mean intensity or horizontal texture (averaged over the training
  images) departs from the typical row, i.e. the seal band, widened by a margin; full width.
  Assumes the band covers under half of the rows (SSI: 10-30 %), so the median row is web.
* ``rectangle``: fixed row and column fractions.
* ``file``: a mask PNG (non-zero = inside), resized to the working size.
* ``full``: the whole image (no ROI).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from pipeline.errors import SealauditError

log = logging.getLogger(__name__)

ROI_KINDS = ("band", "rectangle", "file", "full")


class RoiError(SealauditError):
    """The region of interest cannot be built from the given settings or data."""


@dataclass(frozen=True)
class Roi:
    """A region of interest and how it was made.

    Attributes:
        kind: one of ``ROI_KINDS``.
        parameters: the settings that produced it (JSON-able), plus derived facts such as the
            band's rows.
        mask: (H, W) bool, True inside.
    """

    kind: str
    parameters: dict[str, Any] = field(default_factory=dict)
    mask: np.ndarray = field(default_factory=lambda: np.ones((1, 1), dtype=bool))

    @property
    def coverage(self) -> float:
        """Fraction of pixels inside the ROI."""
        return float(self.mask.mean())

    def weights(self, outside_weight: float) -> np.ndarray:
        """Per-pixel loss weights (H, W) float32: 1 inside, ``outside_weight`` outside."""
        return np.where(self.mask, 1.0, outside_weight).astype(np.float32)


def full_mask(height: int, width: int) -> np.ndarray:
    """All-True (H, W) mask."""
    return np.ones((height, width), dtype=bool)


def rectangle_mask(
    height: int, width: int, rows: tuple[float, float], cols: tuple[float, float]
) -> np.ndarray:
    """(H, W) mask of the rows/cols fractions ``[low, high)``, at least one pixel each way."""
    top, bottom = _span(rows, height)
    left, right = _span(cols, width)
    mask = np.zeros((height, width), dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def _span(fractions: tuple[float, float], size: int) -> tuple[int, int]:
    low, high = fractions
    if not 0.0 <= low < high <= 1.0:
        raise RoiError(f"ROI fractions {fractions} must satisfy 0 <= low < high <= 1")
    start = min(int(np.floor(low * size)), size - 1)
    return start, max(int(np.ceil(high * size)), start + 1)


def _deviation(profile: np.ndarray) -> np.ndarray:
    """|profile - median| scaled to [0, 1] (all zeros for a flat profile)."""
    spread = np.abs(profile - np.median(profile))
    top = spread.max()
    return spread / top if top > 1e-6 else np.zeros_like(spread)


def band_profile(images: np.ndarray) -> np.ndarray:
    """Row profile (H,) in [0, 1]: how much each row departs from the typical (web) row.

    Args:
        images: (N, H, W) training images in [0, 1].

    Returns:
        Per row, the larger of the normalised deviation of the mean intensity and of the mean
        absolute horizontal gradient (texture), both averaged over images and columns.
    """
    stack = np.asarray(images, dtype=np.float64)
    if stack.ndim != 3:
        raise RoiError(f"band ROI needs an (N, H, W) image stack, got shape {stack.shape}")
    intensity = stack.mean(axis=(0, 2))
    texture = np.abs(np.diff(stack, axis=2)).mean(axis=(0, 2))
    return np.maximum(_deviation(intensity), _deviation(texture))


def band_mask(
    images: np.ndarray, margin: float = 0.1, threshold: float = 0.5
) -> tuple[np.ndarray, dict[str, int]]:
    """The seal band as full-width rows, estimated from the training images.

    Args:
        images: (N, H, W) normal training images in [0, 1].
        margin: widening on each side as a fraction of H (the band moves between images).
        threshold: profile level (0..1) above which a row belongs to the band.

    Returns:
        (H, W) bool mask and ``{"band_top", "band_bottom", "top", "bottom"}`` rows (the band
        as detected, then widened; ``bottom`` exclusive).

    Raises:
        RoiError: no row stands out (flat images): choose ``rectangle`` or ``full``.
    """
    profile = band_profile(images)
    height, width = profile.size, np.asarray(images).shape[2]
    inside = profile >= threshold
    if not inside.any() or inside.all():
        raise RoiError(
            "band ROI: no seal band stands out in the training images' row profile; "
            "set train.roi.kind to 'rectangle' or 'full'"
        )
    start, stop = _longest_run(inside)
    pad = int(round(margin * height))
    top, bottom = max(0, start - pad), min(height, stop + pad)
    mask = np.zeros((height, width), dtype=bool)
    mask[top:bottom] = True
    return mask, {"band_top": start, "band_bottom": stop, "top": top, "bottom": bottom}


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """[start, stop) of the longest run of True values (the first one on ties)."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, stops = edges[::2], edges[1::2]
    best = int(np.argmax(stops - starts))
    return int(starts[best]), int(stops[best])


def file_mask(path: Path, height: int, width: int) -> np.ndarray:
    """A mask PNG (non-zero = inside) resized with nearest neighbour to (H, W)."""
    path = Path(path)
    if not path.is_file():
        raise RoiError(f"{path}: ROI mask file not found; pass an existing PNG as --roi-mask")
    try:
        with Image.open(path) as image:
            resized = image.convert("L").resize((width, height), Image.Resampling.NEAREST)
            mask = np.asarray(resized) > 0
    except (UnidentifiedImageError, OSError) as error:
        raise RoiError(f"{path}: cannot read the ROI mask ({error}); save it as a PNG") from error
    if not mask.any():
        raise RoiError(f"{path}: ROI mask is empty; mark the region of interest with white")
    return mask


def compute_roi(
    kind: str,
    shape: tuple[int, int],
    *,
    images: np.ndarray | None = None,
    margin: float = 0.1,
    threshold: float = 0.5,
    rows: tuple[float, float] = (0.0, 1.0),
    cols: tuple[float, float] = (0.0, 1.0),
    mask_path: Path | None = None,
    aligned_band: tuple[float, float] | None = None,
) -> Roi:
    """Build the ROI of ``kind`` at working size ``shape`` = (H, W).

    ``images`` (N, H, W) is required for ``band``, ``mask_path`` for ``file``. With
    ``aligned_band`` (the band alignment's row fractions) the ``band`` ROI is known and not
    estimated: those rows widened by ``margin`` of the height, over the ``cols`` fractions.
    """
    height, width = shape
    if kind == "band" and aligned_band is not None:
        rows = (max(aligned_band[0] - margin, 0.0), min(aligned_band[1] + margin, 1.0))
        mask = rectangle_mask(height, width, rows, cols)
        return Roi("band", {"margin": margin, "aligned_rows": list(rows), "cols": list(cols)}, mask)
    if kind == "full":
        return Roi("full", {}, full_mask(height, width))
    if kind == "rectangle":
        mask = rectangle_mask(height, width, rows, cols)
        return Roi("rectangle", {"rows": list(rows), "cols": list(cols)}, mask)
    if kind == "band":
        if images is None or np.asarray(images).shape[1:] != (height, width):
            raise RoiError(f"band ROI needs the training images at {height} x {width}")
        mask, found = band_mask(images, margin, threshold)
        log.info(
            "band ROI: rows %d-%d (detected %d-%d)",
            found["top"],
            found["bottom"],
            found["band_top"],
            found["band_bottom"],
        )
        return Roi("band", {"margin": margin, "threshold": threshold, **found}, mask)
    if kind == "file":
        if mask_path is None:
            raise RoiError("ROI kind 'file' needs a mask PNG: pass --roi-mask PATH to the stage")
        mask = file_mask(mask_path, height, width)
        return Roi("file", {"path": str(mask_path)}, mask)
    raise RoiError(f"unknown ROI kind {kind!r}; choose one of {list(ROI_KINDS)}")
