"""Records written whole or not at all.

A full disk or a kill in the middle of writing a released record (a dossier PDF, its sha256,
its sidecar, an evidence file) must never leave a truncated file under the final name or
destroy the previous release. Each file is written under a partial name in the same folder and
moved into place with ``Path.replace`` (``os.replace``), atomic within one file system; a set
of files that belong together is moved only once all of them are written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def partial_path(path: Path) -> Path:
    """The name ``path`` is written under until it is complete: ``.<name>.partial``."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial")


def publish(finals: Iterable[Path]) -> None:
    """Move each final path's complete partial file into place, in the order given."""
    for final in finals:
        partial_path(final).replace(final)


def discard(finals: Iterable[Path]) -> None:
    """Remove the partial files left by a write that did not complete."""
    for final in finals:
        partial_path(final).unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` whole or not at all; returns ``path``."""
    path = Path(path)
    try:
        with partial_path(path).open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        publish([path])
    finally:
        discard([path])
    return path
