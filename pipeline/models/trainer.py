"""The training loop: seeded, deterministic on CPU, ROI-weighted loss, early stopping.

Pure: takes arrays and a ``FitParams``, returns the trained model and its history; no file
I/O. Determinism: the loop runs inside ``torch.random.fork_rng`` seeded with ``seed`` (dropout
and augmentation draw from it), the batch order comes from a seeded ``torch.Generator``,
``num_workers=0``, and ``torch.use_deterministic_algorithms`` is on for the duration (then
restored). Two runs with the same inputs on the same CPU build give identical weights.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

from pipeline.config.train import FitParams
from pipeline.errors import SealauditError

log = logging.getLogger(__name__)

SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


class DivergedError(SealauditError):
    """The loss became NaN or infinite: the fit diverged and its weights are meaningless."""


def check_finite(loss: float, where: str, fit: FitParams) -> None:
    """Stop training at the first non-finite loss, naming where and the usual fix.

    Raises:
        DivergedError: ``loss`` is NaN or infinite.
    """
    if not math.isfinite(loss):
        raise DivergedError(
            f"training diverged: {where} loss is {loss} (learning rate {fit.learning_rate:g}); "
            "lower train.fit.learning_rate in params.yaml or check the input images"
        )


@dataclass
class TrainResult:
    """The trained model (best validation epoch restored) and its history.

    Attributes:
        model: the trained module, in eval mode.
        history: per epoch ``{"epoch", "train_loss", "val_loss", "seconds"}``.
        best_epoch: 1-based epoch whose weights were kept.
        best_val_loss: its validation loss.
        stopped_early: True when patience ran out before ``fit.epochs``.
        seconds: wall time of the whole fit.
    """

    model: nn.Module
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf
    stopped_early: bool = False
    seconds: float = 0.0

    @property
    def epochs_run(self) -> int:
        """Number of epochs actually trained."""
        return len(self.history)


def _gaussian_window(size: int, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim_map(x: torch.Tensor, y: torch.Tensor, window: int = 7) -> torch.Tensor:
    """Differentiable local SSIM (Gaussian window, sigma 1.5, data range 1, valid borders).

    Same definition as ``pytorch_msssim.ssim`` (whose mean this map's mean equals), but the
    per-pixel map is exposed so the loss can be weighted by the ROI.

    Args:
        x, y: (N, 1, H, W) in [0, 1].
        window: odd Gaussian window size, <= H and W.

    Returns:
        (N, 1, H - window + 1, W - window + 1) SSIM values.
    """
    kernel = _gaussian_window(window).to(x.device, x.dtype)
    mu_x, mu_y = F.conv2d(x, kernel), F.conv2d(y, kernel)
    var_x = F.conv2d(x * x, kernel) - mu_x**2
    var_y = F.conv2d(y * y, kernel) - mu_y**2
    cov = F.conv2d(x * y, kernel) - mu_x * mu_y
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    contrast_structure = (2 * cov + c2) / (var_x + var_y + c2)
    return (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * contrast_structure


def reconstruction_loss(
    recon: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, fit: FitParams
) -> torch.Tensor:
    """ROI-weighted reconstruction loss (scalar).

    Args:
        recon, target: (N, 1, H, W) in [0, 1].
        weights: (H, W) per-pixel weights (1 inside the ROI, ``outside_weight`` outside).
        fit: ``loss`` is ``mse``, ``mae``, ``ssim`` (1 - SSIM) or ``mse_ssim``
            ((1 - ssim_weight) * MSE + ssim_weight * (1 - SSIM)).
    """
    total = weights.sum()
    if fit.loss in ("mse", "mae", "mse_ssim"):
        error = (recon - target) ** 2 if fit.loss != "mae" else (recon - target).abs()
        pixel = (error * weights).sum(dim=(-2, -1)).mean() / total
        if fit.loss != "mse_ssim":
            return pixel
    half = fit.ssim_window // 2
    inner = weights[half : weights.shape[0] - half, half : weights.shape[1] - half]
    similarity = (ssim_map(recon, target, fit.ssim_window) * inner).sum(dim=(-2, -1)).mean()
    structural = 1.0 - similarity / inner.sum()
    if fit.loss == "ssim":
        return structural
    return (1.0 - fit.ssim_weight) * pixel + fit.ssim_weight * structural


def augment(
    batch: torch.Tensor, shift_px: int, brightness: float, generator: torch.Generator
) -> torch.Tensor:
    """Small random shifts (edge-replicated) and brightness gains; never a flip.

    Args:
        batch: (N, 1, H, W) in [0, 1] (on CPU, where ``generator`` lives).
        shift_px: maximum shift in pixels along each axis.
        brightness: maximum relative gain change.
        generator: the seeded source of randomness.

    Returns:
        (N, 1, H, W) in [0, 1].
    """
    n, _, height, width = batch.shape
    if shift_px > 0:
        padded = F.pad(batch, (shift_px,) * 4, mode="replicate")
        offsets = torch.randint(0, 2 * shift_px + 1, (n, 2), generator=generator).tolist()
        batch = torch.stack(
            [padded[i, :, dy : dy + height, dx : dx + width] for i, (dy, dx) in enumerate(offsets)]
        )
    if brightness > 0:
        gains = 1.0 + (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * brightness
        batch = (batch * gains).clamp(0.0, 1.0)
    return batch


def as_batch_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W) array in [0, 1] -> (N, 1, H, W) float32 tensor."""
    array = np.asarray(images, dtype=np.float32)
    if array.ndim != 3:
        raise ValueError(f"expected an (N, H, W) image stack, got shape {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array))[:, None]


@torch.no_grad()
def evaluate_loss(
    model: nn.Module,
    images: torch.Tensor,
    weights: torch.Tensor,
    fit: FitParams,
    device: torch.device,
) -> float:
    """Mean loss over ``images`` (N, 1, H, W) in eval mode, batch by batch."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, images.shape[0], fit.batch_size):
        batch = images[start : start + fit.batch_size].to(device)
        total += float(reconstruction_loss(model(batch), batch, weights, fit)) * batch.shape[0]
        count += batch.shape[0]
    return total / count


@dataclass
class _Session:
    """Everything one fit needs between epochs."""

    model: nn.Module
    loader: DataLoader
    val: torch.Tensor
    optimiser: torch.optim.Optimizer
    fit: FitParams
    weights: torch.Tensor
    device: torch.device
    generator: torch.Generator


def _train_epoch(session: _Session, bar: tqdm, epoch: int) -> float:
    fit = session.fit
    session.model.train()
    total, count = 0.0, 0
    for number, (batch,) in enumerate(session.loader, start=1):
        batch = augment(batch, fit.augment_shift_px, fit.augment_brightness, session.generator)
        batch = batch.to(session.device)
        session.optimiser.zero_grad(set_to_none=True)
        loss = reconstruction_loss(session.model(batch), batch, session.weights, fit)
        check_finite(loss.item(), f"epoch {epoch} batch {number}", fit)
        loss.backward()
        session.optimiser.step()
        total += loss.item() * batch.shape[0]
        count += batch.shape[0]
        bar.update(1)
        bar.set_postfix(loss=f"{total / count:.4f}")
    return total / count


def train_autoencoder(
    model: nn.Module,
    train_images: np.ndarray,
    val_images: np.ndarray,
    weights: np.ndarray,
    fit: FitParams,
    seed: int,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> TrainResult:
    """Fit ``model`` on normal images with early stopping on the validation loss.

    Args:
        model: a freshly built autoencoder taking (N, 1, H, W).
        train_images: (N, H, W) normal training images in [0, 1].
        val_images: (M, H, W) normal validation images in [0, 1] (early stopping).
        weights: (H, W) per-pixel loss weights from the ROI.
        fit: optimiser, loss, patience and augmentation settings.
        seed: seeds batch order, dropout and augmentation.
        device: where to train.
        progress: show a tqdm bar per epoch.

    Returns:
        TrainResult with the best validation epoch's weights restored.
    """
    device = torch.device(device)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            session = _session(model, (train_images, val_images), weights, fit, seed, device)
            return _fit(session, progress)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)


def _session(
    model: nn.Module,
    images: tuple[np.ndarray, np.ndarray],
    weights: np.ndarray,
    fit: FitParams,
    seed: int,
    device: torch.device,
) -> _Session:
    train, val = as_batch_tensor(images[0]), as_batch_tensor(images[1])
    model.to(device)
    loader = DataLoader(
        TensorDataset(train),
        batch_size=fit.batch_size,
        shuffle=True,
        num_workers=0,
        generator=torch.Generator().manual_seed(seed),
    )
    optimiser = torch.optim.Adam(
        model.parameters(), lr=fit.learning_rate, betas=(fit.beta1, fit.beta2), eps=fit.eps
    )
    weight_tensor = torch.as_tensor(weights, dtype=torch.float32, device=device)
    # Augmentation draws from its own generator so batch order does not depend on it.
    generator = torch.Generator().manual_seed(seed + 1)
    return _Session(model, loader, val, optimiser, fit, weight_tensor, device, generator)


def _fit(session: _Session, progress: bool) -> TrainResult:
    fit, model = session.fit, session.model
    result, best_state, started = TrainResult(model), None, time.perf_counter()
    for epoch in range(1, fit.epochs + 1):
        tick = time.perf_counter()
        label = f"epoch {epoch}/{fit.epochs}"
        with tqdm(total=len(session.loader), desc=label, leave=False, disable=not progress) as bar:
            train_loss = _train_epoch(session, bar, epoch)
        val_loss = evaluate_loss(model, session.val, session.weights, fit, session.device)
        check_finite(val_loss, f"epoch {epoch} validation", fit)
        seconds = time.perf_counter() - tick
        result.history.append(
            {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "seconds": seconds}
        )
        log.info("epoch %d: train %.5f, val %.5f (%.1f s)", epoch, train_loss, val_loss, seconds)
        if val_loss < result.best_val_loss - fit.min_delta:
            result.best_epoch, result.best_val_loss = epoch, val_loss
            best_state = copy.deepcopy(model.state_dict())
        elif epoch - result.best_epoch >= fit.patience:
            result.stopped_early = epoch < fit.epochs
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    result.seconds = time.perf_counter() - started
    return result
