"""The inline detector: an autoencoder's reconstruction scored by the four-component MS-SSIM.

Built from a checkpoint, the ``ScoringSettings`` calibrate fixed (score, its options, the
seal-path calibration) and the operating threshold, wherever it runs.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.detector.base import Detector
from pipeline.detector.settings import ScoringSettings
from pipeline.evaluation.inference import ReconstructionScorer
from pipeline.models.checkpoint import load_autoencoder
from pipeline.models.thresholds import Threshold
from pipeline.provenance import sha256_file

MODE = "inline"


def inline_scorer(
    checkpoint: Path, settings: ScoringSettings, batch_size: int
) -> ReconstructionScorer:
    """The reconstruction scorer ``settings`` describe, on the weights in ``checkpoint``."""
    model, meta = load_autoencoder(Path(checkpoint))
    return ReconstructionScorer(
        model,
        meta,
        settings.detector,
        settings.score,
        settings.four_ms_ssim or {},
        batch_size,
        seal_path=settings.seal_path,
    )


def inline_detector(
    checkpoint: Path, settings: ScoringSettings, threshold: Threshold, batch_size: int
) -> Detector:
    """The inline detector: ``checkpoint`` scored as ``settings`` say, deciding at
    ``threshold``."""
    scorer = inline_scorer(checkpoint, settings, batch_size)
    files = {"checkpoint": sha256_file(Path(checkpoint))}
    return Detector(MODE, scorer, threshold, settings, files)
