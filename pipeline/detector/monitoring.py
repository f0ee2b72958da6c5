"""The monitoring detector: Mahalanobis distance of an encoder layer's randomly kept features.

Built from the calibrated monitor (``monitor.npz``: estimator, reference, chart settings and the
operating threshold) and the autoencoder checkpoint it was fitted on, checked by sha256.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.detector.base import Detector
from pipeline.detector.settings import ScoringSettings
from pipeline.evaluation.inference import FeatureDistanceScorer
from pipeline.models.checkpoint import load_autoencoder
from pipeline.monitoring.fitted import FittedMonitor, check_checkpoint, load_monitor
from pipeline.provenance import sha256_file

MODE = "monitoring"


def monitoring_scorer(
    monitor: FittedMonitor, checkpoint: Path, batch_size: int
) -> FeatureDistanceScorer:
    """``monitor`` on its encoder layer of ``checkpoint`` (refused unless it is the checkpoint
    the monitor was fitted on)."""
    check_checkpoint(monitor, Path(checkpoint))
    model, meta = load_autoencoder(Path(checkpoint))
    return FeatureDistanceScorer(
        model, meta, monitor.architecture, monitor, monitor.layer, batch_size
    )


def monitoring_settings(monitor: FittedMonitor) -> ScoringSettings:
    """The settings a monitoring detector is described by."""
    return ScoringSettings(
        MODE, FeatureDistanceScorer.score_name, monitor.architecture, layer=monitor.layer
    )


def monitoring_detector(
    monitor: FittedMonitor, checkpoint: Path, batch_size: int, monitor_sha256: str = ""
) -> Detector:
    """The monitoring detector deciding at the monitor's operating threshold.

    Raises:
        MonitorError: the monitor carries no threshold (fit_monitor's file) or was fitted on
            another checkpoint.
    """
    monitor.threshold  # noqa: B018 - refuse an uncalibrated monitor before loading weights
    scorer = monitoring_scorer(monitor, checkpoint, batch_size)
    return detector_of(scorer, monitor_sha256)


def detector_of(scorer: FeatureDistanceScorer, monitor_sha256: str = "") -> Detector:
    """The detector of an already built scorer (weights in memory: benchmarks, tests)."""
    monitor = scorer.monitor
    files = {"checkpoint": monitor.checkpoint_sha256}
    if monitor_sha256:
        files["monitor"] = monitor_sha256
    return Detector(MODE, scorer, monitor.threshold, monitoring_settings(monitor), files)


def monitoring_detector_from_file(path: Path, checkpoint: Path, batch_size: int) -> Detector:
    """``monitoring_detector`` of a ``monitor.npz`` file."""
    return monitoring_detector(load_monitor(Path(path)), checkpoint, batch_size, sha256_file(path))
