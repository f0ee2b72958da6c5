"""Separable filtering helpers shared by the 4-MS-SSIM score and the heatmap pooling.

Sums of shifted slices rather than convolution kernels: an image's result does not depend on
the batch it is computed in, and short kernels run ~4x faster on CPU.
"""

from __future__ import annotations

import torch
from torch import Tensor


def symmetric_pad(x: Tensor, pad: int) -> Tensor:
    """(N, C, H, W) -> (N, C, H + 2 pad, W + 2 pad), mirrored with the edge pixel repeated
    (scipy's ``mode="reflect"``); needs H, W >= pad."""
    x = torch.cat([x[..., :pad].flip(-1), x, x[..., -pad:].flip(-1)], dim=-1)
    return torch.cat([x[..., :pad, :].flip(-2), x, x[..., -pad:, :].flip(-2)], dim=-2)


def correlate_1d(x: Tensor, taps: list[float], dim: int) -> Tensor:
    """Valid correlation of (..., H, W) along ``dim`` (-1 or -2): ``len(taps) - 1`` shorter.

    A sum of shifted slices on purpose: unlike a convolution kernel, an image's result does
    not depend on the batch it is computed in, and short kernels run ~4x faster on CPU.
    """
    length = x.shape[dim] - len(taps) + 1
    out = x.narrow(dim, 0, length) * taps[0]
    for offset, tap in enumerate(taps[1:], start=1):
        out.add_(x.narrow(dim, offset, length), alpha=tap)
    return out


def gaussian_taps(sigma: float, radius: int) -> list[float]:
    """2 radius + 1 normalised Gaussian weights."""
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    return (kernel / kernel.sum()).tolist()
