"""Rendering of a normal heat-seal band and of the acquisition nuisance of each view.

A pouch is rendered once per capture event as separate layers (background web, fused band,
band edges) so that a defect can rebuild the band with other edges (width deviation); each
view then applies its own placement, brightness and sensor noise to the same pouch. All
values are grey levels (0-255) as float until ``apply_view`` quantises them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import Image
from scipy import fft, ndimage

from pipeline.config.synth import Nuisance, Params

EDGE_BEAD_SIGMA_PX = 0.8
MASK_WARP_THRESHOLD = 0.4  # a bilinearly warped 1-px line keeps >= ~0.44 on its nearest pixel


@dataclass(frozen=True)
class Pouch:
    """The layers of one rendered pouch in its own (unwarped) frame.

    Attributes:
        background: (H, W) unsealed web with its texture and illumination.
        band: (H, W) fused seal material with texture and ribs.
        top: (W,) row of the band's upper edge per column (sub-pixel).
        bottom: (W,) row of the band's lower edge per column.
        bead: grey-level amplitude of the thin line along each edge (negative: dark).
        px_per_mm: working pixels per millimetre.
    """

    background: np.ndarray
    band: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    bead: float
    px_per_mm: float

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the image."""
        return (self.background.shape[0], self.background.shape[1])

    def alpha(self, top: np.ndarray | None = None, bottom: np.ndarray | None = None) -> np.ndarray:
        """Band coverage (H, W) in [0, 1] with anti-aliased edges."""
        top = self.top if top is None else top
        bottom = self.bottom if bottom is None else bottom
        alpha = np.zeros(self.shape, dtype=np.float32)
        low, high = self._window(top, bottom)
        rows = np.arange(low, high, dtype=np.float32)[:, None]
        alpha[low:high] = np.clip(rows - top + 0.5, 0, 1) * np.clip(bottom - rows + 0.5, 0, 1)
        return alpha

    def composite(
        self, top: np.ndarray | None = None, bottom: np.ndarray | None = None
    ) -> np.ndarray:
        """The pouch image (H, W) with the given band edges (default: its own)."""
        top = self.top if top is None else top
        bottom = self.bottom if bottom is None else bottom
        alpha = self.alpha(top, bottom)
        image = self.background * (1 - alpha) + self.band * alpha
        # Only rows near the band carry edge beads; skipping the rest keeps rendering cheap.
        low, high = self._window(top, bottom)
        rows = np.arange(low, high, dtype=np.float32)[:, None]
        beads = np.exp(-0.5 * ((rows - top) / EDGE_BEAD_SIGMA_PX) ** 2)
        beads += np.exp(-0.5 * ((rows - bottom) / EDGE_BEAD_SIGMA_PX) ** 2)
        image[low:high] += self.bead * beads
        return image

    def _window(self, top: np.ndarray, bottom: np.ndarray) -> tuple[int, int]:
        margin = 4 * EDGE_BEAD_SIGMA_PX + 1
        low = int(np.clip(np.floor(top.min() - margin), 0, self.shape[0]))
        high = int(np.clip(np.ceil(bottom.max() + margin) + 1, low, self.shape[0]))
        return low, high

    @property
    def image(self) -> np.ndarray:
        """The defect-free pouch image (H, W)."""
        return self.composite()


@dataclass(frozen=True)
class View:
    """Placement of the pouch in one image: pixels, scale factor, radians, relative gain."""

    shift_y: float = 0.0
    shift_x: float = 0.0
    scale: float = 1.0
    angle: float = 0.0
    gain: float = 1.0


@lru_cache(maxsize=32)
def _spectral_amplitude(
    shape: tuple[int, int], beta: float, cutoff_px: float, stretch_x: float
) -> np.ndarray:
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :] * stretch_x
    amplitude = ((fy**2 + fx**2 + (1.0 / cutoff_px) ** 2) ** (-beta / 4)).astype(np.float32)
    amplitude[0, 0] = 0.0
    amplitude.setflags(write=False)
    return amplitude


