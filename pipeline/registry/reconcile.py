"""The audit log replayed against the registry: every alias and decision tag must be explained.

``audit verify`` checks the log on its own (chain, MACs) and then against the registry:

- **anchors**: each registered model's ``sealaudit.audit_head`` (``<seq>:<hash>``) must be in
  the log, and no line may follow the newest (``verify_log``);
- **aliases**: replaying promotions and rollbacks per model and alias must give the version
  the registry's alias points at; an alias set, moved or deleted directly through MLflow is
  reported;
- **decision tags**: a version's ``sealaudit.decision.audit_entry`` must cite the log's latest
  decision on that version, and every decided version must carry it.

It also lists the decisions made under a deviation from the protocol (``--criteria`` another
file), which may reach ``shadow`` and never ``champion``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline.registry.holders import champion_history, version_text
from pipeline.registry.promotion import AUDIT_ENTRY_TAG, AUDIT_HEAD_TAG

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import RegisteredModel

CRITERIA_DEVIATION = "(--criteria)"  # how predates.protocol_status names another file


@dataclass
class Reconciliation:
    """What the registry holds that the log does not explain, and the deviations recorded."""

    anchors: dict[int, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)
    aliases: int = 0


def registered_models(client: MlflowClient) -> list[RegisteredModel]:
    """Every registered model of the registry (sealaudit's and any other)."""
    return list(client.search_registered_models(max_results=1000))


def audit_anchors(client: MlflowClient) -> dict[int, str]:
    """``seq -> hash`` of the log heads recorded on registered models."""
    return _anchors(registered_models(client))


def _anchors(models: Iterable[RegisteredModel]) -> dict[int, str]:
    anchors: dict[int, str] = {}
    for model in models:
        head = (model.tags or {}).get(AUDIT_HEAD_TAG, "")
        seq, _, digest = head.partition(":")
        if seq.isdigit() and digest:
            anchors[int(seq)] = digest
    return anchors


def reconcile(client: MlflowClient, entries: list[dict[str, Any]]) -> Reconciliation:
    """Replay ``entries`` against the registry ``client`` points at."""
    models = registered_models(client)
    found = Reconciliation(anchors=_anchors(models), deviations=deviations(entries))
    names = {model.name for model in models}
    for name in sorted({str(e.get("model_name")) for e in entries} - names):
        found.problems.append(f"{name}: decided on in the log, absent from the registry")
    for model in models:
        found.problems += _alias_problems(model, entries)
        found.problems += _tag_problems(client, model.name, entries)
        found.aliases += len(model.aliases or {})
    found.problems += _champion_deviations(entries)
    return found


def _alias_problems(model: RegisteredModel, entries: list[dict[str, Any]]) -> list[str]:
    held = {alias: str(version) for alias, version in (model.aliases or {}).items()}
    logged = {str(e.get("alias")) for e in entries if e.get("model_name") == model.name}
    problems = []
    for alias in sorted(set(held) | (logged - {"None"})):
        history = champion_history(entries, model.name, alias)
        replayed = history[-1] if history else None
        if held.get(alias) != replayed:
            problems.append(
                f"{model.name}@{alias} points at {version_text(held.get(alias))} in the "
                f"registry, but the audit log gives {version_text(replayed)}: the alias was "
                "moved outside `sealaudit promote`"
            )
    return problems


def _tag_problems(client: MlflowClient, name: str, entries: list[dict[str, Any]]) -> list[str]:
    latest = {
        str(e.get("version")): f"{e.get('seq')}:{e.get('hash')}"
        for e in entries
        if e.get("model_name") == name
    }
    problems = []
    for version in client.search_model_versions(f"name = '{name}'"):
        cited = (version.tags or {}).get(AUDIT_ENTRY_TAG)
        expected = latest.get(str(version.version))
        if cited != expected:
            problems.append(
                f"{name} v{version.version}: decision tags cite audit entry "
                f"{(cited or 'none')[:20]}, the log's latest decision on it is "
                f"{(expected or 'none')[:20]} (tags set or removed outside sealaudit)"
            )
    return problems


def deviations(entries: list[dict[str, Any]]) -> list[str]:
    """One line per decision recorded with a deviation from the protocol."""
    lines = []
    for entry in entries:
        for text in (entry.get("protocol") or {}).get("deviations", []):
            lines.append(
                f"entry {entry.get('seq')}: {entry.get('action')} {entry.get('model_name')} "
                f"v{entry.get('version')} @{entry.get('alias')}: {text}"
            )
    return lines


def _champion_deviations(entries: list[dict[str, Any]]) -> list[str]:
    return [
        f"entry {e.get('seq')}: {e.get('model_name')} v{e.get('version')} promoted to "
        f"@{e.get('alias')} under another criteria file: only shadow may be reached so"
        for e in entries
        if e.get("action") == "promote"
        and e.get("gate", "champion") == "champion"
        and any(CRITERIA_DEVIATION in d for d in (e.get("protocol") or {}).get("deviations", []))
    ]
