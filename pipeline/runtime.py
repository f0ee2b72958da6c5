"""Process settings shared by the torch stages (train, fit_monitor, evaluate)."""

from __future__ import annotations

import os

from pipeline.errors import SealauditError

THREADS_ENV = "SEALAUDIT_TORCH_THREADS"


def torch_threads(configured: int) -> int:
    """Threads for torch: ``$SEALAUDIT_TORCH_THREADS`` if set, else the stage's param."""
    raw = os.environ.get(THREADS_ENV)
    if raw is None:
        return configured
    if not raw.isdigit() or int(raw) < 1:
        raise SealauditError(f"${THREADS_ENV}={raw!r}: must be a positive integer")
    return int(raw)
