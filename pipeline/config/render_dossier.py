"""Parameters of the ``render_dossier`` stage (validation dossier per registered model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SECTION = "render_dossier"
MODES = ("inline", "monitoring")


@dataclass(frozen=True)
class Params:
    """What the dossiers show and how the PDF is written.

    ``pdf_variant: pdf/a-3b`` writes an archival PDF/A-3b (the variant that allows the evidence
    files as attachments); ``none`` a plain PDF with the same attachments. The comparison
    with the current champion is no parameter: the registry is no declared input of the stage,
    so ``sealaudit dossier --compare`` makes it when a person asks.
    """

    system_name: str
    modes: tuple[str, ...]
    gallery_per_kind: int
    pdf_variant: Literal["pdf/a-3b", "none"]

    def validate(self) -> None:
        """Known modes, at least one, and a gallery size a page can hold."""
        unknown = sorted(set(self.modes) - set(MODES))
        if unknown or not self.modes:
            raise ValueError(f"modes {list(self.modes)}: use one or both of {list(MODES)}")
        if not 0 <= self.gallery_per_kind <= 12:
            raise ValueError("gallery_per_kind must be within [0, 12]")
        if not self.system_name.strip():
            raise ValueError("system_name must not be empty")
