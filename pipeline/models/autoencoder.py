"""Convolutional autoencoders for single-channel seal images (SPEC §1.1).

Encoder: per level one stride-2 3x3 convolution + BatchNorm + ReLU (+ dropout, + optional
residual block), then a ReLU bottleneck. Decoder: back to the deepest feature map, then
mirrored stride-2 transposed convolutions and a 1x1 convolution + sigmoid.

Bottleneck. ``dense`` (the authors'): the deepest map is flattened into ``latent_dim`` values
for the whole image. ``spatial``: a 1x1 convolution keeps ``latent_dim`` channels at every
deepest location (H/2**L x W/2**L), so each latent vector describes one 2**L-pixel patch.
A 16-value code cannot place the band's edges and texture of a 64 x 384 image (median residual
inside the ROI 0.056, test AUROC at chance); the spatial code reconstructs the normal band
(residual 0.013) while 8 channels per 16 x 16 patch (1/32 of its pixels) remain too few to
copy a defect through.

Skips and attention. ``AttentionAutoencoder`` passes the encoder features of the levels in
``skip_levels`` to the decoder through an attention gate (Oktay et al. 2018: 1x1 conv of the
decoder feature and of the skip, added, ReLU, 1x1 conv to one channel, sigmoid). Two choices
are deliberate:

* ``gate_target="skip"`` (default) scales the *skip*, as Attention U-Net does. The authors'
  code scales the *decoder* feature and concatenates the skip unscaled (``"decoder"``), so
  their gate cannot limit what the skip carries. Gating the skip makes the map say where
  encoder detail (anomalies included) was let into the reconstruction, under the control of
  the bottleneck-derived decoder feature: a valve and an explanation that mean something.
* ``skip_levels=(L - 1,)`` (default): only the deepest skip below the bottleneck. A skip at
  level k carries ``widths[k-1] * H * W / 4**k`` values (4x the input at level 1 with widths
  16, 32, ...), ample to copy the input, defects included. Measured (32 x 192, 84 normal
  images, 15 epochs): validation loss 0.020 with skips at levels 1-3 (near copy), 0.052 with
  the level-3 skip alone, 0.137 without skips. Whether the remaining skip costs detection is
  for the evaluation to show (``plain_ae`` is trained beside it for that reason).

Level names used by ``encode_features``: ``enc1`` (finest, H/2) ... ``enc{L}`` (H/2**L) and
``bottleneck``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F

PAPER_WIDTHS = (16, 32, 64, 128)
PAPER_LATENT_DIM = 16
PAPER_DROPOUT = 0.11228
MODEL_NAMES = ("attention_ae", "plain_ae", "skip_ae")


@dataclass(frozen=True)
class AutoencoderConfig:
    """Everything needed to rebuild a model (stored in its checkpoint).

    Attributes:
        image_height: input rows H, divisible by ``2 ** len(widths)``.
        image_width: input columns W, divisible by ``2 ** len(widths)``.
        widths: channels per encoder level, finest first.
        latent_dim: size of the dense bottleneck.
        dropout: dropout probability after each level (0 disables it).
        residual: add a residual block after each level.
        skip_levels: encoder levels (1..L-1) whose features reach the decoder.
        attention: gate the skips with attention (False: plain concatenation).
        gate_target: ``"skip"`` or ``"decoder"``: the tensor the attention map scales.
        bottleneck: ``"dense"`` (one code per image) or ``"spatial"`` (one per deepest location).
    """

    image_height: int
    image_width: int
    widths: tuple[int, ...] = PAPER_WIDTHS
    latent_dim: int = PAPER_LATENT_DIM
    dropout: float = PAPER_DROPOUT
    residual: bool = False
    skip_levels: tuple[int, ...] = (3,)
    attention: bool = True
    gate_target: Literal["skip", "decoder"] = "skip"
    bottleneck: Literal["dense", "spatial"] = "dense"

    @property
    def levels(self) -> int:
        """Number of encoder levels L."""
        return len(self.widths)

    def check(self) -> None:
        """Raise ValueError when the size or the skips do not fit the encoder."""
        factor = 2**self.levels
        if self.image_height % factor or self.image_width % factor:
            raise ValueError(
                f"input {self.image_height} x {self.image_width} is not divisible by {factor} "
                f"(2 ** {self.levels} levels); resize to a multiple of {factor}"
            )
        bad = [k for k in self.skip_levels if not 1 <= k < self.levels]
        if bad:
            raise ValueError(f"skip_levels {bad} outside 1..{self.levels - 1}")
        if self.gate_target not in ("skip", "decoder"):
            raise ValueError(f"gate_target {self.gate_target!r} must be 'skip' or 'decoder'")
        if self.bottleneck not in ("dense", "spatial"):
            raise ValueError(f"bottleneck {self.bottleneck!r} must be 'dense' or 'spatial'")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (tuples as lists)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> AutoencoderConfig:
        """Inverse of ``to_dict``."""
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        return cls(**values)


def _conv_bn_relu(conv: nn.Module, channels: int, dropout: float) -> list[nn.Module]:
    layers = [conv, nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
    return [*layers, nn.Dropout(dropout)] if dropout > 0 else layers


class ResidualBlock(nn.Module):
    """Two 3x3 conv + BatchNorm with an identity shortcut: (N, C, h, w) -> (N, C, h, w)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, h, w) -> (N, C, h, w)."""
        return F.relu(x + self.body(x))


class AttentionGate(nn.Module):
    """Additive attention gate producing a coefficient map in [0, 1].

    Args:
        decoder_channels: channels Cd of the decoder feature.
        skip_channels: channels Cs of the skip feature.
        inter_channels: channels of the intermediate 1x1 projections.
    """

    def __init__(self, decoder_channels: int, skip_channels: int, inter_channels: int) -> None:
        super().__init__()
        self.project_decoder = nn.Conv2d(decoder_channels, inter_channels, 1)
        self.project_skip = nn.Conv2d(skip_channels, inter_channels, 1)
        self.psi = nn.Conv2d(inter_channels, 1, 1)

    def forward(self, decoder: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """(N, Cd, h, w), (N, Cs, h, w) -> coefficient map (N, 1, h, w) in [0, 1]."""
        joint = F.relu(self.project_decoder(decoder) + self.project_skip(skip))
        return torch.sigmoid(self.psi(joint))


class _Level(nn.Module):
    """One encoder level (conv stride 2) or decoder level (transposed conv stride 2)."""

    def __init__(self, c_in: int, c_out: int, config: AutoencoderConfig, up: bool) -> None:
        super().__init__()
        conv: nn.Module = (
            nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)
            if up
            else nn.Conv2d(c_in, c_out, 3, stride=2, padding=1)
        )
        layers = _conv_bn_relu(conv, c_out, config.dropout)
        if config.residual:
            layers.append(ResidualBlock(c_out))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, c_in, h, w) -> (N, c_out, h/2, w/2) down or (N, c_out, 2h, 2w) up."""
        return self.block(x)


