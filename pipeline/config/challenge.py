"""Parameters of the capability challenge set (``sealaudit data challenge``, issue #14).

Not a DVC stage: its output is the versioned challenge set that ``challenge.dvc`` tracks. It is
rendered with the ``synth`` section's settings (image size, band, nuisance, views per event)
but its own seed, so no challenge image repeats a development image. Sizes are spread
log-uniformly over the generator's size range of each defect type and form
(``pipeline.data.defect_truth.SIZE_RANGES``) and severities uniformly over [0, 1], by design.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config.synth import validate_calendar

SECTION = "challenge"


@dataclass(frozen=True)
class Params:
    """Size of the challenge set and its calendar.

    ``events_per_requirement`` defective capture events are drawn for each defect type and
    contamination form (eight rows, one per requirement of the demo protocol);
    ``width_deviation_length_mm`` is the range of a width deviation's length, kept above the
    requirement's 10 mm.
    """

    seed: int
    n_normal_events: int
    events_per_requirement: int
    width_deviation_length_mm: tuple[float, float]
    start_date: str
    capture_days: int

    def validate(self) -> None:
        """Reject values the generator cannot honour."""
        if self.n_normal_events < 1 or self.events_per_requirement < 1:
            raise ValueError("n_normal_events and events_per_requirement must be >= 1")
        low, high = self.width_deviation_length_mm
        if not 0 < low <= high:
            raise ValueError("width_deviation_length_mm must satisfy 0 < low <= high")
        validate_calendar(self.start_date, self.capture_days)
