"""Seal defects drawn onto a rendered pouch: one function per defect type (SPEC §2.2).

Each function takes the pouch, a generator, a ``severity`` in [0, 1] (0 = the low-contrast
end of the type's range) and an optional ``Override``, and returns the modified image (H, W) in
grey levels, the defect mask (H, W, bool) in the pouch frame and the defect's ground truth
(``DefectTruth``: characteristic size as rendered, contrast as drawn). Sizes are in millimetres,
converted with the pouch's ``px_per_mm`` and never thinner than one working pixel, so a defect
cannot vanish when the image is downscaled; the recorded size is the rendered one, after that
floor. An override replaces a drawn value but the draw is still made, so every other draw, and
every image generated without an override, stays byte-identical.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy import ndimage

from pipeline.data.defect_truth import (
    FORMS,
    NO_OVERRIDE,
    SIZE_RANGES,
    WIDTH_DEVIATION_LENGTH_MM,
    DefectTruth,
    Override,
)
from pipeline.data.seal_texture import Pouch, fractal_noise, smooth_profile

MIN_WIDTH_PX = 1.0
X_MARGIN = 0.1  # defects stay in the central 80 % so shift and scale keep them in frame
PARTICLE_SHARE = 0.6
Rendered = tuple[np.ndarray, np.ndarray, DefectTruth]
DefectFn = Callable[[Pouch, np.random.Generator, float, Override], Rendered]


def _lerp(low: float, high: float, severity: float) -> float:
    return low + (high - low) * severity


def _mm(
    pouch: Pouch, low_mm: float, high_mm: float, rng: np.random.Generator, size: float | None = None
) -> float:
    drawn = rng.uniform(low_mm, high_mm)  # always drawn, so later draws do not move
    return max((drawn if size is None else size) * pouch.px_per_mm, MIN_WIDTH_PX)


def _truth(pouch: Pouch, size_px: float, contrast: float, form: str = "") -> DefectTruth:
    return DefectTruth(size_px / pouch.px_per_mm, "mm", abs(contrast), form)


def _sign(rng: np.random.Generator, p_positive: float = 0.5) -> float:
    return 1.0 if rng.random() < p_positive else -1.0


@lru_cache(maxsize=8)
def _grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    rows.setflags(write=False)
    cols.setflags(write=False)
    return rows, cols


def _band_point(pouch: Pouch, rng: np.random.Generator, span: float = 0.0) -> tuple[float, float]:
    """(row, col) inside the band, with room for ``span`` px along the band."""
    width = pouch.shape[1]
    low = X_MARGIN * width + span / 2
    high = max((1 - X_MARGIN) * width - span / 2, low)
    col = rng.uniform(low, high)
    top, bottom = pouch.top[int(col)], pouch.bottom[int(col)]
    return top + rng.uniform(0.2, 0.8) * (bottom - top), col


def _pixel_centre(point: tuple[float, float]) -> tuple[float, float]:
    """Snap to a pixel centre, so a one-pixel particle covers a whole pixel, not four halves."""
    return float(round(point[0])), float(round(point[1]))


def _soft_box(values: np.ndarray, low: float, high: float, soft: float) -> np.ndarray:
    """1 inside [low, high], ramping to 0 over ``soft`` px outside-in on both ends."""
    return np.clip((values - low) / soft + 0.5, 0, 1) * np.clip((high - values) / soft + 0.5, 0, 1)


def _rotated(pouch: Pouch, centre: tuple[float, float], angle: float) -> tuple[np.ndarray, ...]:
    """Coordinates (along, across) of every pixel for an axis at ``angle`` from the band."""
    rows, cols = _grid(pouch.shape)
    dy, dx = rows - centre[0], cols - centre[1]
    cos, sin = math.cos(angle), math.sin(angle)
    return dx * cos + dy * sin, -dx * sin + dy * cos


def channel(
    pouch: Pouch, rng: np.random.Generator, severity: float, override: Override = NO_OVERRIDE
) -> Rendered:
    """Unsealed path 1-6 full-res px wide crossing the whole band, tilt within +-20 deg of
    perpendicular, 5-25 grey levels (the low end is barely visible, as for inspectors).
    Size: width (floored at one stored pixel)."""
    width_px = _mm(pouch, *SIZE_RANGES["channel", ""], rng, override.size)
    centre = _band_point(pouch, rng)
    tilt = math.radians(90 + rng.uniform(-20, 20))
    _, across = _rotated(pouch, centre, tilt)
    coverage = np.clip(width_px / 2 + 0.5 - np.abs(across), 0, 1)
    footprint = coverage * pouch.alpha(pouch.top - 1, pouch.bottom + 1)
    contrast = _lerp(5, 25, severity) * _sign(rng, 0.7)
    truth = _truth(pouch, width_px, contrast)
    return pouch.image + contrast * footprint, footprint >= 0.5, truth


def wrinkle(
    pouch: Pouch, rng: np.random.Generator, severity: float, override: Override = NO_OVERRIDE
) -> Rendered:
    """Crease 2-15 mm long at 30-90 deg to the band: a bright ridge beside a dark shadow of
    10-40 grey levels. Size: tip-to-tip length (the mask, where the taper is >= 0.3, covers
    the central 85 % of it)."""
    length = _mm(pouch, *SIZE_RANGES["wrinkle", ""], rng, override.size)
    centre = _band_point(pouch, rng)
    angle = math.radians(rng.uniform(30, 90)) * _sign(rng)
    along, across = _rotated(pouch, centre, angle)
    gap, sigma = rng.uniform(0.6, 1.0), 0.7
    ridge = np.exp(-0.5 * ((across - gap) / sigma) ** 2)
    ridge -= np.exp(-0.5 * ((across + gap) / sigma) ** 2)
    taper = np.clip((length / 2 - np.abs(along)) / (0.25 * length), 0, 1)
    amplitude = _lerp(10, 40, severity) * _sign(rng)
    mask = (np.abs(across) <= gap + 1.0) & (taper >= 0.3)
    return pouch.image + amplitude * ridge * taper, mask, _truth(pouch, length, amplitude)


def incomplete_seal(
    pouch: Pouch, rng: np.random.Generator, severity: float, override: Override = NO_OVERRIDE
) -> Rendered:
    """Unfused stretch 2-30 mm along the band from one edge over 30-100 % of its depth:
    texture missing or mottled, mean shift 10-40 grey levels, soft edges. Size: length along
    the band (between the half-weight points of the soft ends)."""
    length = _mm(pouch, *SIZE_RANGES["incomplete_seal", ""], rng, override.size)
    _, col = _band_point(pouch, rng, span=length)
    band_height = pouch.bottom - pouch.top
    # The unfused front is ragged, not straight: its depth wanders along the band.
    ragged = 0.12 * band_height * smooth_profile(rng, pouch.shape[1], 1.5 * pouch.px_per_mm)
    depth = rng.uniform(0.3, 1.0) * band_height + ragged
    soft = rng.uniform(1.5, 3.0)
    rows, cols = _grid(pouch.shape)
    wander = 1.5 * smooth_profile(rng, pouch.shape[0], 2.0)[:, None]
    along = _soft_box(cols + wander, col - length / 2, col + length / 2, soft + 1.0)
    if rng.random() < 0.5:
        inner = np.clip((pouch.top + depth - rows) / soft + 0.5, 0, 1)
    else:
        inner = np.clip((rows - (pouch.bottom - depth)) / soft + 0.5, 0, 1)
    weight = along * inner * pouch.alpha()
    image = pouch.image
    shift = _lerp(10, 40, severity) * _sign(rng, 0.7)
    unfused = ndimage.gaussian_filter(image, 2.5) + shift
    if rng.random() < 0.5:
        unfused += 5 * fractal_noise(rng, pouch.shape, 2.5, 2 * pouch.px_per_mm)
    truth = _truth(pouch, length, shift)
    return image * (1 - weight) + unfused * weight, weight >= 0.5, truth


def contamination(
    pouch: Pouch, rng: np.random.Generator, severity: float, override: Override = NO_OVERRIDE
) -> Rendered:
    """Dark or bright particle 0.1-2 mm or fibre 1-10 mm, 30-80 grey levels, optional halo.
    Size: the particle's equivalent diameter or the fibre's centre-line length (the mask also
    holds the halo, which is not part of the size)."""
    centre = _pixel_centre(_band_point(pouch, rng))
    particle = rng.random() < PARTICLE_SHARE
    if override.form is not None:
        particle = override.form == "particle"
    draw = _particle if particle else _fibre
    core, size_px = draw(pouch, rng, centre, override.size)
    amplitude = _lerp(30, 80, severity) * _sign(rng, 0.4)
    delta = amplitude * core
    mask = core >= 0.5
    if rng.random() < 0.35:
        # An air gap around the particle shows with the opposite sign (a void halo).
        distance = ndimage.distance_transform_edt(~mask)
        halo = np.clip(rng.uniform(0.8, 2.0) + 0.5 - distance, 0, 1) * (1 - core)
        delta -= 0.4 * amplitude * halo
        mask |= halo >= 0.5
    truth = _truth(pouch, size_px, amplitude, FORMS[0] if particle else FORMS[1])
    return pouch.image + delta, mask, truth


def particle_footprint(
    pouch: Pouch, rng: np.random.Generator, centre: tuple[float, float]
) -> np.ndarray:
    """Coverage (H, W) in [0, 1] of an irregular particle 0.1-2 mm across at ``centre``."""
    return _particle(pouch, rng, centre)[0]


def _particle(
    pouch: Pouch, rng: np.random.Generator, centre: tuple[float, float], size: float | None = None
) -> tuple[np.ndarray, float]:
    """Coverage (H, W) of an elliptic particle and its equivalent diameter in px."""
    radius = _mm(pouch, *SIZE_RANGES["contamination", "particle"], rng, size) / 2
    major, minor = radius * rng.uniform(1.0, 1.3), max(radius * rng.uniform(0.7, 1.0), 0.5)
    along, across = _rotated(pouch, centre, rng.uniform(0, math.pi))
    radial = np.sqrt((along / major) ** 2 + (across / minor) ** 2)
    return np.clip((1 - radial) * minor + 0.5, 0, 1), 2 * math.sqrt(major * minor)


def _fibre(
    pouch: Pouch, rng: np.random.Generator, centre: tuple[float, float], size: float | None = None
) -> tuple[np.ndarray, float]:
    """Coverage (H, W) of a one-pixel bent fibre and its centre-line length in px."""
    length = _mm(pouch, *SIZE_RANGES["contamination", "fibre"], rng, size)
    angle, bend = rng.uniform(0, math.pi), rng.uniform(-0.3, 0.3) * length
    steps = np.linspace(-0.5, 0.5, max(int(4 * length), 8))
    rows = (
        centre[0] + steps * length * math.sin(angle) + bend * (1 - 4 * steps**2) * math.cos(angle)
    )
    cols = (
        centre[1] + steps * length * math.cos(angle) - bend * (1 - 4 * steps**2) * math.sin(angle)
    )
    seeds = np.ones(pouch.shape, dtype=bool)
    inside = (
        (rows >= 0) & (rows < pouch.shape[0] - 0.5) & (cols >= 0) & (cols < pouch.shape[1] - 0.5)
    )
    seeds[np.rint(rows[inside]).astype(int), np.rint(cols[inside]).astype(int)] = False
    distance = ndimage.distance_transform_edt(seeds)
    arc = float(np.hypot(np.diff(rows[inside]), np.diff(cols[inside])).sum())
    return np.clip(MIN_WIDTH_PX / 2 + 0.5 - distance, 0, 1), arc


def void(
    pouch: Pouch, rng: np.random.Generator, severity: float, override: Override = NO_OVERRIDE
) -> Rendered:
    """Blister: ellipse 0.5-5 mm, bright interior with a darker rim (or the reverse),
    15-50 grey levels (range assumed; SPEC gives none). Size: major axis of the interior
    (the mask also holds the rim)."""
    major = _mm(pouch, *SIZE_RANGES["void", ""], rng, override.size) / 2
    minor = max(major * rng.uniform(0.5, 1.0), 0.7)
    centre = _pixel_centre(_band_point(pouch, rng))
    along, across = _rotated(pouch, centre, rng.uniform(0, math.pi))
    radial = np.sqrt((along / major) ** 2 + (across / minor) ** 2)
    interior = np.clip((1 - radial) * minor + 0.5, 0, 1)
    rim_width = max(0.6, 0.25 * minor)
    rim = np.exp(-0.5 * ((radial - 1) * minor / rim_width) ** 2)
    dome = 0.6 + 0.4 * np.clip(1 - radial**2, 0, 1)
    amplitude = _lerp(15, 50, severity) * _sign(rng, 0.7)
    delta = amplitude * (interior * dome - 0.7 * rim * (1 - interior))
    mask = (interior >= 0.5) | (rim * (1 - interior) >= 0.5)
    return pouch.image + delta, mask, _truth(pouch, 2 * major, amplitude)


def burn(
    pouch: Pouch, rng: np.random.Generator, severity: float, override: Override = NO_OVERRIDE
) -> Rendered:
    """Overheated stretch 5-50 mm along the band: darkening 10-40 grey levels with bubbles.
    Size: length along the band (between the half-weight points of the soft ends)."""
    length = _mm(pouch, *SIZE_RANGES["burn", ""], rng, override.size)
    _, col = _band_point(pouch, rng, span=length)
    _, cols = _grid(pouch.shape)
    along = _soft_box(cols, col - length / 2, col + length / 2, rng.uniform(3, 8))
    weight = along * pouch.alpha(pouch.top - 1.5, pouch.bottom + 1.5)
    darkening = _lerp(10, 40, severity)
    white = rng.standard_normal(pouch.shape)
    bubbles = ndimage.gaussian_filter(white, 0.7) - ndimage.gaussian_filter(white, 2.0)
    spots = np.clip((bubbles / bubbles.std() - 1.3) / 0.8, 0, 1)
    uneven = 0.75 + 0.25 * fractal_noise(rng, pouch.shape, 2.0, 4 * pouch.px_per_mm)
    delta = weight * (-darkening * uneven + rng.uniform(0.4, 0.9) * darkening * spots)
    return pouch.image + delta, weight >= 0.5, _truth(pouch, length, darkening)


def width_deviation(
    pouch: Pouch, rng: np.random.Generator, severity: float, override: Override = NO_OVERRIDE
) -> Rendered:
    """Band locally narrowed to 90-50 % of nominal (by severity) with wavy edges, over 5-40 mm
    (length assumed; SPEC gives none); the mask is the band area lost. Size: the narrowing
    (1 - kept fraction) at the plateau; contrast: mean absolute grey change over the mask."""
    length = _mm(pouch, *WIDTH_DEVIATION_LENGTH_MM, rng, override.length_mm)
    _, col = _band_point(pouch, rng, span=length)
    cols = np.arange(pouch.shape[1], dtype=np.float64)
    plateau = np.clip((length / 2 - np.abs(cols - col)) / (0.3 * length), 0, 1)
    plateau = plateau * plateau * (3 - 2 * plateau)
    kept = _lerp(0.9, 0.5, severity) if override.size is None else 1 - override.size
    loss = (1 - kept) * (pouch.bottom - pouch.top) * plateau
    period = _mm(pouch, 3, 8, rng)
    wave = rng.uniform(0.2, 0.6) * np.sin(2 * math.pi * cols / period + rng.uniform(0, 6.3))
    share_top = rng.choice([0.0, 0.5, 1.0])
    top = pouch.top + loss * share_top + wave * plateau
    bottom = pouch.bottom - loss * (1 - share_top) + wave * plateau
    mask = pouch.alpha() - pouch.alpha(top, bottom) >= 0.5
    image = pouch.composite(top, bottom)
    change = float(np.abs(image - pouch.image)[mask].mean()) if mask.any() else 0.0
    return image, mask, DefectTruth(1 - kept, "fraction", change, "")


DEFECTS: dict[str, DefectFn] = {
    "channel": channel,
    "wrinkle": wrinkle,
    "incomplete_seal": incomplete_seal,
    "contamination": contamination,
    "void": void,
    "burn": burn,
    "width_deviation": width_deviation,
}


def apply_defect(
    kind: str,
    pouch: Pouch,
    rng: np.random.Generator,
    severity: float,
    override: Override = NO_OVERRIDE,
) -> Rendered:
    """Draw defect ``kind`` on ``pouch``.

    Returns:
        image (H, W) float, mask (H, W) bool and the defect's ``DefectTruth``.
    """
    if kind not in DEFECTS:
        raise ValueError(f"unknown defect type {kind!r}; choose from {sorted(DEFECTS)}")
    override.check(kind)
    return DEFECTS[kind](pouch, rng, severity, override)
