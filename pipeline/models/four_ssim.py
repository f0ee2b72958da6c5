"""Four-component multi-scale SSIM (4-MS-SSIM, Li & Bovik 2010): the inline anomaly score.

Computed as the paper's authors compute it (their ``metrics/ssimlib.py``, built on
scikit-image), batched in torch:

- Local SSIM map: ``K1 = 0.01``, ``K2 = 0.03``, uniform 7 x 7 window (Gaussian sigma 1.5,
  11 taps, optional), half-sample symmetric padding (scipy's ``mode="reflect"``), sample
  covariance (factor 49/48, kept for the Gaussian window too because the authors pass
  ``win_size=7`` in both cases). The full map, borders included, enters the weighted sums.
- Data range: **1.0 by default** (inputs are in [0, 1]). The authors take it from the image
  pair (``max(range(x), range(x_hat))``, per scale); that makes ``C1``/``C2`` depend on content
  far from a pixel, so a dark, low-contrast image scores differently from a bright one with the
  same defect. ``data_range=None`` reproduces the authors' choice.
- Gradients: Sobel magnitude ``sqrt(gh^2 + gv^2)`` with scikit-image's ``sobel_h``/``sobel_v``
  normalisation (kernel ``[1, 2, 1]^T [1, 0, -1] / 4``), so a unit step between 0 and 1 has
  magnitude 1 and the 0.12 / 0.06 thresholds mean what they mean in the authors' code.
- Regions: changed edge (magnitude > 0.12 in exactly one image), preserved edge (both),
  texture (neither, mean magnitude > 0.06), smooth (the rest); weights 0.5/0.25/0.125/0.125.
- Scales 1, 1/2, 1/4, 1/8 with weights 0.5/0.25/0.125/0.125; a scale whose side would be
  under 7 px is skipped and the remaining weights renormalised. Each scale is resized from
  the full-resolution image as scikit-image's ``resize(anti_aliasing=True)`` does (Gaussian
  blur sigma ``(factor - 1) / 2``, then bilinear at pixel centres); the ROI is box-averaged.

The score passes no gradient (the functions run under ``torch.no_grad``): never train on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from pipeline.errors import SealauditError
from pipeline.models.filters import correlate_1d, gaussian_taps, symmetric_pad
from pipeline.models.pooling import POOLINGS, Pooling, smoothed_max

log = logging.getLogger(__name__)

Window = Literal["uniform", "gaussian"]

SCALES = (1.0, 0.5, 0.25, 0.125)
SCALE_WEIGHTS = (0.5, 0.25, 0.125, 0.125)
# changed edge, preserved edge, texture, smooth (Li & Bovik 2010)
REGION_WEIGHTS = (0.5, 0.25, 0.125, 0.125)
EDGE_THRESHOLD = 0.12
TEXTURE_THRESHOLD = 0.06
MIN_SCALE_SIZE = 7
K1, K2 = 0.01, 0.03
UNIFORM_WINDOW = 7
GAUSSIAN_SIGMA = 1.5
GAUSSIAN_RADIUS = 5  # int(3.5 * 1.5 + 0.5): scikit-image's 11-tap window
RESIZE_TRUNCATE = 4.0  # scipy.ndimage.gaussian_filter default, used by skimage's resize
COV_NORM = 49.0 / 48.0  # sample covariance over a 7 x 7 window, as scikit-image


@dataclass(frozen=True)
class FourSSIMResult:
    """Scores and maps of one batch.

    Attributes:
        score: (N,) anomaly score ``1 - 4-MS-SSIM``; 0 for identical images.
        heatmap: (N, H, W) per-pixel anomaly, ``(1 - SSIM)`` times the normalised region
            weight, upsampled and combined over scales; zero outside the ROI. Its average over
            the ROI approximates ``score`` (exactly at a single scale).
        scale_scores: (N, S) the 4-SSIM of each scale used (similarity, not anomaly).
        scales_used: the S scale factors that were large enough to use.
    """

    score: Tensor
    heatmap: Tensor
    scale_scores: Tensor
    scales_used: tuple[float, ...]


def local_mean(x: Tensor, window: Window = "uniform") -> Tensor:
    """Windowed local mean of every channel, same size as the input.

    Args:
        x: (N, C, H, W), H and W >= 5.
        window: ``"uniform"`` 7 x 7 box or ``"gaussian"`` sigma 1.5, 11 x 11.

    Returns:
        (N, C, H, W).
    """
    if window == "uniform":
        taps, scale = [1.0] * UNIFORM_WINDOW, 1.0 / UNIFORM_WINDOW**2
    elif window == "gaussian":
        taps, scale = gaussian_taps(GAUSSIAN_SIGMA, GAUSSIAN_RADIUS), 1.0
    else:
        raise ValueError(f"window must be 'uniform' or 'gaussian', got {window!r}")
    padded = symmetric_pad(x, len(taps) // 2)
    return correlate_1d(correlate_1d(padded, taps, -1), taps, -2) * scale


def antialiased_resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """(N, C, H, W) -> (N, C, h, w) as scikit-image's ``resize(anti_aliasing=True)``.

    Gaussian blur with sigma ``(H / h - 1) / 2`` per axis (mirror padding, truncated at 4
    sigma), then bilinear interpolation at pixel centres. Needs h, w >= 3 (pad < size).
    """
    for dim, old, new in ((-2, x.shape[-2], size[0]), (-1, x.shape[-1], size[1])):
        sigma = max(0.0, (old / new - 1) / 2)
        if sigma == 0:
            continue
        radius = int(RESIZE_TRUNCATE * sigma + 0.5)
        # skimage's "reflect" is scipy's "mirror", which is torch's "reflect"
        pad = (0, 0, radius, radius) if dim == -2 else (radius, radius, 0, 0)
        x = correlate_1d(F.pad(x, pad, mode="reflect"), gaussian_taps(sigma, radius), dim)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def ssim_map(
    x: Tensor, y: Tensor, window: Window = "uniform", data_range: float | None = 1.0
) -> Tensor:
    """Local SSIM at every pixel.

    Args:
        x: (N, 1, H, W) image in [0, 1].
        y: (N, 1, H, W) reconstruction in [0, 1].
        window: local window, see ``local_mean``.
        data_range: dynamic range L of ``C1 = (K1 L)^2``, ``C2 = (K2 L)^2``; ``None`` takes it
            per image from the pair (the authors' choice), 1.0 if both images are constant.

    Returns:
        (N, 1, H, W) SSIM in [-1, 1]; exactly 1 where x == y.
    """
    mu_x, mu_y, m_xx, m_yy, m_xy = local_mean(
        torch.cat([x, y, x * x, y * y, x * y], dim=1), window
    ).split(1, dim=1)
    var_x = COV_NORM * (m_xx - mu_x * mu_x)
    var_y = COV_NORM * (m_yy - mu_y * mu_y)
    cov = COV_NORM * (m_xy - mu_x * mu_y)
    if data_range is None:
        spread = torch.maximum(_value_range(x), _value_range(y))
        rng: Tensor | float = torch.where(spread > 0, spread, torch.ones_like(spread))
    else:
        rng = data_range
    c1 = (K1 * rng) ** 2
    c2 = (K2 * rng) ** 2
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    return num / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))


def _value_range(x: Tensor) -> Tensor:
    """(N, 1, 1, 1) max minus min of each image."""
    return x.amax(dim=(1, 2, 3), keepdim=True) - x.amin(dim=(1, 2, 3), keepdim=True)


def sobel_magnitude(x: Tensor) -> Tensor:
    """Sobel gradient magnitude with scikit-image's normalisation (a 0-to-1 step gives 1).

    Args:
        x: (N, 1, H, W).

    Returns:
        (N, 1, H, W) ``sqrt(gh^2 + gv^2)`` with kernels ``[1, 2, 1]^T [1, 0, -1] / 4``.
    """
    padded = symmetric_pad(x, 1)
    smooth = [0.25, 0.5, 0.25]
    grad_h = correlate_1d(correlate_1d(padded, [1.0, 0.0, -1.0], -2), smooth, -1)
    grad_v = correlate_1d(correlate_1d(padded, smooth, -2), [1.0, 0.0, -1.0], -1)
    return torch.sqrt(grad_h * grad_h + grad_v * grad_v)


def region_weights(x: Tensor, y: Tensor) -> Tensor:
    """Per-pixel weight of the four-component image model.

    Args:
        x: (N, 1, H, W) image in [0, 1].
        y: (N, 1, H, W) reconstruction in [0, 1].

    Returns:
        (N, 1, H, W) 0.5 changed edge, 0.25 preserved edge, 0.125 texture or smooth.
    """
    grad_x, grad_y = sobel_magnitude(x), sobel_magnitude(y)
    edge_x, edge_y = grad_x > EDGE_THRESHOLD, grad_y > EDGE_THRESHOLD
    changed, preserved = edge_x ^ edge_y, edge_x & edge_y
    texture = ~(edge_x | edge_y) & ((grad_x + grad_y) / 2 > TEXTURE_THRESHOLD)
    w_changed, w_preserved, w_texture, w_smooth = REGION_WEIGHTS
    weights = torch.full_like(x, w_smooth).masked_fill_(texture, w_texture)
    return weights.masked_fill_(preserved, w_preserved).masked_fill_(changed, w_changed)


@torch.no_grad()
def four_ms_ssim(
    x: Tensor,
    y: Tensor,
    roi: Tensor | None = None,
    window: Window = "uniform",
    data_range: float | None = 1.0,
    scales: tuple[float, ...] = SCALES,
    scale_weights: tuple[float, ...] = SCALE_WEIGHTS,
    pooling: Pooling = "mean",
    pooling_sigma: float = 1.0,
) -> FourSSIMResult:
    """4-MS-SSIM anomaly score and heatmap of a batch.

    Args:
        x: (N, 1, H, W) images in [0, 1], H and W >= 7.
        y: (N, 1, H, W) reconstructions in [0, 1].
        roi: optional (N, 1, H, W) or (1, 1, H, W) bool/float mask in [0, 1] (the seal band);
            the weighted sums run over it only. Must be non-empty for every image.
        window: local SSIM window, ``"uniform"`` (authors' default) or ``"gaussian"``.
        data_range: see ``ssim_map``; ``None`` is the authors' per-pair range.
        scales: scale factors, 1.0 first.
        scale_weights: one weight per scale, normalised over the scales used.
        pooling: ``"mean"`` (the paper: 1 - 4-MS-SSIM) or ``"max"`` (the heatmap's
            Gaussian-smoothed maximum inside the ROI; see ``pipeline.models.pooling``).
        pooling_sigma: the smoothing of ``"max"``, in pixels.

    Returns:
        ``FourSSIMResult`` with score (N,) and heatmap (N, H, W).
    """
    roi_f = check_image_pair(x, y, roi)
    height, width = x.shape[-2:]
    used = _usable_scales(height, width, scales, scale_weights)
    total = sum(weight for _, weight, _ in used)
    similarity = []
    heatmap = torch.zeros_like(x)
    for _, weight, size in used:
        quality, local = _one_scale(x, y, roi_f, size, window, data_range)
        similarity.append(quality)
        heatmap += (weight / total) * F.interpolate(
            local, size=(height, width), mode="bilinear", align_corners=False
        )
    scale_scores = torch.stack(similarity, dim=1)
    alphas = torch.tensor([w / total for _, w, _ in used], dtype=x.dtype, device=x.device)
    heatmap = heatmap * roi_f
    if pooling not in POOLINGS:
        raise ValueError(f"pooling {pooling!r}; choose from {list(POOLINGS)}")
    score = (
        1.0 - scale_scores @ alphas
        if pooling == "mean"
        else smoothed_max(heatmap, roi_f, pooling_sigma)
    )
    return FourSSIMResult(
        score=score,
        heatmap=heatmap.squeeze(1),
        scale_scores=scale_scores,
        scales_used=tuple(scale for scale, _, _ in used),
    )


def four_ssim(
    x: Tensor,
    y: Tensor,
    roi: Tensor | None = None,
    window: Window = "uniform",
    data_range: float | None = 1.0,
    pooling: Pooling = "mean",
    pooling_sigma: float = 1.0,
) -> FourSSIMResult:
    """Single-scale 4-SSIM: ``four_ms_ssim`` at full resolution only (same arguments)."""
    return four_ms_ssim(
        x, y, roi, window, data_range, (1.0,), (1.0,), pooling=pooling, pooling_sigma=pooling_sigma
    )


def _one_scale(
    x: Tensor,
    y: Tensor,
    roi: Tensor,
    size: tuple[int, int],
    window: Window,
    data_range: float | None,
) -> tuple[Tensor, Tensor]:
    """4-SSIM (N,) and the normalised local anomaly map (N, 1, h, w) at one scale."""
    if size != tuple(x.shape[-2:]):
        x, y = antialiased_resize(torch.cat([x, y], dim=1), size).split(1, dim=1)
        roi = F.interpolate(roi, size=size, mode="area")
    similarity = ssim_map(x, y, window, data_range)
    weights = region_weights(x, y) * roi
    weight_sum = weights.sum(dim=(1, 2, 3))
    quality = (weights * similarity).sum(dim=(1, 2, 3)) / weight_sum
    # Scaled so that the map's average over the ROI equals 1 - quality.
    scale = (roi.sum(dim=(1, 2, 3)) / weight_sum).view(-1, 1, 1, 1)
    return quality, weights * (1.0 - similarity) * scale


def _usable_scales(
    height: int, width: int, scales: tuple[float, ...], weights: tuple[float, ...]
) -> list[tuple[float, float, tuple[int, int]]]:
    """(scale, weight, (h, w)) of the scales whose both sides are >= 7 px."""
    if len(scales) != len(weights) or not scales:
        raise ValueError("scales and scale_weights must be non-empty and of equal length")
    used = []
    for scale, weight in zip(scales, weights, strict=True):
        size = (int(height * scale), int(width * scale))
        if min(size) >= MIN_SCALE_SIZE:
            used.append((scale, weight, size))
        else:
            log.debug("4-MS-SSIM: scale %s skipped (%s px < %d)", scale, size, MIN_SCALE_SIZE)
    if not used:
        raise SealauditError(
            f"images of {height}x{width} px are too small for 4-SSIM: "
            f"both sides must be at least {MIN_SCALE_SIZE} px"
        )
    return used


def check_image_pair(x: Tensor, y: Tensor, roi: Tensor | None) -> Tensor:
    """Validate an (image, reconstruction, ROI) batch; return the ROI as float (N, 1, H, W).

    Raises:
        ValueError: on shape mismatch, values outside [0, 1] or an empty ROI.
    """
    if x.dim() != 4 or x.shape[1] != 1 or x.shape != y.shape:
        raise ValueError(f"expected two (N, 1, H, W) tensors, got {tuple(x.shape)}, {y.shape}")
    if not (x.is_floating_point() and y.is_floating_point()):
        raise ValueError("images must be floating point in [0, 1]")
    low, high = min(x.min(), y.min()).item(), max(x.max(), y.max()).item()
    if low < -1e-6 or high > 1 + 1e-6:
        raise ValueError(f"images must lie in [0, 1], got values in [{low:.4g}, {high:.4g}]")
    if roi is None:
        return torch.ones_like(x)
    if roi.dim() != 4 or roi.shape[1] != 1 or roi.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"roi must be (N or 1, 1, H, W) like the images, got {tuple(roi.shape)}")
    roi_f = roi.to(dtype=x.dtype, device=x.device).expand_as(x)
    if bool((roi_f.sum(dim=(1, 2, 3)) <= 0).any()):
        raise ValueError("roi is empty for at least one image: the score would be undefined")
    return roi_f
