"""The user's legal statements in ``validation/intended_use.yaml``, read strictly.

The rest of the intended-use file is read tolerant of its keys (``blocks``); the AI Act
classification and the CSA process-risk classes are the user's signed decisions, so a missing,
misspelt or unknown key is an error naming it instead of a statement that silently shrinks.
The version of the AI Act assessed and its application dates are the user's too: the dossier
prints what was assessed, not what the software assumes.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from pipeline.dossier.evidence import MissingEvidenceError

WHERE = "validation/intended_use.yaml"
CLASSIFICATION = {
    "ai_act_version",
    "chapter_iii_applies_from",
    "high_risk",
    "findings",
    "statement",
    "adopted_by",
}
APPLIES_FROM = {"annex_i", "annex_iii", "source"}
ADOPTED_BY = {"printed_name", "role", "date"}
# Each provision the statement must answer, with the question it answers (shared/DOSSIER.md).
PROVISIONS = {
    "art_6_1_a": (
        "Art 6(1)(a)",
        "Safety component of a product covered by Annex I (the MDR is Annex I section A), "
        "or itself such a product?",
    ),
    "art_6_1_b": (
        "Art 6(1)(b)",
        "Does that product need third-party conformity assessment? (6(1) needs (a) and (b))",
    ),
    "art_6_1a": ("Art 6(1a)", "Used solely for quality control, so not a safety component?"),
    "art_6_1b": ("Art 6(1b)", "Would its failure nevertheless endanger health?"),
    "annex_iii": ("Art 6(2), Annex III", "Is it a use listed in Annex III?"),
}
CSA_FEATURE = ("feature", "intended_use", "process_risk", "justification", "assurance")
PROCESS_RISKS = ("high", "not high")


def _mapping(raw: Any, where: str, known: set[str]) -> dict[str, Any]:
    """``raw`` as a mapping with exactly ``known`` keys; otherwise an error naming the key."""
    fix = f"fix {WHERE} (keys: {sorted(known)})"
    if not isinstance(raw, dict):
        raise MissingEvidenceError(f"{WHERE}: {where} is not a mapping; {fix}")
    unknown = sorted(set(raw) - known)
    missing = sorted(known - set(raw))
    if unknown or missing:
        problem = f"unknown key {unknown[0]!r}" if unknown else f"key {missing[0]!r} missing"
        raise MissingEvidenceError(f"{WHERE}: {where}: {problem}; {fix}")
    return dict(raw)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MissingEvidenceError(f"{WHERE}: {where} must be non-empty text")
    return " ".join(value.split())


def _date(value: Any, where: str) -> str:
    try:
        return datetime.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise MissingEvidenceError(
            f"{WHERE}: {where} {value!r} is not a date; write it as YYYY-MM-DD"
        ) from None


def _signer(raw: Any) -> dict[str, str]:
    """Who adopted the statement; empty fields are left to sign on the printout."""
    adopted = _mapping(raw, "classification.adopted_by", ADOPTED_BY)
    fields = {key: "" if value is None else str(value).strip() for key, value in adopted.items()}
    if fields["date"]:
        fields["date"] = _date(fields["date"], "classification.adopted_by.date")
    return {**fields, "adopted": str(all(fields.values())).lower()}


def classification(intended_use: Any) -> dict[str, Any]:
    """The user's AI Act classification statement, as text for the statement block."""
    if not isinstance(intended_use, dict) or "classification" not in intended_use:
        raise MissingEvidenceError(
            f"{WHERE}: no 'classification'; the user states it (see git history for the default)"
        )
    raw = _mapping(intended_use["classification"], "classification", CLASSIFICATION)
    if not isinstance(raw["high_risk"], bool):
        raise MissingEvidenceError(
            f"{WHERE}: classification.high_risk must be true or false (the user's decision), "
            f"got {raw['high_risk']!r}"
        )
    dates = _mapping(raw["chapter_iii_applies_from"], "chapter_iii_applies_from", APPLIES_FROM)
    findings = _mapping(raw["findings"], "classification.findings", set(PROVISIONS))
    return {
        "ai_act_version": _text(raw["ai_act_version"], "classification.ai_act_version"),
        "annex_i_from": _date(dates["annex_i"], "chapter_iii_applies_from.annex_i"),
        "annex_iii_from": _date(dates["annex_iii"], "chapter_iii_applies_from.annex_iii"),
        "dates_source": _text(dates["source"], "chapter_iii_applies_from.source"),
        "high_risk": raw["high_risk"],
        "conclusion": "high-risk AI system" if raw["high_risk"] else "not a high-risk AI system",
        "findings": [
            [label, question, _text(findings[key], f"classification.findings.{key}")]
            for key, (label, question) in PROVISIONS.items()
        ],
        "statement": _text(raw["statement"], "classification.statement"),
        "adopted_by": _signer(raw["adopted_by"]),
    }


def csa_entries(intended_use: Any) -> list[dict[str, str]]:
    """Per feature: its id (what tests name in ``@pytest.mark.assures``), intended use, CSA
    process risk, justification and assurance activity."""
    items = intended_use.get("csa_features") if isinstance(intended_use, dict) else None
    if not isinstance(items, list) or not items:
        raise MissingEvidenceError(
            f"{WHERE}: no 'csa_features' list; state the process risk of each feature"
        )
    entries = []
    for index, item in enumerate(items):
        where = f"csa_features[{index}]"
        entry = _mapping(item, where, {"id", *CSA_FEATURE})
        if entry["process_risk"] not in PROCESS_RISKS:
            raise MissingEvidenceError(
                f"{WHERE}: {where}.process_risk {entry['process_risk']!r}: use one of "
                f"{list(PROCESS_RISKS)}"
            )
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(entry["id"])):
            raise MissingEvidenceError(
                f"{WHERE}: {where}.id {entry['id']!r}: use lower-case letters, digits and _ "
                "(the id tests name in @pytest.mark.assures)"
            )
        entries.append({key: _text(entry[key], f"{where}.{key}") for key in ("id", *CSA_FEATURE)})
    return entries


def csa_features(intended_use: Any) -> list[list[str]]:
    """Per feature: intended use, CSA process risk, justification and assurance activity."""
    return [[entry[key] for key in CSA_FEATURE] for entry in csa_entries(intended_use)]
