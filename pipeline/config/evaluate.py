"""Parameters of the ``evaluate`` stage: intervals, comparisons and evidence extras.

The operating detectors and their thresholds come from the ``calibrate`` stage (fitted on
``train``/``val``); ``evaluate`` measures them on the ``test`` split. The comparators (score
ablation, baselines) are thresholded on ``val`` with the rules ``calibrate`` recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SECTION = "evaluate"

AblationScore = Literal["mse", "mae", "psnr", "ssim", "ms_ssim", "four_ssim", "four_ms_ssim"]
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

    ``baseline``: the plain autoencoder compared with the inline detector (skipped with a
    note if it was not trained). ``sensitivity_shifts``: relative moves of each calibrated
    threshold whose test figures are reported. ``confidence``: coverage of every interval;
    ``n_boot``: bootstrap resamples (seeded). ``gallery_per_class``: images per outcome.
    """

    seed: int
    baseline: str
    sensitivity_shifts: tuple[float, ...]
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
        if 0.0 not in self.sensitivity_shifts:
            raise ValueError("sensitivity_shifts must include 0.0 (the operating point)")