class _SkipFusion(nn.Module):
    """Merges a (gated) skip into the decoder feature: concat + 3x3 conv + BN + ReLU."""

    def __init__(self, channels: int, attention: bool, gate_target: str) -> None:
        super().__init__()
        self.gate = AttentionGate(channels, channels, max(channels // 2, 1)) if attention else None
        self.gate_target = gate_target
        self.fuse = nn.Sequential(
            *_conv_bn_relu(nn.Conv2d(2 * channels, channels, 3, padding=1), channels, 0.0)
        )

    def forward(
        self, decoder: torch.Tensor, skip: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(N, C, h, w) twice -> fused (N, C, h, w) and the map (N, 1, h, w) or None."""
        alpha = None
        if self.gate is not None:
            alpha = self.gate(decoder, skip)
            if self.gate_target == "skip":
                skip = skip * alpha
            else:
                decoder = decoder * alpha
        return self.fuse(torch.cat([decoder, skip], dim=1)), alpha


def _bottleneck(
    config: AutoencoderConfig, deep_shape: tuple[int, int, int]
) -> tuple[nn.Module, nn.Module]:
    """(to_latent, from_latent) modules of the configured bottleneck kind."""
    channels = deep_shape[0]
    if config.bottleneck == "spatial":
        return (
            nn.Sequential(nn.Conv2d(channels, config.latent_dim, 1), nn.ReLU()),
            nn.Sequential(nn.Conv2d(config.latent_dim, channels, 1), nn.ReLU(inplace=True)),
        )
    deep_size = channels * deep_shape[1] * deep_shape[2]
    return (
        nn.Sequential(nn.Flatten(), nn.Linear(deep_size, config.latent_dim), nn.ReLU()),
        nn.Sequential(nn.Linear(config.latent_dim, deep_size), nn.ReLU(inplace=True)),
    )


class AttentionAutoencoder(nn.Module):
    """Encoder, dense bottleneck, decoder with attention-gated skips at ``skip_levels``.

    Args:
        config: architecture; ``config.check()`` errors are raised as ValueError.

    Input and output: (N, 1, H, W) in [0, 1].
    """

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        config.check()
        self.config = config
        widths = config.widths
        self.encoder = nn.ModuleList(
            _Level(c_in, c_out, config, up=False)
            for c_in, c_out in zip((1, *widths[:-1]), widths, strict=True)
        )
        self.deep_shape = (
            widths[-1],
            config.image_height >> config.levels,
            config.image_width >> config.levels,
        )
        self.to_latent, self.from_latent = _bottleneck(config, self.deep_shape)
        self.latent_dropout = nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()
        # Decoder level k outputs resolution H / 2**(k-1) with the encoder's channels there.
        outs = (widths[0], *widths[:-1])
        self.decoder = nn.ModuleList(
            _Level(widths[k - 1], outs[k - 1], config, up=True) for k in range(config.levels, 0, -1)
        )
        self.fusions = nn.ModuleDict(
            {
                f"gate{k}": _SkipFusion(widths[k - 1], config.attention, config.gate_target)
                for k in sorted(config.skip_levels)
            }
        )
        self.head = nn.Conv2d(widths[0], 1, 1)

    def _check_input(self, x: torch.Tensor) -> None:
        expected = (1, self.config.image_height, self.config.image_width)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"expected input (N, {', '.join(map(str, expected))}), got {tuple(x.shape)}"
            )

    def _features(self, x: torch.Tensor, depth: int | None = None) -> list[torch.Tensor]:
        """Encoder features, finest first, of the first ``depth`` levels (default: all)."""
        self._check_input(x)
        features = []
        for level in self.encoder[:depth]:
            x = level(x)
            features.append(x)
        return features

    def forward_with_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Reconstruction and attention maps.

        Args:
            x: (N, 1, H, W) images in [0, 1].

        Returns:
            Reconstruction (N, 1, H, W) in [0, 1], and ``{"gate{k}": (N, 1, H/2**k, W/2**k)}``
            coefficient maps in [0, 1] for each gated skip level k (empty without attention).
        """
        features = self._features(x)
        latent = self.to_latent(features[-1])
        y = self.latent_dropout(self.from_latent(latent).reshape(-1, *self.deep_shape))
        maps: dict[str, torch.Tensor] = {}
        for k, level in zip(range(self.config.levels, 0, -1), self.decoder, strict=True):
            y = level(y)
            name = f"gate{k - 1}"
            if name in self.fusions:
                y, alpha = self.fusions[name](y, features[k - 2])
                if alpha is not None:
                    maps[name] = alpha
        return torch.sigmoid(self.head(y)), maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) in [0, 1] -> reconstruction (N, 1, H, W) in [0, 1]."""
        return self.forward_with_maps(x)[0]

    def encode_features(self, x: torch.Tensor, layer: str) -> torch.Tensor:
        """Intermediate encoder features for the monitoring mode.

        Args:
            x: (N, 1, H, W) images in [0, 1]. Call ``eval()`` first for deterministic features.
            layer: ``enc1`` .. ``enc{L}`` or ``bottleneck``.

        Returns:
            ``enc{k}``: (N, widths[k-1], H/2**k, W/2**k); ``bottleneck``: (N, latent_dim, 1, 1)
            when dense, (N, latent_dim, H/2**L, W/2**L) when spatial.
        """
        names = [f"enc{k}" for k in range(1, self.config.levels + 1)]
        if layer not in (*names, "bottleneck"):
            raise ValueError(f"unknown layer {layer!r}; choose one of {[*names, 'bottleneck']}")
        if layer == "bottleneck":
            latent = self.to_latent(self._features(x)[-1])
            return latent if latent.dim() == 4 else latent[:, :, None, None]
        return self._features(x, depth=names.index(layer) + 1)[-1]


class ConvAutoencoder(AttentionAutoencoder):
    """The plain baseline: same encoder and decoder, no skips, no attention."""

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__(dataclasses.replace(config, skip_levels=(), attention=False))


def build_model(name: str, config: AutoencoderConfig, seed: int) -> AttentionAutoencoder:
    """A freshly initialised model, seeded without touching the global RNG.

    Args:
        name: ``attention_ae`` (gated skips), ``plain_ae`` (no skips) or ``skip_ae``
            (ungated skips, the paper's skip-connected baseline).
        config: architecture; ``skip_levels``/``attention`` are overridden by ``name``
            where the name implies them.
        seed: initialisation seed.
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; choose one of {list(MODEL_NAMES)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name == "plain_ae":
            return ConvAutoencoder(config)
        return AttentionAutoencoder(dataclasses.replace(config, attention=name == "attention_ae"))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
