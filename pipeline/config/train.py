"""Parameters of the ``train`` stage: autoencoders, their region of interest and the fit.

The defaults are the *demo* profile (small working resolution, few epochs, both the attention
autoencoder and the plain baseline) so the whole pipeline trains in minutes on two CPU cores;
``params/paper.yaml`` holds the *paper* profile (SPEC §1.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SECTION = "train"

ModelName = Literal["attention_ae", "plain_ae", "skip_ae"]
LossName = Literal["mse", "mae", "ssim", "mse_ssim"]


@dataclass(frozen=True)
class ModelParams:
    """Architecture (see ``pipeline.models.autoencoder.AutoencoderConfig``).

    ``skip_levels`` lists encoder levels (1 = finest) whose features reach the decoder through
    a skip; only the deepest by default, because fine skips let the network copy its input,
    anomalies included. ``gate_target`` picks the tensor the attention map scales.
    """

    widths: tuple[int, ...] = (16, 32, 64, 128)
    latent_dim: int = 8
    dropout: float = 0.0
    residual: bool = False
    skip_levels: tuple[int, ...] = (3,)
    gate_target: Literal["skip", "decoder"] = "skip"
    bottleneck: Literal["dense", "spatial"] = "spatial"

    def validate(self) -> None:
        """Widths positive, latent positive, dropout a probability, skips inside the encoder."""
        if not self.widths or min(self.widths) < 1 or self.latent_dim < 1:
            raise ValueError("model.widths must be non-empty and positive, latent_dim >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("model.dropout must be within [0, 1)")
        bad = [level for level in self.skip_levels if not 1 <= level < len(self.widths)]
        if bad:
            raise ValueError(
                f"model.skip_levels {bad} outside 1..{len(self.widths) - 1} "
                "(the deepest level feeds the dense bottleneck)"
            )


@dataclass(frozen=True)
class FitParams:
    """Optimiser, loss, early stopping and augmentation of the training loop."""

    epochs: int = 25
    batch_size: int = 16
    learning_rate: float = 0.002
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-7
    patience: int = 6
    min_delta: float = 0.0
    loss: LossName = "mse"
    ssim_weight: float = 0.5
    ssim_window: int = 7
    augment_shift_px: int = 0
    augment_brightness: float = 0.05

    def validate(self) -> None:
        """Counts positive, rates and weights inside their ranges."""
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1:
            raise ValueError("fit.epochs, fit.batch_size and fit.patience must be >= 1")
        if self.learning_rate <= 0 or self.eps <= 0 or self.min_delta < 0:
            raise ValueError("fit.learning_rate and fit.eps must be > 0, fit.min_delta >= 0")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError("fit.beta1 and fit.beta2 must be within [0, 1)")
        if not 0.0 <= self.ssim_weight <= 1.0:
            raise ValueError("fit.ssim_weight must be within [0, 1]")
        if self.ssim_window < 3 or self.ssim_window % 2 == 0:
            raise ValueError("fit.ssim_window must be an odd number >= 3")
        if self.augment_shift_px < 0 or not 0.0 <= self.augment_brightness < 0.5:
            raise ValueError("fit.augment_shift_px >= 0 and fit.augment_brightness in [0, 0.5)")


@dataclass(frozen=True)
class RoiParams:
    """Region of interest that focuses the loss (and later the score) on the seal band.

    ``kind``: ``band`` (estimated from the training images' row profile, widened by ``margin``
    of the image height), ``rectangle`` (``rows``/``cols`` as fractions), ``file`` (a mask PNG
    given to the stage as ``--roi-mask``) or ``full``. Pixels outside weigh ``outside_weight``
    in the loss. ``cols`` also bounds the band ROI of aligned images: the pouch's placement
    varies by +-3 % of the width (SPEC §2.2), so the outermost columns are not always seal.
    """

    kind: Literal["band", "rectangle", "file", "full"] = "band"
    margin: float = 0.06
    threshold: float = 0.5
    rows: tuple[float, float] = (0.0, 1.0)
    cols: tuple[float, float] = (0.03, 0.97)
    outside_weight: float = 0.1

    def validate(self) -> None:
        """Fractions ordered inside [0, 1]; weights and margins in range."""
        for name in ("rows", "cols"):
            low, high = getattr(self, name)
            if not 0.0 <= low < high <= 1.0:
                raise ValueError(f"roi.{name} must be [low, high] with 0 <= low < high <= 1")
        if not 0.0 <= self.margin <= 0.5 or not 0.0 < self.threshold < 1.0:
            raise ValueError("roi.margin must be within [0, 0.5], roi.threshold within (0, 1)")
        if not 0.0 <= self.outside_weight <= 1.0:
            raise ValueError("roi.outside_weight must be within [0, 1]")


@dataclass(frozen=True)
class AlignmentParams:
    """Band alignment before the model (``pipeline.models.alignment``).

    ``kind``: ``band`` straightens the seal band and places its edges at ``band_rows``
    (fractions of the working height); ``none`` resizes the whole crop as it is.
    """

    kind: Literal["none", "band"] = "band"
    band_rows: tuple[float, float] = (0.25, 0.75)

    def validate(self) -> None:
        """Band rows ordered strictly inside (0, 1)."""
        low, high = self.band_rows
        if not 0.0 < low < high < 1.0:
            raise ValueError("alignment.band_rows must be [top, bottom] with 0 < top < bottom < 1")


@dataclass(frozen=True)
class Params:
    """What to train, at which working resolution, on which device.

    ``image_height`` and ``image_width`` must be divisible by ``2 ** len(model.widths)``.
    ``torch_threads`` is overridden by the environment variable ``SEALAUDIT_TORCH_THREADS``.
    """

    seed: int = 20250905
    models: tuple[ModelName, ...] = ("attention_ae", "plain_ae")
    image_height: int = 32
    image_width: int = 384
    torch_threads: int = 2
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    model: ModelParams = field(default_factory=ModelParams)
    fit: FitParams = field(default_factory=FitParams)
    roi: RoiParams = field(default_factory=RoiParams)
    alignment: AlignmentParams = field(default_factory=AlignmentParams)

    def validate(self) -> None:
        """At least one distinct model; the working size fits the encoder's downsampling."""
        if not self.models or len(set(self.models)) != len(self.models):
            raise ValueError("models must list at least one model, each once")
        factor = 2 ** len(self.model.widths)
        if self.image_height % factor or self.image_width % factor:
            raise ValueError(
                f"image_height and image_width must be divisible by {factor} "
                f"(2 ** number of encoder levels); got {self.image_height} x {self.image_width}"
            )
        if self.torch_threads < 1:
            raise ValueError("torch_threads must be >= 1")
