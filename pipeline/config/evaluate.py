"""Parameters of the ``evaluate`` stage: scores, threshold rules, intervals, evidence extras.

Every threshold is fitted on the ``val`` split; the ``test`` split only measures. The
operating threshold (the one the packaged model decides with) is the one fitted by
``thresholds.operating_rule``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SECTION = "evaluate"

AblationScore = Literal["mse", "mae", "psnr", "ssim", "ms_ssim", "four_ssim", "four_ms_ssim"]
# 4-MS-SSIM with the cross-seal path map: needs a calibration fitted on train, so it is the
# inline score only, never an ablation row (pipeline/models/seal_path.py).
ScoreName = Literal[
    "mse", "mae", "psnr", "ssim", "ms_ssim", "four_ssim", "four_ms_ssim", "four_ms_ssim_path"
]
RuleName = Literal["supervised", "mean_plus_k_sigma", "max_miss_rate"]
ALL_SCORES: tuple[AblationScore, ...] = (
    "mse",
    "mae",
    "psnr",
    "ssim",
    "ms_ssim",
    "four_ssim",
    "four_ms_ssim",
)


@dataclass(frozen=True)
class FourMsSsimParams:
    """Options of ``pipeline.models.four_ssim.four_ms_ssim`` (the packaged model uses them too).

    ``data_range: null`` takes the range from each image pair, as the authors do.
    ``pooling``: ``mean`` is the paper's image score (1 - 4-MS-SSIM); ``max`` scores the
    image by the heatmap's maximum after a Gaussian of ``pooling_sigma`` working pixels.
    """

    window: Literal["uniform", "gaussian"]
    data_range: float | None
    pooling: Literal["mean", "max"]
    pooling_sigma: float

    def validate(self) -> None:
        """A given data range is positive; the pooling's sigma is positive."""
        if self.data_range is not None and self.data_range <= 0:
            raise ValueError("four_ms_ssim.data_range must be > 0 or null")
        if self.pooling_sigma <= 0:
            raise ValueError("four_ms_ssim.pooling_sigma must be > 0")


@dataclass(frozen=True)
class SealPathParams:
    """The cross-seal path map of ``four_ms_ssim_path`` (``pipeline.models.seal_path``).

    ``max_drift_px``: largest shear of a path between the band's top and bottom rows, in
    working columns (a channel tilted 20 deg across a 25-row source band drifts ~4.5 columns
    at 384 wide; wider shears also catch steep wrinkles). ``highpass_px``: odd width of the
    moving average removed along the band. Both chosen on an independent reference set.
    """

    max_drift_px: int
    highpass_px: int

    def validate(self) -> None:
        """A non-negative drift; an odd high-pass width of at least 3."""
        if self.max_drift_px < 0:
            raise ValueError("seal_path.max_drift_px must be >= 0")
        if self.highpass_px < 3 or self.highpass_px % 2 == 0:
            raise ValueError("seal_path.highpass_px must be odd and >= 3")


@dataclass(frozen=True)
class ThresholdParams:
    """Rules fitted on ``val`` and which one operates.

    ``unsupervised_k``: the paper's mean + k sd of normal val scores. ``criterion``: what the
    supervised rule maximises. ``miss_rate_limit``: the max-miss-rate rule's one-sided upper
    bound (at ``Params.confidence``); with few defective val images no cut can support it and
    the rule is reported as not fitted. ``sensitivity_shifts``: relative threshold moves.
    """

    unsupervised_k: float
    criterion: Literal["accuracy", "f1", "youden"]
    miss_rate_limit: float
    operating_rule: RuleName
    sensitivity_shifts: tuple[float, ...]

    def validate(self) -> None:
        """k positive, the limit a probability, the shifts include the operating point 0."""
        if self.unsupervised_k <= 0:
            raise ValueError("thresholds.unsupervised_k must be > 0")
        if not 0.0 < self.miss_rate_limit < 1.0:
            raise ValueError("thresholds.miss_rate_limit must lie in (0, 1)")
        if 0.0 not in self.sensitivity_shifts:
            raise ValueError("thresholds.sensitivity_shifts must include 0.0 (the operating point)")


