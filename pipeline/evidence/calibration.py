"""Evidence documents of the ``calibrate`` stage: what each operating detector is and which
threshold it decides with.

Verbatim (``dict[str, Any]``): ``four_ms_ssim`` (options of the score), ``seal_path`` (the
path map's settings with its calibration, packaged as is by ``register``), ``rules`` (the
``calibrate.thresholds`` section the thresholds were fitted with) and ``thresholds_not_fitted``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.evidence.convert import EvidenceError
from pipeline.evidence.documents import Provenance
from pipeline.models.thresholds import Threshold


@dataclass(frozen=True)
class CalibratedMode:
    """One mode's operating detector in ``calibration.json``.

    ``four_ms_ssim`` is empty and ``seal_path`` null for the monitoring mode; ``layer`` is
    null for the inline mode. ``reference_exceedance``: share of the monitor's reference (val
    normal) scores above the operating threshold (monitoring only, null for inline).
    """

    detector: str
    score: str
    four_ms_ssim: dict[str, Any]
    seal_path: dict[str, Any] | None
    layer: str | None
    fitted_on_split: str
    n_val_normal: int
    n_val_defective: int
    thresholds_not_fitted: list[dict[str, Any]]
    operating_threshold_id: str
    reference_exceedance: float | None


@dataclass(frozen=True)
class CalibratedModes:
    """``calibration.json`` ``modes``: monitoring is null when calibrate ran without it."""

    inline: CalibratedMode
    monitoring: CalibratedMode | None

    def of(self, mode: str) -> CalibratedMode | None:
        """The named mode's calibration (None when it was not calibrated)."""
        return {"inline": self.inline, "monitoring": self.monitoring}[mode]


@dataclass(frozen=True)
class Calibration:
    """``calibrate/calibration.json``."""

    modes: CalibratedModes
    rules: dict[str, Any]
    torch_numerics: dict[str, Any]
    provenance: Provenance

    def mode(self, mode: str) -> CalibratedMode:
        """The mode's calibration; an error when calibrate did not run it."""
        calibrated = self.modes.of(mode)
        if calibrated is None:
            raise EvidenceError(
                f"calibrate/calibration.json: modes.{mode} is null (calibrate ran without "
                "--monitor); pass the fit_monitor folder and rerun `dvc repro calibrate`"
            )
        return calibrated


@dataclass(frozen=True)
class Thresholds:
    """``calibrate/thresholds.json``: every fitted threshold per mode (null: not calibrated)."""

    inline: list[Threshold] | None
    monitoring: list[Threshold] | None

    def of(self, mode: str) -> list[Threshold]:
        """The mode's fitted thresholds; an error when calibrate did not run it."""
        fitted = {"inline": self.inline, "monitoring": self.monitoring}[mode]
        if fitted is None:
            raise EvidenceError(
                f"calibrate/thresholds.json: {mode} is null (calibrate ran without it); "
                "rerun `dvc repro calibrate`"
            )
        return fitted
