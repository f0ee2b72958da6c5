"""One detector per mode: what scores an image, where it looks, and the threshold it decides with.

A ``Detector`` holds everything a decision needs: the loaded weights and their preprocessing
(band alignment, working size, ROI: the scorer's checkpoint), the score and its calibration
(``ScoringSettings``) and the operating ``Threshold``. ``score(images)`` returns scores,
heatmaps in the working frame and decisions together, so a stage that measures the detector,
the packaged model that serves it and the CLI that runs it on a lot cannot disagree about
how an image is judged. ``to_dict`` is the detector's plain description (settings and
threshold, plus the sha256 of the files it loads); the files themselves (checkpoint, monitor)
are named, not embedded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.detector.settings import ScoringSettings
from pipeline.evaluation.inference import Scored, Scorer
from pipeline.models.alignment import Alignment
from pipeline.models.thresholds import Threshold


@dataclass(frozen=True)
class Detection:
    """What a detector says about a stack of images.

    Attributes:
        scores: (N,) anomaly scores, higher = more anomalous.
        decisions: (N,) True where the image is rejected (``score > threshold``).
        maps: (N, H, W) per-pixel anomaly in the working frame, or None when not asked.
        scored: the scorer's full output (inputs and reconstructions for figures).
    """

    scores: np.ndarray
    decisions: np.ndarray
    maps: np.ndarray | None
    scored: Scored


@dataclass(frozen=True)
class Detector:
    """A mode's scorer with its settings and operating threshold.

    Attributes:
        mode: ``inline`` or ``monitoring``.
        scorer: the loaded scorer (checkpoint, preprocessing, score; for monitoring the monitor).
        threshold: the operating threshold (reject when ``score > threshold.value``).
        settings: how the score is computed (what a packaged model carries).
        files: sha256 of each file the detector was loaded from (``checkpoint``, ``monitor``).
    """

    mode: str
    scorer: Scorer
    threshold: Threshold
    settings: ScoringSettings
    files: dict[str, str]

    def score(self, images: np.ndarray, with_maps: bool = False) -> Detection:
        """Judge (N, H0, W0) images in [0, 1] (or a stack already at the working size)."""
        scored = self.scorer(images, keep_maps=with_maps)
        scores = np.asarray(scored.scores, dtype=float)
        return Detection(scores, self.threshold.rejects(scores), scored.heatmaps, scored)

    @property
    def alignment(self) -> Alignment:
        """The frame of the heatmaps (what ``backmapping.map_to_source`` needs)."""
        return self.scorer.alignment

    def working_with_geometry(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(N, H0, W0) -> model input and its band geometry, as ``score`` prepares them."""
        return self.scorer.working_with_geometry(images)

    def to_dict(self) -> dict[str, Any]:
        """The detector's plain description: mode, settings, threshold and file hashes."""
        return {
            "mode": self.mode,
            "settings": self.settings.to_dict(),
            "threshold": self.threshold.to_dict(),
            "files_sha256": dict(self.files),
        }