@dataclass(frozen=True)
class RobustnessParams:
    """Perturbations of the test images (at the dataset's resolution, before resizing).

    ``brightness``: relative gain (-0.2 = 20 % darker); ``noise``: Gaussian sd in [0, 1]
    grey units; ``blur``: Gaussian sigma in dataset pixels; ``shift``: translation as a fraction
    of the image height and width (edge pixels repeated). ``max_images``: 0 uses the whole test
    split, otherwise a seeded class-balanced subset of at most that many images.
    """

    brightness: tuple[float, ...]
    noise: tuple[float, ...]
    blur: tuple[float, ...]
    shift: tuple[float, ...]
    max_images: int

    def validate(self) -> None:
        """Levels in physically meaningful ranges."""
        if any(not -1.0 < level < 1.0 for level in self.brightness):
            raise ValueError("robustness.brightness gains must lie in (-1, 1)")
        if any(level < 0 for level in (*self.noise, *self.blur)):
            raise ValueError("robustness.noise and robustness.blur levels must be >= 0")
        if any(not 0.0 <= level < 0.5 for level in self.shift):
            raise ValueError("robustness.shift fractions must lie in [0, 0.5)")
        if self.max_images < 0:
            raise ValueError("robustness.max_images must be >= 0 (0 = whole test split)")


@dataclass(frozen=True)
class PadimParams:
    """PaDiM-style baseline on the detector's own early encoder features.

    ``layers``: encoder levels concatenated (coarser ones upsampled to the first's grid);
    ``n_features``: channels kept at random (all if fewer); ``epsilon``: ridge added to each
    location's covariance (PaDiM's 0.01).
    """

    layers: tuple[str, ...]
    n_features: int
    epsilon: float

    def validate(self) -> None:
        """At least one layer; positive counts."""
        if not self.layers or self.n_features < 1 or self.epsilon <= 0:
            raise ValueError("padim.layers non-empty, padim.n_features >= 1, padim.epsilon > 0")


@dataclass(frozen=True)
class Params:
    """What to evaluate and how.

    ``detector``: the trained model (``train.models``) of the inline mode; ``baseline``: the
    plain autoencoder compared with it (skipped with a note if it was not trained).
    ``confidence``: coverage of every interval; ``n_boot``: bootstrap resamples (seeded).
    ``gallery_per_class``: images per outcome (TP, FP, FN).
    """

    seed: int
    detector: str
    baseline: str
    score: ScoreName
    four_ms_ssim: FourMsSsimParams
    seal_path: SealPathParams
    thresholds: ThresholdParams
    ablation_scores: tuple[AblationScore, ...]
    confidence: float
    n_boot: int
    pro_fpr_limit: float
    gallery_per_class: int
    robustness: RobustnessParams
    padim: PadimParams
    batch_size: int

    def validate(self) -> None:
        """Probabilities, counts and sizes in range."""
        if not 0.5 < self.confidence < 1.0:
            raise ValueError("confidence must lie in (0.5, 1)")
        if self.n_boot < 100:
            raise ValueError("n_boot must be >= 100 for a usable percentile interval")
        if not 0.0 < self.pro_fpr_limit <= 1.0:
            raise ValueError("pro_fpr_limit must lie in (0, 1]")
        if self.gallery_per_class < 0 or self.batch_size < 1:
            raise ValueError("gallery_per_class >= 0, batch_size >= 1")
        if len(set(self.ablation_scores)) != len(self.ablation_scores):
            raise ValueError("ablation_scores must list each score once")
        if self.score == "four_ms_ssim_path" and self.four_ms_ssim.pooling != "max":
            raise ValueError(
                "score four_ms_ssim_path scores the heatmap's maximum: set "
                "four_ms_ssim.pooling: max"
            )
