"""One detector object per mode, loaded the same way by every stage, the packaged model and the CLI.

- ``operating_detector``: a mode's detector after ``calibrate`` (checkpoint from ``train``,
  settings and thresholds from ``artifacts/calibrate/``); ``evaluate`` measures it on test,
  ``assess_capability`` on the challenge set. No params are re-read, so what is measured is
  what was calibrated.
- ``packaged_detector``: the same detector from a registered model's artifacts (checkpoint,
  ``settings.json``, ``threshold.json`` and, for monitoring, the monitor).
- ``inline`` / ``monitoring``: how each mode is built; ``base.Detector`` is the object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline import evidence
from pipeline.detector.base import Detection, Detector
from pipeline.detector.inline import inline_detector
from pipeline.detector.monitoring import monitoring_detector, monitoring_detector_from_file
from pipeline.detector.settings import ScoringSettings
from pipeline.evidence import CalibratedMode, Calibration, Thresholds, operating_threshold
from pipeline.models.thresholds import Threshold

CHECKPOINT = "model.pt"
MONITOR = "monitor.npz"  # fit_monitor's (no threshold) and calibrate's (operating threshold)
MODES = ("inline", "monitoring")


def read_calibration(calibrate_dir: Path) -> tuple[Calibration, Thresholds]:
    """``calibration.json`` and ``thresholds.json`` of a calibrate folder, strictly."""
    folder = Path(calibrate_dir)
    calibration = evidence.read_file(Calibration, folder / "calibration.json")
    thresholds = evidence.read_file(Thresholds, folder / "thresholds.json")
    return calibration, thresholds


def calibrated_settings(mode: str, calibrated: CalibratedMode) -> ScoringSettings:
    """The settings ``calibrate`` recorded for ``mode``."""
    if mode == "monitoring":
        return ScoringSettings(mode, calibrated.score, calibrated.detector, layer=calibrated.layer)
    return ScoringSettings(
        mode,
        calibrated.score,
        calibrated.detector,
        four_ms_ssim=dict(calibrated.four_ms_ssim),
        seal_path=dict(calibrated.seal_path) if calibrated.seal_path else None,
    )


def operating_detector(
    mode: str, models_dir: Path, calibrate_dir: Path, batch_size: int
) -> Detector:
    """The calibrated detector of ``mode`` (``inline`` or ``monitoring``).

    Args:
        mode: ``inline`` or ``monitoring``.
        models_dir: the ``train`` stage's folder (checkpoints).
        calibrate_dir: the ``calibrate`` stage's folder.
        batch_size: images per forward pass (runtime only; scores do not depend on it).

    Raises:
        EvidenceError: the calibration is missing, malformed, lacks the mode, or the
            calibrated monitor decides with another threshold.
        MonitorError: the calibrated monitor does not match its checkpoint.
    """
    calibration, thresholds = read_calibration(calibrate_dir)
    calibrated = calibration.mode(mode)
    threshold = operating_threshold(thresholds.of(mode), calibrated.operating_threshold_id)
    checkpoint = Path(models_dir) / calibrated.detector / CHECKPOINT
    if mode == "inline":
        settings = calibrated_settings(mode, calibrated)
        return inline_detector(checkpoint, settings, threshold, batch_size)
    path = Path(calibrate_dir) / MONITOR
    monitor = monitoring_detector_from_file(path, checkpoint, batch_size)
    return _deciding_with(monitor, threshold, (path, "calibration.json"), CALIBRATE_AGAIN)


def packaged_detector(artifacts: dict[str, str], batch_size: int) -> Detector:
    """The detector a packaged model's artifacts describe (``checkpoint``, ``settings``,
    ``threshold`` and, for monitoring, ``estimator``: the calibrated monitor)."""
    settings = ScoringSettings.from_dict(_json(artifacts["settings"]))
    threshold = Threshold.from_dict(_json(artifacts["threshold"]))
    checkpoint = Path(artifacts["checkpoint"])
    if settings.mode == "inline":
        return inline_detector(checkpoint, settings, threshold, batch_size)
    monitor = monitoring_detector_from_file(Path(artifacts["estimator"]), checkpoint, batch_size)
    files = (artifacts["estimator"], "threshold.json")
    return _deciding_with(monitor, threshold, files, "register again (`dvc repro register`)")


CALIBRATE_AGAIN = "rerun `dvc repro calibrate`"


def _deciding_with(
    monitor: Detector, threshold: Threshold, files: tuple[Path | str, str], fix: str
) -> Detector:
    """``monitor`` when it decides with ``threshold``, the one its record names.

    Args:
        files: the monitor's file and the name of the record holding ``threshold``.

    Raises:
        EvidenceError: the monitor file carries another threshold.
    """
    if monitor.threshold.threshold_id == threshold.threshold_id:
        return monitor
    raise evidence.EvidenceError(
        f"{files[0]}: the monitor decides with {monitor.threshold.threshold_id}, {files[1]} "
        f"with {threshold.threshold_id}; {fix}"
    )


def _json(path: str) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


__all__ = [
    "CHECKPOINT",
    "MODES",
    "MONITOR",
    "Detection",
    "Detector",
    "ScoringSettings",
    "calibrated_settings",
    "monitoring_detector",
    "operating_detector",
    "packaged_detector",
    "read_calibration",
]
