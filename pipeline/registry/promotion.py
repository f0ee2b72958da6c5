"""Evidence-gated promotion, refusal and rollback with aliases, tags and audit entries.

Registry *stages* are deprecated; a version is released by pointing an alias at it:
``shadow`` (runs beside human inspection, decisions unused) or ``champion`` (released), each
judged by ``pipeline.registry.gate`` under the validation protocol.
Every decision runs under an exclusive lock on the audit log, so two racing promotions
of one model serialise: each sees the champion the other left, and the log stays one chain.
The lock is a file lock on one host; a team sharing a tracking server keeps the log on a
shared file system that honours ``flock`` (or promotes from one host).

The same facts go three places: the audit log (hash-chained), tags on the model version
(``sealaudit.decision.*``) and a tag on the registered model anchoring the log's head
(``sealaudit.audit_head`` = ``<seq>:<hash>``), which lets ``audit verify`` detect a truncated log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import SealauditError
from pipeline.registry.audit import REFUSED, append_entry, locked, read_entries, verify_log
from pipeline.registry.criteria import unmet
from pipeline.registry.gate import judge_version
from pipeline.registry.lineage import TAG_PREFIX
from pipeline.registry.recorded import recorded_evidence

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

AUDIT_HEAD_TAG = f"{TAG_PREFIX}audit_head"
DECISION_TAG = f"{TAG_PREFIX}decision."


class PromotionError(SealauditError):
    """A promotion or rollback cannot be carried out as asked."""


@dataclass(frozen=True)
class Signature:
    """An electronic signature (21 CFR Part 11): printed name, meaning, and the reason."""

    signer: str
    meaning: str
    reason: str
    role: str = ""


@dataclass(frozen=True)
class Decision:
    """What happened: ``action`` is promote, refuse or rollback."""

    action: str
    model_name: str
    version: str
    previous_champion: str | None
    criteria: list[dict[str, Any]]
    entry: dict[str, Any]
    gate: str = "champion"

    @property
    def unmet(self) -> list[dict[str, Any]]:
        """Criteria gating this alias that failed (empty unless refused)."""
        return [r for r in unmet(self.criteria) if self.gate in r.get("required_for", [self.gate])]

    @property
    def champion_unmet(self) -> list[dict[str, Any]]:
        """Champion criteria that failed (a shadow version may have some)."""
        return [r for r in unmet(self.criteria) if "champion" in r.get("required_for", [])]


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


def _check_log(audit_log: Path) -> None:
    report = verify_log(audit_log)
    if not report.ok:
        raise PromotionError(
            f"{audit_log}: audit log fails verification ({report.problems[0]}); "
            "no registry change is made until it is restored"
        )


def _record(
    client: MlflowClient, audit_log: Path, decision: dict[str, Any], signature: Signature
) -> dict[str, Any]:
    """Append the audit entry, then mirror it as version tags and the model's head anchor."""
    entry = append_entry(
        audit_log,
        {
            **decision,
            "signer": signature.signer,
            # A refusal approves nothing: its signature means "refused", whatever was asked.
            "meaning": REFUSED if decision["action"] == "refuse" else signature.meaning,
            "role": signature.role,
            "reason": signature.reason,
        },
    )
    name, version = entry["model_name"], entry["version"]
    facts = {
        "action": entry["action"],
        "alias": entry["alias"],
        "signer": entry["signer"],
        "meaning": entry["meaning"],
        "signed_at": entry["signed_at"],
        "reason": entry["reason"][:4000],
        "previous_champion": str(entry["previous_champion"]),
        "criteria": entry.get("note") or _criteria_text(entry["criteria"]),
        "audit_entry": f"{entry['seq']}:{entry['hash']}",
    }
    for key, value in facts.items():
        client.set_model_version_tag(name, version, f"{DECISION_TAG}{key}", value)
    client.set_registered_model_tag(name, AUDIT_HEAD_TAG, f"{entry['seq']}:{entry['hash']}")
    return entry


def _criteria_text(results: list[dict[str, Any]]) -> str:
    failed = [result["id"] for result in unmet(results)]
    if not results:
        return "not evaluated"
    return "all met" if not failed else "unmet: " + ", ".join(failed)


