"""Training loop: masked losses (known answers), augmentation, determinism, early stopping."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from pytorch_msssim import ssim

from pipeline.config.train import FitParams
from pipeline.models.autoencoder import AutoencoderConfig, build_model
from pipeline.models.trainer import (
    DivergedError,
    TrainResult,
    augment,
    evaluate_loss,
    reconstruction_loss,
    ssim_map,
    train_autoencoder,
)
from tests.params import section

torch.set_num_threads(1)
CONFIG = AutoencoderConfig(16, 32, widths=(4, 8), latent_dim=4, skip_levels=(1,))
FIT = section(
    "train", fit={"epochs": 1, "batch_size": 4, "ssim_window": 5, "augment_shift_px": 1}
).fit


def _images(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    stack = 0.4 + rng.normal(0, 0.05, (n, 16, 32))
    stack[:, 6:10] += 0.3
    return np.clip(stack, 0, 1).astype(np.float32)


def test_ssim_map_matches_pytorch_msssim_and_is_one_for_identical_images() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 24, 40, generator=generator)
    y = (x + 0.1 * torch.rand(2, 1, 24, 40, generator=generator)).clamp(0, 1)
    ours = ssim_map(x, y, window=7)
    assert ours.shape == (2, 1, 18, 34)
    reference = ssim(x, y, data_range=1.0, win_size=7, size_average=False)
    assert torch.allclose(ours.mean(dim=(1, 2, 3)), reference, atol=1e-5)
    assert torch.allclose(ssim_map(x, x), torch.ones(1), atol=1e-5)


def test_losses_count_only_weighted_pixels() -> None:
    target = torch.zeros(1, 1, 8, 8)
    recon = target.clone()
    recon[..., 6:] = 0.5  # error only in the last two columns, beyond any 3x3 window's reach
    left = torch.zeros(8, 8)
    left[:, :4] = 1.0
    for loss in ("mse", "mae", "ssim", "mse_ssim"):
        fit = dataclasses.replace(FIT, loss=loss, ssim_window=3)
        assert float(reconstruction_loss(recon, target, left, fit)) == pytest.approx(0, abs=1e-6)
    full = torch.ones(8, 8)
    mse = dataclasses.replace(FIT, loss="mse")
    assert float(reconstruction_loss(recon, target, full, mse)) == pytest.approx(0.25 * 2 / 8)
    mae = dataclasses.replace(FIT, loss="mae")
    assert float(reconstruction_loss(recon, target, 1 - left, mae)) == pytest.approx(0.5 * 2 / 4)


def test_augment_keeps_shape_range_and_is_identity_when_off() -> None:
    batch = torch.from_numpy(_images(3, 0))[:, None]
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(augment(batch, 0, 0.0, generator), batch)
    moved = augment(batch, 2, 0.2, generator)
    assert moved.shape == batch.shape
    assert float(moved.min()) >= 0.0 and float(moved.max()) <= 1.0
    assert not torch.equal(moved, batch)


def _fit(seed: int, fit: FitParams = FIT) -> tuple[dict[str, torch.Tensor], TrainResult]:
    model = build_model("attention_ae", CONFIG, seed=0)
    weights = np.ones((16, 32), dtype=np.float32)
    result = train_autoencoder(
        model, _images(8, 1), _images(4, 2), weights, fit, seed=seed, progress=False
    )
    return {k: v.clone() for k, v in result.model.state_dict().items()}, result


def test_two_runs_with_the_same_seed_give_identical_weights() -> None:
    first, result = _fit(seed=5)
    second, _ = _fit(seed=5)
    third, _ = _fit(seed=6)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], third[k]) for k in first)
    assert result.epochs_run == 1 and result.best_epoch == 1
    assert set(result.history[0]) == {"epoch", "train_loss", "val_loss", "seconds"}
    assert not torch.are_deterministic_algorithms_enabled()  # restored afterwards


def test_early_stopping_stops_and_restores_the_best_epoch() -> None:
    # min_delta larger than any possible change: only epoch 1 counts as an improvement.
    fit = dataclasses.replace(FIT, epochs=10, patience=2, min_delta=10.0)
    _, result = _fit(seed=5, fit=fit)
    assert result.stopped_early and result.epochs_run == 3 and result.best_epoch == 1
    assert result.best_val_loss == result.history[0]["val_loss"]
    weights = torch.ones(16, 32)
    val = torch.from_numpy(_images(4, 2))[:, None]
    restored = evaluate_loss(result.model, val, weights, fit, torch.device("cpu"))
    assert restored == pytest.approx(result.best_val_loss, rel=1e-5)


def test_training_reduces_the_validation_loss() -> None:
    fit = dataclasses.replace(FIT, epochs=4, learning_rate=0.01, patience=4)
    _, result = _fit(seed=1, fit=fit)
    assert result.best_val_loss < result.history[0]["val_loss"]


@pytest.mark.parametrize("rate", [float("inf"), 1e30])
def test_a_diverging_fit_stops_with_a_clear_error(rate: float) -> None:
    # The config refuses .inf; the guard also catches a finite rate that blows the weights up.
    fit = dataclasses.replace(FIT, epochs=3, learning_rate=rate)
    with pytest.raises(DivergedError, match=r"diverged: epoch \d+ .*train.fit.learning_rate"):
        _fit(seed=1, fit=fit)
    assert not torch.are_deterministic_algorithms_enabled()  # restored after the error


def test_band_alignment_at_the_stored_size_is_refused_naming_the_fix() -> None:
    from pipeline.config.base import ParamsError
    from pipeline.models.alignment import Alignment
    from pipeline.train import check_alignable

    band = Alignment("band", (0.25, 0.75))
    with pytest.raises(ParamsError, match="128 x 768 is the stored image size.*kind: none"):
        check_alignable((128, 768), (128, 768), band)
    check_alignable((128, 768), (32, 384), band)  # another size: aligned
    check_alignable((128, 768), (128, 768), Alignment("none", (0.25, 0.75)))  # resized as is
