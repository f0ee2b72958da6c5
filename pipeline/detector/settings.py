"""How a detector computes its score (``settings.json`` inside a packaged model).

``calibrate`` fixes these settings, ``register`` packages them (``bundles.scoring_settings``)
and every detector is built from them (``pipeline.detector``), in a stage, in the packaged
model and in the CLI; all go through this one dataclass. Inline detectors carry
``four_ms_ssim`` (the score's options) and, for ``four_ms_ssim_path``, ``seal_path`` with its
fitted calibration; monitoring detectors carry ``layer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.evidence.convert import Where, from_dict, optional, to_dict


@dataclass(frozen=True)
class ScoringSettings:
    """One mode's scoring settings (absent keys: not used by the mode)."""

    mode: str
    score: str
    detector: str
    four_ms_ssim: dict[str, Any] | None = optional()
    seal_path: dict[str, Any] | None = optional()
    layer: str | None = optional()

    def to_dict(self) -> dict[str, Any]:
        """The JSON object packaged as ``settings.json`` (unused keys left out)."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> ScoringSettings:
        """Strictly from a packaged ``settings.json``: unknown or missing keys are errors."""
        where = Where("settings.json (packaged model)", "register")
        return from_dict(cls, raw, where)
