"""Ground truth of a synthetic defect, the generator's size ranges, and overrides.

The size ranges are what each defect type *is* (SPEC §2.2), so they are constants here rather
than params; the challenge set (``pipeline.data.challenge``) spreads its sizes over them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

FORMS = ("particle", "fibre")
# The generator's characteristic-size range per (defect type, form): what each type is, in mm,
# except width_deviation's narrowing (fraction of the nominal band height lost).
SIZE_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("channel", ""): (0.075, 0.45),
    ("wrinkle", ""): (2.0, 15.0),
    ("incomplete_seal", ""): (2.0, 30.0),
    ("contamination", "particle"): (0.1, 2.0),
    ("contamination", "fibre"): (1.0, 10.0),
    ("void", ""): (0.5, 5.0),
    ("burn", ""): (5.0, 50.0),
    ("width_deviation", ""): (0.1, 0.5),
}
WIDTH_DEVIATION_LENGTH_MM = (5.0, 40.0)


@dataclass(frozen=True)
class DefectTruth:
    """Ground truth of one rendered defect (validation/data_dictionary.yaml, defect_* columns).

    Attributes:
        size: characteristic size as rendered, in ``unit``.
        unit: "mm", or "fraction" for width_deviation's narrowing.
        contrast: grey levels, absolute amplitude as drawn (width_deviation: mean absolute
            grey change over the lost band area).
        form: "particle" or "fibre" for contamination, "" otherwise.
    """

    size: float
    unit: str
    contrast: float
    form: str

    def columns(self) -> dict[str, Any]:
        """The manifest's ``defect_*`` values."""
        return {
            "defect_size": self.size,
            "defect_size_unit": self.unit,
            "defect_contrast": self.contrast,
            "defect_form": self.form,
        }


@dataclass(frozen=True)
class Override:
    """Values that replace drawn ones (the challenge set); None keeps the drawn value.

    ``size`` is the characteristic size in the type's unit (before the one-pixel floor),
    ``form`` applies to contamination only, ``length_mm`` to width_deviation only.
    """

    size: float | None = None
    form: str | None = None
    length_mm: float | None = None

    def check(self, kind: str) -> None:
        """Raise ValueError if this override means nothing for defect ``kind``."""
        if self.form is not None and (kind != "contamination" or self.form not in FORMS):
            raise ValueError(f"override form {self.form!r}: only contamination, one of {FORMS}")
        if self.length_mm is not None and kind != "width_deviation":
            raise ValueError(f"override length_mm applies to width_deviation only, not {kind!r}")
        limit = 1.0 if kind == "width_deviation" else math.inf  # a narrowing is a fraction
        if self.size is not None and not 0 < self.size < limit:
            raise ValueError(f"override size {self.size} out of range for {kind!r}")


NO_OVERRIDE = Override()