def fractal_noise(
    rng: np.random.Generator,
    shape: tuple[int, int],
    beta: float,
    cutoff_px: float,
    stretch_x: float = 1.0,
) -> np.ndarray:
    """Zero-mean, unit-std noise (H, W) with power ~ 1/f**beta above 1/cutoff_px cycles/px.

    ``stretch_x`` > 1 damps horizontal frequencies, so structures stretch along x (the
    machine-direction streaks of film run along the band); < 1 stretches them across.
    """
    amplitude = _spectral_amplitude(shape, beta, cutoff_px, stretch_x)
    spectrum = fft.rfft2(rng.standard_normal(shape, dtype=np.float32)) * amplitude
    noise = fft.irfft2(spectrum, s=shape)
    return noise / max(float(noise.std()), 1e-12)


def smooth_profile(rng: np.random.Generator, length: int, corr_px: float) -> np.ndarray:
    """A smooth zero-mean, unit-std 1-D random profile (length,) with correlation ~corr_px."""
    raw = rng.standard_normal(length + int(6 * corr_px))
    smooth = ndimage.gaussian_filter1d(raw, corr_px, mode="wrap")[:length]
    return (smooth - smooth.mean()) / max(float(smooth.std()), 1e-12)


def sample_pouch(rng: np.random.Generator, params: Params, band_scale: float = 1.0) -> Pouch:
    """Draw and render one normal pouch; ``band_scale`` narrows the band (process drift)."""
    height, width = params.image_height, params.image_width
    px_per_mm = params.px_per_mm
    low, high = params.band_height_range
    band_height = rng.uniform(low, high) * height * band_scale
    centre = height / 2 + rng.uniform(-0.06, 0.06) * height
    waviness = rng.uniform(0.2, 0.6)
    top = centre - band_height / 2 + waviness * smooth_profile(rng, width, 8 * px_per_mm)
    bottom = centre + band_height / 2 + waviness * smooth_profile(rng, width, 8 * px_per_mm)
    background = _render_background(rng, (height, width), px_per_mm)
    band_level = float(background.mean()) - rng.uniform(35, 55)
    band = _render_band(rng, (height, width), top, band_level, params)
    return Pouch(
        background.astype(np.float32),
        band.astype(np.float32),
        top.astype(np.float32),
        bottom.astype(np.float32),
        rng.uniform(-18, -8),
        px_per_mm,
    )


def _render_background(
    rng: np.random.Generator, shape: tuple[int, int], px_per_mm: float
) -> np.ndarray:
    # Blotchy, fibrous web (Tyvek-like flocs of a few mm) under a gentle illumination falloff.
    level = rng.uniform(135, 165)
    texture = rng.uniform(6, 10) * fractal_noise(rng, shape, 2.2, 6 * px_per_mm, stretch_x=0.8)
    grain = 2.0 * fractal_noise(rng, shape, 0.5, 1.0)
    cols = np.linspace(-1, 1, shape[1])[None, :]
    rows = np.linspace(-1, 1, shape[0])[:, None]
    light = rng.uniform(-8, 8) * cols - rng.uniform(4, 12) * (cols**2 + 0.3 * rows**2)
    return level + texture + grain + light


def _render_band(
    rng: np.random.Generator,
    shape: tuple[int, int],
    top: np.ndarray,
    level: float,
    params: Params,
) -> np.ndarray:
    # Fused film: finer texture streaked along the band, plus jaw ribs that follow the edge.
    px_per_mm = params.px_per_mm
    texture = rng.uniform(3, 5) * fractal_noise(rng, shape, 1.6, 3 * px_per_mm, stretch_x=3.0)
    rows = np.arange(shape[0], dtype=np.float32)[:, None]
    period = params.rib_period_mm * px_per_mm
    phase = rng.uniform(0, 2 * math.pi)
    ribs = params.rib_amplitude * np.sin(2 * math.pi * (rows - top) / period + phase)
    return level + texture + ribs


