"""Parameters of the SSI importer (``sealaudit data import-ssi``)."""

from __future__ import annotations

from dataclasses import dataclass

SECTION = "import_ssi"


@dataclass(frozen=True)
class Params:
    """Seal-band crop (authors' default rows 1650-2250, cols 300-3850) and output size.

    ``mm_per_full_res_px`` is the declared pixel pitch of the frames, which converts the defect
    sizes measured on the masks (manifest ``defect_size``) to millimetres.
    """

    roi_top: int
    roi_bottom: int
    roi_left: int
    roi_right: int
    image_height: int
    image_width: int
    frame_height: int
    frame_width: int
    mm_per_full_res_px: float

    def validate(self) -> None:
        """The crop must lie inside the frame and be non-empty."""
        if not 0 <= self.roi_top < self.roi_bottom <= self.frame_height:
            raise ValueError("need 0 <= roi_top < roi_bottom <= frame_height")
        if not 0 <= self.roi_left < self.roi_right <= self.frame_width:
            raise ValueError("need 0 <= roi_left < roi_right <= frame_width")
        if self.image_height < 16 or self.image_width < 16:
            raise ValueError("image_height and image_width must be >= 16")
        if self.mm_per_full_res_px <= 0:
            raise ValueError("mm_per_full_res_px must be > 0 (the frames' pixel pitch in mm)")
