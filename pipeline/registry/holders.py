"""Who holds an alias: the registry's answer, the log's replay, and the compare-and-set check.

A decision is compare-and-set: the operator names (or the command reads at its start) the
version that holds the alias, and under the log's lock the registry must still say so. Two
operators who both saw v3 cannot both roll back: the second finds v2 and is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.errors import SealauditError

if TYPE_CHECKING:
    from mlflow import MlflowClient

SEEN = "seen"  # expected holder: the one read when the command started


class PromotionError(SealauditError):
    """A promotion or rollback cannot be carried out as asked."""


def current_champion(client: MlflowClient, model_name: str, alias: str) -> str | None:
    """The version ``alias`` points at, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def champion_history(entries: list[dict[str, Any]], model_name: str, alias: str) -> list[str]:
    """Versions that held ``alias``, oldest first, replaying promotions and rollbacks."""
    stack: list[str] = []
    for entry in entries:
        if entry.get("model_name") != model_name or entry.get("alias") != alias:
            continue
        if entry.get("action") == "promote":
            stack.append(str(entry["version"]))
        elif entry.get("action") == "rollback" and stack:
            stack.pop()
    return stack


def parse_expected(text: str) -> str | None:
    """``v3`` or ``3`` -> ``"3"``; ``none`` -> None (the alias must not be set)."""
    value = text.strip().lower().removeprefix("v")
    if value == "none":
        return None
    if not value.isdigit():
        raise PromotionError(f"--expect-current {text!r}: give a version (v3) or 'none'")
    return value


def check_expected(name: str, alias: str, current: str | None, expected: str | None) -> None:
    if current != expected:
        now, seen = version_text(current), version_text(expected)
        raise PromotionError(
            f"{name}@{alias} is held by {now}, not {seen} as expected: another decision moved "
            f"it meanwhile; see `sealaudit audit verify`, then retry with --expect-current {now}"
        )


def version_text(version: str | None) -> str:
    """``v3``, or ``none`` for an unset alias."""
    return "none" if version is None else f"v{version}"
