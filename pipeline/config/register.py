"""Parameters of the ``register`` stage (MLflow tracking and Model Registry).

Where MLflow state lives is not a parameter: ``pipeline.registry.tracking`` resolves it (an
embedded SQLite store next to ``dvc.yaml`` unless ``MLFLOW_TRACKING_URI`` names a server), so a
team moves to a shared server without touching ``params.yaml`` or the DVC stage hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SECTION = "register"

# MLflow accepts more, but model names end up in URIs (models:/<name>@alias) and file names.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Params:
    """Experiment and registered-model names, and what the pyfunc models return.

    ``inline_model_name`` and ``monitoring_model_name`` are the stable registered names (one
    per mode); ``champion_alias`` and ``shadow_alias`` are the aliases ``sealaudit promote``
    moves (their meaning: validation/protocol.yaml ``required_for``). ``requirements``
    lists the packages whose pins (from the lock file) travel with each model.
    """

    experiment_name: str
    inline_model_name: str
    monitoring_model_name: str
    champion_alias: str
    shadow_alias: str
    requirements: tuple[str, ...]

    def validate(self) -> None:
        """Names usable in ``models:/<name>@<alias>`` URIs; the two modes distinct."""
        names = {
            "experiment_name": self.experiment_name,
            "inline_model_name": self.inline_model_name,
            "monitoring_model_name": self.monitoring_model_name,
            "champion_alias": self.champion_alias,
            "shadow_alias": self.shadow_alias,
        }
        bad = sorted(key for key, value in names.items() if not _NAME.match(value))
        if bad:
            raise ValueError(f"{bad} must match [A-Za-z0-9][A-Za-z0-9_.-]*")
        if self.inline_model_name == self.monitoring_model_name:
            raise ValueError("inline_model_name and monitoring_model_name must differ")
        for key in ("champion_alias", "shadow_alias"):
            alias = names[key]
            if alias.lower().startswith("v") and alias[1:].isdigit():
                raise ValueError(f"{key} must not look like a version (v1, v2, ...)")
        if self.champion_alias == self.shadow_alias:
            raise ValueError("champion_alias and shadow_alias must differ")
        if not self.requirements:
            raise ValueError("requirements must list at least mlflow and torch")

    def gate(self, alias: str) -> str:
        """The meaning of ``alias``: ``champion`` or ``shadow`` (the protocol's
        ``required_for`` names); another alias is an error naming both."""
        meanings = {self.champion_alias: "champion", self.shadow_alias: "shadow"}
        if alias not in meanings:
            raise ValueError(
                f"--alias {alias!r} has no stated meaning; use {self.shadow_alias!r} (beside "
                f"human inspection) or {self.champion_alias!r} (released), params.yaml register"
            )
        return meanings[alias]

    def model_name(self, mode: str) -> str:
        """The registered model name of ``mode`` (``inline`` or ``monitoring``)."""
        return {"inline": self.inline_model_name, "monitoring": self.monitoring_model_name}[mode]
