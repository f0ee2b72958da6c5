"""The operating detector of a mode: its scorer and the one threshold it decides with.

``operating_detector`` is the single way a stage gets "the inline (or monitoring) scorer and
its threshold" after ``calibrate``: ``evaluate`` measures it on test and a capability stage
measures it on a challenge set. Everything it needs is read from ``artifacts/calibrate/``
(``calibration.json``, ``thresholds.json``, the calibrated ``monitor.npz``) and the trained
checkpoint; no params are re-read, so what is measured is what was calibrated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline import evidence
from pipeline.evaluation.inference import FeatureDistanceScorer, ReconstructionScorer, Scorer
from pipeline.evidence import CalibratedMode, Calibration, Thresholds, operating_threshold
from pipeline.models.checkpoint import load_autoencoder
from pipeline.models.thresholds import Threshold
from pipeline.monitoring.fitted import FittedMonitor, check_checkpoint, load_monitor

CHECKPOINT = "model.pt"
MONITOR = "monitor.npz"  # fit_monitor's (no threshold) and calibrate's (operating threshold)


def inline_scorer(
    models_dir: Path,
    detector: str,
    score: str,
    options: dict[str, Any],
    seal_path: dict[str, Any] | None,
    batch_size: int,
) -> ReconstructionScorer:
    """The inline mode: ``detector``'s reconstructions scored by ``score`` with the 4-MS-SSIM
    ``options`` and the path-map settings ``seal_path`` (calibrated or not)."""
    model, meta = load_autoencoder(Path(models_dir) / detector / CHECKPOINT)
    return ReconstructionScorer(
        model, meta, detector, score, options, batch_size, seal_path=seal_path
    )


def monitoring_scorer(
    monitor: FittedMonitor, models_dir: Path, batch_size: int
) -> FeatureDistanceScorer:
    """The monitoring mode: ``monitor`` on its encoder layer of the checkpoint it was fitted
    on (``<models>/<architecture>/model.pt``, checked by sha256)."""
    path = Path(models_dir) / monitor.architecture / CHECKPOINT
    check_checkpoint(monitor, path)
    model, meta = load_autoencoder(path)
    return FeatureDistanceScorer(
        model, meta, monitor.architecture, monitor, monitor.layer, batch_size
    )


def read_calibration(calibrate_dir: Path) -> tuple[Calibration, Thresholds]:
    """``calibration.json`` and ``thresholds.json`` of a calibrate folder, strictly."""
    folder = Path(calibrate_dir)
    calibration = evidence.read_file(Calibration, folder / "calibration.json")
    thresholds = evidence.read_file(Thresholds, folder / "thresholds.json")
    return calibration, thresholds


def operating_threshold_of(
    calibrated: CalibratedMode, thresholds: Thresholds, mode: str
) -> Threshold:
    """The threshold ``mode`` decides with (``operating_threshold_id`` among its fitted ones)."""
    return operating_threshold(thresholds.of(mode), calibrated.operating_threshold_id)


def operating_detector(
    mode: str, models_dir: Path, calibrate_dir: Path, batch_size: int
) -> tuple[Scorer, Threshold]:
    """The calibrated scorer of ``mode`` (``inline`` or ``monitoring``) and its operating
    threshold (reject when ``score > threshold.value``).

    Args:
        mode: ``inline`` or ``monitoring``.
        models_dir: the ``train`` stage's folder (checkpoints).
        calibrate_dir: the ``calibrate`` stage's folder.
        batch_size: images per forward pass (runtime only; scores do not depend on it).

    Raises:
        EvidenceError: the calibration is missing, malformed, or lacks the mode.
        MonitorError: the calibrated monitor does not match its checkpoint.
    """
    calibration, thresholds = read_calibration(calibrate_dir)
    calibrated = calibration.mode(mode)
    threshold = operating_threshold_of(calibrated, thresholds, mode)
    if mode == "monitoring":
        monitor = load_monitor(Path(calibrate_dir) / MONITOR)
        if monitor.threshold.threshold_id != threshold.threshold_id:
            raise evidence.EvidenceError(
                f"{Path(calibrate_dir) / MONITOR}: decides with {monitor.threshold.threshold_id}, "
                f"calibration.json with {threshold.threshold_id}; rerun `dvc repro calibrate`"
            )
        return monitoring_scorer(monitor, models_dir, batch_size), threshold
    scorer = inline_scorer(
        models_dir,
        calibrated.detector,
        calibrated.score,
        calibrated.four_ms_ssim,
        calibrated.seal_path,
        batch_size,
    )
    return scorer, threshold
