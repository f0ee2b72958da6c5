"""The paper's ablation scores: each maps (x, x_hat, roi) to an anomaly score per image.

Every score is "higher = more anomalous" and is 0 for identical images, except ``psnr``
(negated PSNR) whose minimum is -100 (MSE floored at 1e-10 so no score is infinite).
``roi`` is an optional (N or 1, 1, H, W) mask in [0, 1] (the seal band): the pixel-wise scores
average over it. ``ms_ssim`` (Wang's 5-scale MS-SSIM from ``pytorch_msssim``) exposes no
per-pixel map, so its ROI is applied by replacing the reconstruction by the image outside the
ROI: pixels there count as perfectly reconstructed (the score is diluted by the ROI's share).

All scores run under ``torch.no_grad``: they are for evaluation, never training losses.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import torch
from pytorch_msssim import ms_ssim
from torch import Tensor

from pipeline.errors import SealauditError
from pipeline.models.four_ssim import Window, check_image_pair, four_ms_ssim, four_ssim, ssim_map

log = logging.getLogger(__name__)

ScoreFunction = Callable[[Tensor, Tensor, Tensor | None], Tensor]

MSE_FLOOR = 1e-10  # PSNR of identical images: 100 dB instead of infinity
MS_SSIM_LEVELS = 5  # pytorch_msssim's default weights: 4 downsamplings
MS_SSIM_MAX_WINDOW = 11


def _roi_mean(values: Tensor, roi: Tensor) -> Tensor:
    """(N,) average of (N, 1, H, W) values weighted by the (N, 1, H, W) ROI."""
    return (values * roi).sum(dim=(1, 2, 3)) / roi.sum(dim=(1, 2, 3))


@torch.no_grad()
def mse_score(x: Tensor, y: Tensor, roi: Tensor | None = None) -> Tensor:
    """Mean squared error over the ROI.

    Args:
        x: (N, 1, H, W) images in [0, 1].
        y: (N, 1, H, W) reconstructions in [0, 1].
        roi: optional (N or 1, 1, H, W) mask.

    Returns:
        (N,) scores >= 0.
    """
    return _roi_mean((x - y) ** 2, check_image_pair(x, y, roi))


@torch.no_grad()
def mae_score(x: Tensor, y: Tensor, roi: Tensor | None = None) -> Tensor:
    """Mean absolute error over the ROI; arguments as ``mse_score``. Returns (N,) >= 0."""
    return _roi_mean((x - y).abs(), check_image_pair(x, y, roi))


@torch.no_grad()
def psnr_score(x: Tensor, y: Tensor, roi: Tensor | None = None) -> Tensor:
    """Negated PSNR in dB (data range 1) over the ROI; arguments as ``mse_score``.

    Returns:
        (N,) ``-10 log10(1 / MSE)`` with MSE floored at 1e-10, so within [-100, +inf).
    """
    mse = mse_score(x, y, roi).clamp_min(MSE_FLOOR)
    return 10.0 * torch.log10(mse)


@torch.no_grad()
def ssim_score(
    x: Tensor,
    y: Tensor,
    roi: Tensor | None = None,
    window: Window = "uniform",
    data_range: float | None = 1.0,
) -> Tensor:
    """One minus the ROI-average of the local SSIM map (Wang et al. 2004).

    Args:
        x: (N, 1, H, W) images in [0, 1], H and W >= 7.
        y: (N, 1, H, W) reconstructions in [0, 1].
        roi: optional (N or 1, 1, H, W) mask.
        window: ``"uniform"`` 7 x 7 (authors' default) or ``"gaussian"`` sigma 1.5, 11 x 11.
        data_range: see ``four_ssim.ssim_map``.

    Returns:
        (N,) scores in [0, 2], 0 for identical images.
    """
    roi_f = check_image_pair(x, y, roi)
    return 1.0 - _roi_mean(ssim_map(x, y, window, data_range), roi_f)


def ms_ssim_window(height: int, width: int) -> int:
    """Largest odd window <= 11 that ``pytorch_msssim.ms_ssim`` accepts for this size.

    Raises:
        SealauditError: if even a 3 x 3 window does not fit (short side <= 32 px).
    """
    short = min(height, width)
    downsampling = 2 ** (MS_SSIM_LEVELS - 1)
    largest = math.ceil(short / downsampling)  # win - 1 < short / 16
    win = min(MS_SSIM_MAX_WINDOW, largest if largest % 2 else largest - 1)
    if win < 3:
        raise SealauditError(
            f"images of {height}x{width} px are too small for MS-SSIM: the short side must "
            f"be at least {2 * downsampling + 1} px; use a larger image size or another score"
        )
    return win


@torch.no_grad()
def ms_ssim_score(
    x: Tensor, y: Tensor, roi: Tensor | None = None, win_size: int | None = None
) -> Tensor:
    """One minus Wang's MS-SSIM (``pytorch_msssim``, data range 1.0, Gaussian window).

    Args:
        x: (N, 1, H, W) images in [0, 1], short side >= 33 px.
        y: (N, 1, H, W) reconstructions in [0, 1].
        roi: optional (N or 1, 1, H, W) mask, applied by compositing (see module docstring).
        win_size: odd Gaussian window; ``None`` picks the largest <= 11 that fits.

    Returns:
        (N,) scores in [0, 1].

    Raises:
        SealauditError: if the image is too small for the window.
    """
    roi_f = check_image_pair(x, y, roi)
    height, width = x.shape[-2:]
    win = ms_ssim_window(height, width) if win_size is None else win_size
    minimum = (win - 1) * 2 ** (MS_SSIM_LEVELS - 1) + 1
    if min(height, width) < minimum:
        raise SealauditError(
            f"images of {height}x{width} px are too small for MS-SSIM with win_size={win}: "
            f"the short side must be at least {minimum} px"
        )
    composite = roi_f * y + (1.0 - roi_f) * x
    similarity = ms_ssim(x, composite, data_range=1.0, size_average=False, win_size=win)
    return 1.0 - similarity.view(-1)


def four_ssim_score(x: Tensor, y: Tensor, roi: Tensor | None = None) -> Tensor:
    """Single-scale 4-SSIM anomaly score (N,); see ``four_ssim.four_ssim``."""
    return four_ssim(x, y, roi).score


def four_ms_ssim_score(x: Tensor, y: Tensor, roi: Tensor | None = None) -> Tensor:
    """4-MS-SSIM anomaly score (N,), the paper's inline score; see ``four_ssim.four_ms_ssim``."""
    return four_ms_ssim(x, y, roi).score


SCORE_FUNCTIONS: dict[str, ScoreFunction] = {
    "mse": mse_score,
    "mae": mae_score,
    "psnr": psnr_score,
    "ssim": ssim_score,
    "ms_ssim": ms_ssim_score,
    "four_ssim": four_ssim_score,
    "four_ms_ssim": four_ms_ssim_score,
}
