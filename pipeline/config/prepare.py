"""Parameters of the ``prepare`` stage (group-aware, seeded splits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SECTION = "prepare"


@dataclass(frozen=True)
class Params:
    """Split sizes are image counts; capture events (twin views) are never split apart.

    Val takes ``val_normal`` normal images, at most ``val_normal_max_share`` of the normal
    images left for val and train, so a small dataset still trains on most of its normals.

    ``strategy: official`` takes the authors' SSI revision from ``data/official_splits.csv``
    instead (its known group leakage is then reported by ``validate_data``).
    """

    seed: int
    strategy: Literal["random", "official"]
    official_revision: str
    test_per_class: int
    val_normal: int
    val_normal_max_share: float
    val_defect_share: float
    stream_size: int
    stream_defect_share: float

    def validate(self) -> None:
        """Shares are probabilities and counts are non-negative."""
        if self.test_per_class < 1 or self.val_normal < 1 or self.stream_size < 0:
            raise ValueError("test_per_class and val_normal must be >= 1, stream_size >= 0")
        for name in ("val_defect_share", "stream_defect_share"):
            share = getattr(self, name)
            if not 0.0 <= share < 1.0:
                raise ValueError(f"{name} must be within [0, 1)")
        if not 0.0 < self.val_normal_max_share <= 1.0:
            raise ValueError("val_normal_max_share must be within (0, 1]")
