"""The ``base`` params section: settings shared by several stages, defined once.

Every stage that runs torch (``train``, ``fit_monitor``, ``evaluate``) reads ``torch_threads``
from here and lists ``base.torch_threads`` among its ``params`` in ``dvc.yaml``. The module is
not called ``base.py`` because ``pipeline.config.base`` holds the section loader.
"""

from __future__ import annotations

from dataclasses import dataclass

SECTION = "base"


@dataclass(frozen=True)
class Params:
    """``torch_threads``: CPU threads of every torch stage (``$SEALAUDIT_TORCH_THREADS`` wins)."""

    torch_threads: int

    def validate(self) -> None:
        """At least one thread."""
        if self.torch_threads < 1:
            raise ValueError("torch_threads must be >= 1")
