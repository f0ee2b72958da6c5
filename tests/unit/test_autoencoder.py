"""Autoencoder shapes, attention maps, gate semantics, seeding and checkpoint round trip."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from pipeline.models.autoencoder import (
    AttentionAutoencoder,
    AttentionGate,
    AutoencoderConfig,
    ConvAutoencoder,
    _SkipFusion,
    build_model,
    count_parameters,
)
from pipeline.models.checkpoint import (
    CheckpointError,
    load_autoencoder,
    preprocess_images,
    save_autoencoder,
)
from pipeline.models.roi import Roi

torch.set_num_threads(1)
SMALL: dict[str, Any] = {"widths": (4, 8, 16), "latent_dim": 4, "skip_levels": (1, 2)}


@pytest.mark.parametrize(("height", "width"), [(16, 64), (32, 128), (24, 8)])
def test_shapes_of_reconstruction_maps_and_features(height: int, width: int) -> None:
    model = AttentionAutoencoder(AutoencoderConfig(height, width, **SMALL)).eval()
    x = torch.rand(2, 1, height, width)
    with torch.no_grad():
        recon, maps = model.forward_with_maps(x)
    assert recon.shape == (2, 1, height, width)
    assert float(recon.min()) >= 0.0 and float(recon.max()) <= 1.0
    assert sorted(maps) == ["gate1", "gate2"]
    for level in (1, 2):
        alpha = maps[f"gate{level}"]
        assert alpha.shape == (2, 1, height >> level, width >> level)
        assert float(alpha.min()) >= 0.0 and float(alpha.max()) <= 1.0
    for level, channels in zip((1, 2, 3), SMALL["widths"], strict=True):
        feature = model.encode_features(x, f"enc{level}")
        assert feature.shape == (2, channels, height >> level, width >> level)
    assert model.encode_features(x, "bottleneck").shape == (2, 4, 1, 1)
    with torch.no_grad():
        assert torch.equal(model(x), recon)


def test_sizes_not_divisible_by_two_to_the_levels_are_rejected() -> None:
    with pytest.raises(ValueError, match="divisible by 8"):
        AttentionAutoencoder(AutoencoderConfig(30, 64, **SMALL))
    with pytest.raises(ValueError, match="skip_levels"):
        AttentionAutoencoder(AutoencoderConfig(32, 64, widths=(4, 8), skip_levels=(2,)))
    model = AttentionAutoencoder(AutoencoderConfig(16, 64, **SMALL))
    with pytest.raises(ValueError, match="expected input"):
        model(torch.rand(1, 1, 16, 32))
    with pytest.raises(ValueError, match="unknown layer"):
        model.encode_features(torch.rand(1, 1, 16, 64), "enc9")


def test_plain_baseline_has_no_skips_or_maps_but_the_same_encoder() -> None:
    config = AutoencoderConfig(16, 64, **SMALL)
    plain, attention = ConvAutoencoder(config).eval(), AttentionAutoencoder(config).eval()
    recon, maps = plain.forward_with_maps(torch.rand(1, 1, 16, 64))
    assert maps == {} and recon.shape == (1, 1, 16, 64)
    assert plain.config.skip_levels == ()
    assert count_parameters(plain) < count_parameters(attention)
    plain_encoder = [p.shape for p in plain.encoder.parameters()]
    assert plain_encoder == [p.shape for p in attention.encoder.parameters()]


def test_attention_gate_known_answer() -> None:
    gate = AttentionGate(3, 2, 4)
    for parameter in gate.parameters():
        torch.nn.init.zeros_(parameter)
    assert gate.psi.bias is not None
    torch.nn.init.constant_(gate.psi.bias, 2.0)
    alpha = gate(torch.rand(1, 3, 4, 5), torch.rand(1, 2, 4, 5))
    assert alpha.shape == (1, 1, 4, 5)
    assert torch.allclose(alpha, torch.full_like(alpha, 1 / (1 + np.exp(-2.0))))


@pytest.mark.parametrize("target", ["skip", "decoder"])
def test_a_closed_gate_silences_the_tensor_it_scales(target: str) -> None:
    fusion = _SkipFusion(4, attention=True, gate_target=target).eval()
    assert fusion.gate is not None
    torch.nn.init.zeros_(fusion.gate.psi.weight)
    assert fusion.gate.psi.bias is not None
    torch.nn.init.constant_(fusion.gate.psi.bias, -50.0)  # map ~ 0 everywhere
    fixed, a, b = torch.rand(1, 4, 4, 4), torch.rand(1, 4, 4, 4), torch.rand(1, 4, 4, 4)
    if target == "skip":
        first, second = fusion(fixed, a)[0], fusion(fixed, b)[0]
    else:
        first, second = fusion(a, fixed)[0], fusion(b, fixed)[0]
    assert torch.allclose(first, second, atol=1e-6)


def test_build_model_is_seeded_and_leaves_the_global_rng_alone() -> None:
    config = AutoencoderConfig(16, 64, **SMALL)
    torch.manual_seed(123)
    first = build_model("attention_ae", config, seed=7)
    after_build = torch.rand(3)
    torch.manual_seed(123)
    assert torch.equal(after_build, torch.rand(3))
    second, other = build_model("attention_ae", config, 7), build_model("attention_ae", config, 8)
    pairs = zip(first.state_dict().values(), second.state_dict().values(), strict=True)
    assert all(torch.equal(p, q) for p, q in pairs)
    assert not torch.equal(first.head.weight, other.head.weight)
    assert not build_model("skip_ae", config, 7).fusions["gate1"].gate
    with pytest.raises(ValueError, match="unknown model"):
        build_model("unet", config, 7)


@pytest.mark.parametrize("name", ["attention_ae", "plain_ae", "skip_ae"])
def test_checkpoint_round_trip_gives_the_same_outputs(name: str, tmp_path: Path) -> None:
    config = AutoencoderConfig(16, 64, **dict(SMALL, gate_target="decoder"))
    model = build_model(name, config, seed=3).eval()
    mask = np.zeros((16, 64), dtype=bool)
    mask[4:12] = True
    roi = Roi("band", {"margin": 0.1, "top": 4, "bottom": 12}, mask)
    save_autoencoder(tmp_path / "m" / "model.pt", model, name, roi, {"seed": 3, "shape": (16, 64)})
    loaded, meta = load_autoencoder(tmp_path / "m" / "model.pt")
    x = torch.rand(2, 1, 16, 64)
    assert torch.equal(loaded(x), model(x))
    assert not loaded.training
    assert meta.architecture == name and meta.config == model.config
    assert np.array_equal(meta.roi.mask, mask) and meta.roi.parameters["top"] == 4
    assert (meta.image_height, meta.image_width) == (16, 64)
    assert meta.extra == {"seed": 3, "shape": [16, 64]}
    assert preprocess_images(np.zeros((1, 32, 128)), meta).shape == (1, 16, 64)


def test_loading_something_else_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_autoencoder(tmp_path / "absent.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a sealaudit"):
        load_autoencoder(tmp_path / "other.pt")
    model = build_model("plain_ae", AutoencoderConfig(16, 64, **SMALL), 0)
    wrong = Roi("full", {}, np.ones((8, 8), dtype=bool))
    with pytest.raises(ValueError, match="ROI mask"):
        save_autoencoder(tmp_path / "x.pt", model, "plain_ae", wrong)


def test_config_dict_round_trip() -> None:
    config = AutoencoderConfig(32, 128, widths=(8, 16), skip_levels=(1,), residual=True)
    assert AutoencoderConfig.from_dict(config.to_dict()) == config
    assert dataclasses.replace(config, residual=False) != config


def test_spatial_bottleneck_keeps_a_code_per_deepest_location() -> None:
    config = AutoencoderConfig(16, 64, **dict(SMALL, bottleneck="spatial", latent_dim=3))
    model = build_model("attention_ae", config, seed=0).eval()
    x = torch.rand(2, 1, 16, 64)
    levels = len(config.widths)
    latent = model.encode_features(x, "bottleneck")
    assert latent.shape == (2, 3, 16 >> levels, 64 >> levels)
    assert model(x).shape == x.shape
    dense = build_model("attention_ae", dataclasses.replace(config, bottleneck="dense"), seed=0)
    assert dense.encode_features(x, "bottleneck").shape == (2, 3, 1, 1)


def test_a_local_change_moves_only_nearby_spatial_codes() -> None:
    config = AutoencoderConfig(16, 128, **dict(SMALL, bottleneck="spatial", latent_dim=4))
    model = build_model("plain_ae", config, seed=1).eval()
    x = torch.rand(1, 1, 16, 128, generator=torch.Generator().manual_seed(0))
    spoiled = x.clone()
    spoiled[..., 4:8, 4:8] = 1.0  # far left
    with torch.no_grad():
        moved = (
            model.encode_features(spoiled, "bottleneck") - model.encode_features(x, "bottleneck")
        ).abs()
    assert moved[..., -2:].max() == 0  # the rightmost codes cannot see the change


def test_checkpoint_records_the_band_alignment(tmp_path: Path) -> None:
    from pipeline.models.alignment import Alignment

    config = AutoencoderConfig(16, 64, **SMALL)
    model = build_model("plain_ae", config, seed=0).eval()
    roi = Roi("full", {}, np.ones((16, 64), dtype=bool))
    alignment = Alignment("band", (0.3, 0.7))
    save_autoencoder(tmp_path / "model.pt", model, "plain_ae", roi, {}, alignment)
    _, meta = load_autoencoder(tmp_path / "model.pt")
    assert meta.alignment == alignment
    band = np.full((1, 64, 256), 0.7, dtype=np.float32)
    band[0, 20:40] = 0.3
    aligned = preprocess_images(band, meta)[0]
    assert aligned.shape == (16, 64)
    assert aligned[6:10].mean() < 0.35 and aligned[:3].mean() > 0.65
