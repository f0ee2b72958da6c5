"""Parameters of the ``train`` stage: autoencoders, their region of interest and the fit.

``params.yaml`` holds the *demo* profile (small working resolution, few epochs, both the
attention autoencoder and the plain baseline) so the whole pipeline trains in minutes on two CPU
cores; ``params/paper.yaml`` overlays the *paper* profile (SPEC §1.1).
"""

from __future__ import annotations

from dataclasses import dataclass
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

    widths: tuple[int, ...]
    latent_dim: int
    dropout: float
    residual: bool
    skip_levels: tuple[int, ...]
    gate_target: Literal["skip", "decoder"]
    bottleneck: Literal["dense", "spatial"]

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

    epochs: int
    batch_size: int
    learning_rate: float
    beta1: float
    beta2: float
    eps: float
    patience: int
    min_delta: float
    loss: LossName
    ssim_weight: float
    ssim_window: int
    augment_shift_px: int
    augment_brightness: float

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

    kind: Literal["band", "rectangle", "file", "full"]
    margin: float
    threshold: float
    rows: tuple[float, float]
    cols: tuple[float, float]
    outside_weight: float

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

    kind: Literal["none", "band"]
    band_rows: tuple[float, float]

    def validate(self) -> None:
        """Band rows ordered strictly inside (0, 1)."""
        low, high = self.band_rows
        if not 0.0 < low < high < 1.0:
            raise ValueError("alignment.band_rows must be [top, bottom] with 0 < top < bottom < 1")


@dataclass(frozen=True)
class Params:
    """What to train, at which working resolution, on which device.

    ``working_height`` x ``working_width`` is the size the models see (each image is aligned and
    resized to it), distinct from the dataset's stored image size (``synth.image_height`` x
    ``synth.image_width``); each must be divisible by ``2 ** len(model.widths)``. The thread
    count is shared by every torch stage: ``base.torch_threads``.
    """

    seed: int
    models: tuple[ModelName, ...]
    working_height: int
    working_width: int
    device: Literal["cpu", "cuda", "auto"]
    model: ModelParams
    fit: FitParams
    roi: RoiParams
    alignment: AlignmentParams

    def validate(self) -> None:
        """At least one distinct model; the working size fits the encoder's downsampling."""
        if not self.models or len(set(self.models)) != len(self.models):
            raise ValueError("models must list at least one model, each once")
        factor = 2 ** len(self.model.widths)
        if self.working_height % factor or self.working_width % factor:
            raise ValueError(
                f"working_height and working_width must be divisible by {factor} (2 ** number "
                f"of encoder levels); got {self.working_height} x {self.working_width}"
            )
