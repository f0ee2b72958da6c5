"""Parameters of the ``calibrate`` stage: the operating detectors and every decision threshold.

The stage fits the inline score's seal-path calibration on the normal ``train`` images and
every threshold rule of both modes on the ``val`` split; ``thresholds.operating_rule`` names
the one each mode decides with (the packaged models, ``sealaudit monitor``, the dossier).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SECTION = "calibrate"

# 4-MS-SSIM with the cross-seal path map: needs a calibration fitted on train, so it is the
# inline score only, never an ablation row (pipeline/models/seal_path.py).
ScoreName = Literal[
    "mse", "mae", "psnr", "ssim", "ms_ssim", "four_ssim", "four_ms_ssim", "four_ms_ssim_path"
]
RuleName = Literal["supervised", "mean_plus_k_sigma", "max_miss_rate"]


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
    """Rules fitted on ``val`` and which one operates (both modes).

    ``unsupervised_k``: the paper's mean + k sd of normal val scores. ``criterion``: what the
    supervised rule maximises. ``miss_rate_limit``: the max-miss-rate rule's one-sided upper
    bound at ``confidence`` (also the coverage of the val operating points' intervals); with
    few defective val images no cut can support it and the rule is reported as not fitted.
    """

    unsupervised_k: float
    criterion: Literal["accuracy", "f1", "youden"]
    miss_rate_limit: float
    confidence: float
    operating_rule: RuleName

    def validate(self) -> None:
        """k positive, the limit and the confidence probabilities."""
        if self.unsupervised_k <= 0:
            raise ValueError("thresholds.unsupervised_k must be > 0")
        if not 0.0 < self.miss_rate_limit < 1.0:
            raise ValueError("thresholds.miss_rate_limit must lie in (0, 1)")
        if not 0.5 < self.confidence < 1.0:
            raise ValueError("thresholds.confidence must lie in (0.5, 1)")


@dataclass(frozen=True)
class Params:
    """The operating detectors and their thresholds.

    ``detector``: the trained model (``train.models``) of the inline mode, scored by
    ``score`` with ``four_ms_ssim`` options and, for ``four_ms_ssim_path``, the ``seal_path``
    map (calibrated here on the normal train images). The monitoring mode is the
    ``fit_monitor`` estimator; its thresholds follow the same ``thresholds`` rules.
    """

    detector: str
    score: ScoreName
    four_ms_ssim: FourMsSsimParams
    seal_path: SealPathParams
    thresholds: ThresholdParams
    batch_size: int

    def validate(self) -> None:
        """A positive batch; the path score pools by the maximum."""
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.score == "four_ms_ssim_path" and self.four_ms_ssim.pooling != "max":
            raise ValueError(
                "score four_ms_ssim_path scores the heatmap's maximum: set "
                "four_ms_ssim.pooling: max"
            )
