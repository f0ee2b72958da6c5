"""Parameters of the synthetic SSI-like stand-in dataset (``sealaudit data synth``).

Not a DVC stage: its output is the versioned dataset that ``data.dvc`` tracks. Visual ranges
follow SPEC §2.2; defect size and contrast ranges are fixed in ``pipeline.data.defects`` because
they define what each defect type is, not how a run is tuned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

SECTION = "synth"

DEFECT_TYPES = (
    "channel",
    "wrinkle",
    "incomplete_seal",
    "contamination",
    "void",
    "burn",
    "width_deviation",
)


@dataclass(frozen=True)
class Nuisance:
    """Acquisition variation of every image (SPEC §2.2); no vertical flip by design.

    ``shift_x`` and ``scale`` are fractions, ``shift_y_full_res_px`` is in full-resolution
    pixels, ``brightness`` a relative gain range, ``sensor_noise`` a grey-level std. The
    ``view_*`` values are the extra, smaller differences between twin views of one pouch.
    """

    shift_x: float
    shift_y_full_res_px: float
    scale: float
    rotation_deg: float
    brightness: float
    sensor_noise: float
    view_shift_px: float
    view_brightness: float

    def validate(self) -> None:
        """Ranges must be non-negative and small enough to keep the band in the frame."""
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        negative = sorted(name for name, value in values.items() if value < 0)
        if negative:
            raise ValueError(f"nuisance {negative} must be >= 0")
        if self.shift_x > 0.2 or self.scale > 0.3 or self.brightness > 0.5:
            raise ValueError("nuisance shift_x <= 0.2, scale <= 0.3, brightness <= 0.5 required")
        if self.rotation_deg > 10:
            raise ValueError("nuisance rotation_deg must be <= 10")


@dataclass(frozen=True)
class Params:
    """Size and composition of the generated dataset.

    Counts are capture events; each event yields ``views_per_event`` images (twin views, like
    SSI tags 12/23), and a defective event shows its defect in every view. Sizes in mm are
    converted with ``mm_per_full_res_px`` over a full-resolution crop ``full_res_crop_width``
    pixels wide (SSI: 3550) that the working ``image_width`` represents.
    """

    seed: int
    image_height: int
    image_width: int
    n_normal_events: int
    n_defect_events: int
    views_per_event: int
    defect_types: tuple[str, ...]
    subtle_share: float
    full_res_crop_width: int
    mm_per_full_res_px: float
    band_height_range: tuple[float, float]
    rib_period_mm: float
    rib_amplitude: float
    start_date: str
    capture_days: int
    nuisance: Nuisance

    def validate(self) -> None:
        """Reject values the generator cannot honour."""
        if self.image_height < 32 or self.image_width < 32:
            raise ValueError("image_height and image_width must be >= 32")
        if self.n_normal_events < 1 or self.n_defect_events < 0:
            raise ValueError("n_normal_events must be >= 1 and n_defect_events >= 0")
        if self.views_per_event not in (1, 2):
            raise ValueError("views_per_event must be 1 or 2")
        unknown = sorted(set(self.defect_types) - set(DEFECT_TYPES))
        if unknown or not self.defect_types:
            raise ValueError(f"defect_types {unknown} unknown; choose from {list(DEFECT_TYPES)}")
        if not 0.0 <= self.subtle_share <= 1.0:
            raise ValueError("subtle_share must be within [0, 1]")
        if self.full_res_crop_width < self.image_width or self.mm_per_full_res_px <= 0:
            raise ValueError("need full_res_crop_width >= image_width and mm_per_full_res_px > 0")
        low, high = self.band_height_range
        if not 0.05 <= low <= high <= 0.5:
            raise ValueError("band_height_range must satisfy 0.05 <= low <= high <= 0.5")
        if self.rib_period_mm <= 0 or self.rib_amplitude < 0:
            raise ValueError("rib_period_mm must be > 0 and rib_amplitude >= 0")
        self._validate_calendar()
        self.nuisance.validate()

    def _validate_calendar(self) -> None:
        validate_calendar(self.start_date, self.capture_days)
        # Each day's captures must fit between 06:00 and 22:00 at one second or more apart.
        per_day = -(-(self.n_normal_events + self.n_defect_events) // self.capture_days)
        if per_day > 16 * 3600:
            raise ValueError("too many events per day; raise capture_days")

    @property
    def px_per_mm(self) -> float:
        """Stored-image pixels per millimetre of seal."""
        return self.image_width / (self.full_res_crop_width * self.mm_per_full_res_px)


def validate_calendar(start_date: str, capture_days: int) -> None:
    """A capture calendar: an ISO start date and at least one day (synth and challenge)."""
    try:
        dt.date.fromisoformat(start_date)
    except ValueError as error:
        raise ValueError(f"start_date {start_date!r} is not YYYY-MM-DD") from error
    if capture_days < 1:
        raise ValueError("capture_days must be >= 1")
