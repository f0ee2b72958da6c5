"""Parameters of the synthetic SSI-like stand-in dataset (``sealaudit data synth``).

Not a DVC stage: its output is the versioned dataset that ``data.dvc`` tracks.
"""

from __future__ import annotations

from dataclasses import dataclass

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
class Params:
    """Size and composition of the generated dataset.

    Counts are capture events; each event yields ``views_per_event`` images (twin views, like
    SSI tags 12/23), and a defective event shows its defect in every view.
    """

    seed: int = 20190905
    image_height: int = 128
    image_width: int = 768
    n_normal_events: int = 260
    n_defect_events: int = 96
    views_per_event: int = 2
    defect_types: tuple[str, ...] = DEFECT_TYPES
    subtle_share: float = 0.25

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
