"""Evidence-gated promotion, refusal and rollback with aliases, tags and audit entries.

Registry *stages* are deprecated; a version is released by pointing an alias at it:
``shadow`` (runs beside human inspection, decisions unused) or ``champion`` (released), each
judged by ``pipeline.registry.gate`` under the validation protocol.
Every decision runs under an exclusive lock on the audit log, so two racing promotions
of one model serialise: each sees the champion the other left, and the log stays one chain.
The lock is a file lock on one host; a team sharing a tracking server keeps the log on a
shared file system that honours ``flock`` (or promotes from one host).

The same facts go three places: tags on the model version (``sealaudit.decision.*``), a tag on
the registered model anchoring the log's head (``sealaudit.audit_head`` = ``<seq>:<hash>``,
which lets ``audit verify`` detect a truncated log or lines appended after it), and the audit
log (hash-chained, each line authenticated with the audit key). The registry is written first
and the log last; a failure on the way restores the registry (``RegistryChanges``) and appends
nothing. Decisions are compare-and-set: the alias must still point where the operator saw it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.registry.audit import (
    REFUSED,
    locked,
    prepare_entry,
    read_entries,
    verify_log,
    write_entry,
)
from pipeline.registry.audit_key import signing_key
from pipeline.registry.changes import RegistryChanges
from pipeline.registry.criteria import unmet
from pipeline.registry.gate import judge_version
from pipeline.registry.holders import (
    SEEN,
    PromotionError,
    champion_history,
    check_expected,
    current_champion,
    version_text,
)
from pipeline.registry.lineage import TAG_PREFIX
from pipeline.registry.recorded import recorded_evidence

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

AUDIT_HEAD_TAG = f"{TAG_PREFIX}audit_head"
DECISION_TAG = f"{TAG_PREFIX}decision."
AUDIT_ENTRY_TAG = f"{DECISION_TAG}audit_entry"


@dataclass(frozen=True)
class Signature:
    """Who decided a promotion and why, as the audit trail records it (21 CFR 11.10(e)):
    printed name, stated meaning and reason. An audit-trail record, not a Part 11 electronic
    signature (see ``pipeline.registry.audit``)."""

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


def _check_log(audit_log: Path, key: bytes) -> None:
    report = verify_log(audit_log, key=key)
    if not report.ok:
        raise PromotionError(
            f"{audit_log}: audit log fails verification ({report.problems[0]}); "
            "no registry change is made until it is restored"
        )


def _commit(
    client: MlflowClient,
    audit_log: Path,
    decision: dict[str, Any],
    signature: Signature,
    key: bytes,
) -> dict[str, Any]:
    """Write the registry (alias, version tags, head anchor), then the audit entry last.

    A failure on the way restores the registry and appends nothing; if the registry cannot be
    restored either, the error says what is left for ``audit verify`` to report.
    """
    record = {
        **decision,
        "signer": signature.signer,
        # A refusal approves nothing: its signature means "refused", whatever was asked.
        "meaning": REFUSED if decision["action"] == "refuse" else signature.meaning,
        "role": signature.role,
        "reason": signature.reason,
    }
    entry = prepare_entry(audit_log, record, key)
    name, version, alias = entry["model_name"], entry["version"], entry["alias"]
    changes = RegistryChanges(client, name)
    try:
        if entry["action"] != "refuse":
            changes.set_alias(alias, version, entry["previous_champion"])
        changes.set_version_tags(version, _decision_tags(entry))
        changes.set_model_tag(AUDIT_HEAD_TAG, f"{entry['seq']}:{entry['hash']}")
        write_entry(audit_log, entry)
    except Exception as error:
        failed = changes.undo()
        if failed:
            raise PromotionError(
                f"{entry['action']} {name} v{version} failed ({str(error).splitlines()[0]}) "
                f"and the registry could not be restored: {'; '.join(failed)}. Nothing was "
                "appended to the audit log; run `sealaudit audit verify` once the registry "
                "answers, and repair what it reports"
            ) from error
        raise
    return entry


def _decision_tags(entry: dict[str, Any]) -> dict[str, str]:
    facts = {
        "action": entry["action"],
        "alias": entry["alias"],
        "signer": entry["signer"][:500],
        "meaning": entry["meaning"],
        "signed_at": entry["signed_at"],
        "reason": entry["reason"][:4000],
        "previous_champion": str(entry["previous_champion"]),
        "criteria": (entry.get("note") or _criteria_text(entry["criteria"]))[:4000],
        "audit_entry": f"{entry['seq']}:{entry['hash']}",
    }
    return {f"{DECISION_TAG}{key}": value for key, value in facts.items()}


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
    expected: str | None = SEEN,
    key: bytes | None = None,
) -> Decision:
    """Point ``alias`` at ``version`` if its recorded evidence meets the criteria of ``gate``.

    ``gate`` is the alias's meaning (``shadow`` or ``champion``): the protocol criteria whose
    ``required_for`` names it must hold. A version that fails is refused: the alias stays, and
    the refusal is logged and tagged with each unmet criterion. A shadow promotion records the
    champion criteria still unmet. Recorded evidence whose bytes differ from the registration
    tags counts as an unmet criterion (``EVIDENCE-INTEGRITY``), another criteria file than the
    repository's as an unmet champion criterion (``AC-PROTOCOL-FILE``). The entry records the
    protocol (sha256, revision, approval), whether it predates the test, and deviations.

    Args:
        expected: the version the operator saw holding ``alias`` (None: unset); by default
            the holder read when this call starts. Checked again under the log's lock.
        key: the audit key (default: the key file, created on first use).

    Returns:
        The decision (``action`` is ``promote`` or ``refuse``).

    Raises:
        PromotionError: the version already holds the alias, the alias moved since it was
            seen, or the audit log is broken.
    """
    version = str(version)
    if expected == SEEN:
        expected = current_champion(client, model_name, alias)
    with locked(audit_log):
        key = key if key is not None else signing_key()
        _check_log(audit_log, key)
        previous = current_champion(client, model_name, alias)
        if previous == version:
            raise PromotionError(f"{model_name} v{version} already holds @{alias}; nothing to do")
        check_expected(model_name, alias, previous, expected)
        recorded = recorded_evidence(client, model_name, version, dossier_dir)
        verdict = judge_version(recorded, gate, criteria_path)
        action = "refuse" if verdict.blocking else "promote"
        decision = {
            "action": action,
            "model_name": model_name,
            "version": version,
            "alias": alias,
            "previous_champion": previous,
            "gate": gate,
            "criteria": verdict.criteria,
            "note": verdict.note,
            "protocol": verdict.protocol,
            "comparators": verdict.comparators,
            "evidence_hashes": {**recorded.hashes, "protocol": verdict.protocol["sha256"]},
        }
        entry = _commit(client, audit_log, decision, signature, key)
    if action == "promote":
        _attach_dossier(client, model_name, version, recorded.dossier_files)
    log.info("%s %s v%s @%s (was %s)", action, model_name, version, alias, previous)
    return Decision(action, model_name, version, previous, verdict.criteria, entry, gate)


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
    expected: str | None = SEEN,
    key: bytes | None = None,
) -> Decision:
    """Point ``alias`` back at the version that held it before the current one.

    The history comes from the audit log (promotions push, rollbacks pop), so repeated
    rollbacks walk back through earlier champions. Compare-and-set like ``promote``: two
    operators who both saw v3 cannot both walk back.

    Raises:
        PromotionError: the alias moved since it was seen, no earlier holder is recorded,
            or the alias was moved outside sealaudit (registry and log disagree).
    """
    if expected == SEEN:
        expected = current_champion(client, model_name, alias)
    with locked(audit_log):
        key = key if key is not None else signing_key()
        _check_log(audit_log, key)
        history = champion_history(read_entries(audit_log), model_name, alias)
        current = current_champion(client, model_name, alias)
        check_expected(model_name, alias, current, expected)
        if (history[-1] if history else None) != current:
            raise PromotionError(
                f"{model_name}@{alias} points at {version_text(current)} but the audit log says "
                f"{version_text(history[-1] if history else None)}: the alias was moved outside "
                "sealaudit; investigate (`sealaudit audit verify`) before rolling back"
            )
        if len(history) < 2:
            raise PromotionError(
                f"{model_name}@{alias}: no earlier holder of the alias in {audit_log}; "
                "nothing to roll back to"
            )
        decision: dict[str, Any] = {
            "action": "rollback",
            "model_name": model_name,
            "version": history[-2],
            "alias": alias,
            "previous_champion": current,
            "criteria": [],
            "evidence_hashes": {},
        }
        entry = _commit(client, audit_log, decision, signature, key)
    log.info("rollback %s @%s: v%s -> v%s", model_name, alias, current, history[-2])
    return Decision("rollback", model_name, history[-2], current, [], entry)
