"""Parameters of the ``validate_data`` stage (data governance, EU AI Act Art. 10).

The reviewed expectation suites under ``validation/suites/`` refer to these values by name
(``{"$PARAMETER": "<name>"}``), so a bound is tuned here and reviewed there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SECTION = "validate_data"

SHARE_BOUNDS = ("val_defective_share", "test_defective_share", "stream_defective_share")


@dataclass(frozen=True)
class Params:
    """Bounds the governance checks assert.

    ``near_duplicate_max_distance`` is a fraction of the dHash bits (``hash_rows`` x
    ``hash_cols``): measured on the embedded dataset, the twin views of one pouch lie at most
    0.18 apart and two different pouches at least 0.31, so 0.24 sits in the middle of that gap.
    ``max_date_label_association`` bounds the bias-corrected Cramér's V between capture date and
    label (DG-10) and between view tag and label (DG-11); the SSI frames exceed it on both (all
    defective ones captured on one day; view tag 20 good-only).
    """

    hash_rows: int
    hash_cols: int
    near_duplicate_max_distance: float
    min_dynamic_range: int
    mean_intensity_range: tuple[float, float]
    max_clipped_share: float
    val_defective_share: tuple[float, float]
    test_defective_share: tuple[float, float]
    stream_defective_share: tuple[float, float]
    defect_type_min_share: float
    max_date_label_association: float
    max_examples: int

    def validate(self) -> None:
        """Hash size, fractions, shares and intensity bounds must be meaningful."""
        if self.hash_rows < 2 or self.hash_cols < 2:
            raise ValueError("hash_rows and hash_cols must be >= 2")
        if not 0.0 <= self.near_duplicate_max_distance < 0.5:
            raise ValueError("near_duplicate_max_distance must be within [0, 0.5)")
        if not 0 <= self.min_dynamic_range <= 255:
            raise ValueError("min_dynamic_range must be within [0, 255] grey levels")
        low, high = self.mean_intensity_range
        if not 0.0 <= low < high <= 255.0:
            raise ValueError("mean_intensity_range must be [low, high] within [0, 255]")
        for name in SHARE_BOUNDS:
            low, high = getattr(self, name)
            if not 0.0 <= low <= high <= 1.0:
                raise ValueError(f"{name} must be [low, high] within [0, 1]")
        for name in ("max_clipped_share", "defect_type_min_share", "max_date_label_association"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.max_examples < 1:
            raise ValueError("max_examples must be >= 1")

    def expectation_parameters(self, image_height: int, image_width: int) -> dict[str, Any]:
        """The values the suites' ``$PARAMETER`` references resolve to."""
        values: dict[str, Any] = {
            "image_height": image_height,
            "image_width": image_width,
            "near_duplicate_max_distance": self.near_duplicate_max_distance,
            "min_dynamic_range": self.min_dynamic_range,
            "mean_intensity_min": self.mean_intensity_range[0],
            "mean_intensity_max": self.mean_intensity_range[1],
            "max_clipped_share": self.max_clipped_share,
            "defect_type_min_share": self.defect_type_min_share,
            "max_date_label_association": self.max_date_label_association,
        }
        for name in SHARE_BOUNDS:
            values[f"{name}_min"], values[f"{name}_max"] = getattr(self, name)
        return values
