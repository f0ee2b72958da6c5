"""Images embedded in the dossier as data URIs, so the HTML is self-contained and deterministic
(the same evidence bytes give the same HTML) and rendering needs no file or network access."""

from __future__ import annotations

import base64
from pathlib import Path

from pipeline.dossier.evidence import require_file

MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}


def data_uri(path: Path, writer: str) -> str:
    """The file as a ``data:`` URI; a missing image is an error naming it and its writer."""
    path = require_file(path, writer)
    media = MEDIA_TYPES.get(path.suffix.lower())
    if media is None:
        raise ValueError(f"{path}: unsupported image type; use PNG, JPEG or SVG")
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{media};base64,{encoded}"


def figure(path: Path, caption: str, source: str, writer: str) -> dict[str, str]:
    """One numbered figure: image, caption and the evidence file it shows."""
    return {"src": data_uri(path, writer), "caption": caption, "source": source}