def promote(
    client: MlflowClient,
    model_name: str,
    version: str,
    signature: Signature,
    *,
    alias: str,
    audit_log: Path,
    criteria_path: Path | None = None,
    dossier_dir: Path | None = None,
    gate: str = "champion",
) -> Decision:
    """Point ``alias`` at ``version`` if its recorded evidence meets the criteria of ``gate``.

    ``gate`` is the alias's meaning (``shadow`` or ``champion``): the protocol criteria whose
    ``required_for`` names it must hold. A version that fails is refused: the alias stays, and
    the refusal is logged and tagged with each unmet criterion. A shadow promotion records the
    champion criteria still unmet. Recorded evidence whose bytes differ from the registration
    tags counts as an unmet criterion (``EVIDENCE-INTEGRITY``). The entry records the
    protocol (sha256, revision, approval), whether it predates the test, and deviations.

    Returns:
        The decision (``action`` is ``promote`` or ``refuse``).

    Raises:
        PromotionError: the version already holds the alias, or the audit log is broken.
    """
    version = str(version)
    with locked(audit_log):
        _check_log(audit_log)
        previous = current_champion(client, model_name, alias)
        if previous == version:
            raise PromotionError(f"{model_name} v{version} already holds @{alias}; nothing to do")
        recorded = recorded_evidence(client, model_name, version, dossier_dir)
        verdict = judge_version(recorded, gate, criteria_path)
        results = verdict.criteria
        hashes = {**recorded.hashes, "protocol": verdict.protocol["sha256"]}
        action = "refuse" if verdict.blocking else "promote"
        if action == "promote":
            client.set_registered_model_alias(model_name, alias, version)
        decision = {
            "action": action,
            "model_name": model_name,
            "version": version,
            "alias": alias,
            "previous_champion": previous,
            "gate": gate,
            "criteria": results,
            "note": verdict.note,
            "protocol": verdict.protocol,
            "comparators": verdict.comparators,
            "evidence_hashes": hashes,
        }
        try:
            entry = _record(client, audit_log, decision, signature)
        except Exception:
            if action == "promote":  # never leave a release that the log does not show
                _restore_alias(client, model_name, alias, previous)
            raise
    if action == "promote":
        _attach_dossier(client, model_name, version, recorded.dossier_files)
    log.info("%s %s v%s @%s (was %s)", action, model_name, version, alias, previous)
    return Decision(action, model_name, version, previous, results, entry, gate)


def _restore_alias(client: MlflowClient, model_name: str, alias: str, previous: str | None) -> None:
    if previous is None:
        client.delete_registered_model_alias(model_name, alias)
    else:
        client.set_registered_model_alias(model_name, alias, previous)


def _attach_dossier(client: MlflowClient, model_name: str, version: str, files: list[Path]) -> None:
    """Log the dossier a version was released with to its run (artifact folder ``dossier``)."""
    if not files:
        return
    run_id = client.get_model_version(model_name, version).run_id
    for path in files:
        client.log_artifact(run_id, str(path), artifact_path="dossier")


def rollback(
    client: MlflowClient,
    model_name: str,
    signature: Signature,
    *,
    alias: str,
    audit_log: Path,
) -> Decision:
    """Point ``alias`` back at the version that held it before the current one.

    The history comes from the audit log (promotions push, rollbacks pop), so repeated
    rollbacks walk back through earlier champions.

    Raises:
        PromotionError: no earlier champion is recorded, or the alias was moved outside
            sealaudit (registry and log disagree).
    """
    with locked(audit_log):
        _check_log(audit_log)
        history = champion_history(read_entries(audit_log), model_name, alias)
        current = current_champion(client, model_name, alias)
        if len(history) < 2:
            raise PromotionError(
                f"{model_name}@{alias}: no earlier champion in {audit_log}; nothing to roll back to"
            )
        if history[-1] != current:
            raise PromotionError(
                f"{model_name}@{alias} points at v{current} but the audit log says "
                f"v{history[-1]}: the alias was moved outside sealaudit; investigate first"
            )
        target = history[-2]
        client.set_registered_model_alias(model_name, alias, target)
        decision = {
            "action": "rollback",
            "model_name": model_name,
            "version": target,
            "alias": alias,
            "previous_champion": current,
            "criteria": [],
            "evidence_hashes": {},
        }
        try:
            entry = _record(client, audit_log, decision, signature)
        except Exception:
            _restore_alias(client, model_name, alias, current)
            raise
    log.info("rollback %s @%s: v%s -> v%s", model_name, alias, current, target)
    return Decision("rollback", model_name, target, current, [], entry)


def audit_anchors(client: MlflowClient) -> dict[int, str]:
    """``seq -> hash`` of the log heads recorded on registered models (truncation check)."""
    anchors: dict[int, str] = {}
    for model in client.search_registered_models(max_results=1000):
        head = (model.tags or {}).get(AUDIT_HEAD_TAG)
        if head and ":" in head:
            seq, digest = head.split(":", 1)
            anchors[int(seq)] = digest
    return anchors