def sample_placement(rng: np.random.Generator, params: Params) -> View:
    """Event-level placement and brightness of a pouch (SPEC §2.2 nuisance ranges)."""
    nuisance = params.nuisance
    full_res_per_px = params.full_res_crop_width / params.image_width
    shift_y = nuisance.shift_y_full_res_px / full_res_per_px
    return View(
        shift_y=rng.uniform(-shift_y, shift_y),
        shift_x=rng.uniform(-nuisance.shift_x, nuisance.shift_x) * params.image_width,
        scale=1.0 + rng.uniform(-nuisance.scale, nuisance.scale),
        angle=math.radians(rng.uniform(-nuisance.rotation_deg, nuisance.rotation_deg)),
        gain=1.0 + rng.uniform(-nuisance.brightness, nuisance.brightness),
    )


def jitter_view(rng: np.random.Generator, base: View, nuisance: Nuisance) -> View:
    """A twin view of the same pouch: small extra shift and brightness difference."""
    step = nuisance.view_shift_px
    return View(
        shift_y=base.shift_y + rng.uniform(-step, step) / 2,
        shift_x=base.shift_x + rng.uniform(-step, step),
        scale=base.scale,
        angle=base.angle,
        gain=base.gain * (1.0 + rng.uniform(-nuisance.view_brightness, nuisance.view_brightness)),
    )


def warp(
    image: np.ndarray, view: View, fill: Literal["symmetric", "constant"] = "symmetric"
) -> np.ndarray:
    """Place a pouch-frame array (H, W) into the image frame: rotate and scale about the
    centre, then shift; bilinear. ``fill`` is the ``np.pad`` mode for pixels from outside the
    pouch frame ("symmetric" mirrors the texture, "constant" gives 0 for masks)."""
    height, width = image.shape
    centre = np.array([height - 1, width - 1], dtype=np.float64) / 2
    cos, sin = math.cos(view.angle), math.sin(view.angle)
    # Map output pixels back to the pouch frame with the inverse placement, (row, col) order.
    inverse = np.array([[cos, sin], [-sin, cos]]) / view.scale
    offset = centre - inverse @ (centre + np.array([view.shift_y, view.shift_x]))
    corners = inverse @ np.array([[0, 0, height - 1, height - 1], [0, width - 1, 0, width - 1]])
    corners += offset[:, None]
    pad_y = int(math.ceil(max(0.0, -corners[0].min(), corners[0].max() - height + 1))) + 2
    pad_x = int(math.ceil(max(0.0, -corners[1].min(), corners[1].max() - width + 1))) + 2
    padded = np.pad(image.astype(np.float32), ((pad_y, pad_y), (pad_x, pad_x)), mode=fill)
    # Pillow samples at pixel centres (index + 0.5) and orders coefficients (x, y).
    (e, d), (b, a) = inverse
    c = offset[1] + pad_x + 0.5 - (a + b) / 2
    f = offset[0] + pad_y + 0.5 - (d + e) / 2
    placed = Image.fromarray(padded, mode="F").transform(
        (width, height),
        Image.Transform.AFFINE,
        data=(a, b, c, d, e, f),
        resample=Image.Resampling.BILINEAR,
    )
    return np.asarray(placed, dtype=np.float32)


def apply_view(
    image: np.ndarray,
    mask: np.ndarray | None,
    view: View,
    rng: np.random.Generator,
    sensor_noise: float,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Render one 8-bit view (H, W) of a pouch image and its defect mask (bool, or None)."""
    placed = warp(image, view) * view.gain
    placed += sensor_noise * rng.standard_normal(placed.shape, dtype=np.float32)
    pixels = np.clip(np.rint(placed), 0, 255).astype(np.uint8)
    if mask is None:
        return pixels, None
    placed_mask = warp(mask.astype(np.float32), view, fill="constant")
    # A one-pixel particle is spread over up to four pixels by interpolation; keep those
    # holding at least half of its peak so it never vanishes from the mask.
    threshold = min(MASK_WARP_THRESHOLD, 0.5 * float(placed_mask.max()))
    return pixels, placed_mask >= max(threshold, 1e-3)
