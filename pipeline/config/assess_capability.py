"""Parameters of the ``assess_capability`` stage (detection capability on the challenge set).

What the capability must be, and the statistics that judge it, are no parameters: the
validation protocol (``validation/protocol.yaml``) fixes them before testing. Only how the
stage runs is tuned here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SECTION = "assess_capability"
MODES = ("inline", "monitoring")
TestSet = Literal["auto", "challenge", "test_split"]


@dataclass(frozen=True)
class Params:
    """Which modes are assessed, on which test set, and how many images are scored at once.

    ``test_set``: ``challenge`` (the generated challenge set), ``test_split`` (the dataset's own
    test split: the protocol's role for imported data, which has no challenge set) or ``auto``
    (the challenge set for generated data, the test split for imported data).

    ``chunk_images`` bounds memory: the challenge set is read and scored in chunks of this
    many images (1,560 images at 128 x 768 would need 0.6 GB at once).
    """

    modes: tuple[str, ...]
    test_set: TestSet
    batch_size: int
    chunk_images: int

    def validate(self) -> None:
        """Known modes, at least one; positive sizes."""
        unknown = sorted(set(self.modes) - set(MODES))
        if unknown or not self.modes:
            raise ValueError(f"modes {list(self.modes)}: use one or both of {list(MODES)}")
        if self.batch_size < 1 or self.chunk_images < 1:
            raise ValueError("batch_size and chunk_images must be >= 1")
