"""The release criteria of the validation protocol, judged against recorded evidence.

The protocol (``validation/protocol.yaml``, read by ``pipeline.registry.protocol``) names each
criterion's check from the vocabulary of ``pipeline.registry.checks`` and the aliases it gates
(``required_for``); the numbers judged come from the evidence files (never recomputed).
``sealaudit promote`` and the dossier both call ``evaluate_criteria``; comparators (the
paper-derived AUROC, accuracy and miss-rate references) are judged by the same checks through
``evaluate_comparators`` and reported, never gating.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.evidence import EvidenceError
from pipeline.registry.checks import CHECKS, Outcome
from pipeline.registry.judged import DossierRecord, Judged, VersionRef
from pipeline.registry.protocol import (
    PROTOCOL_RELPATH,
    CriteriaError,
    Criterion,
    Protocol,
    default_protocol_path,
    load_protocol,
    protocol_sha256,
)

STAGES = ("promotion", "dossier")

__all__ = [
    "PROTOCOL_RELPATH",
    "CriteriaError",
    "DossierRecord",
    "Judged",
    "VersionRef",
    "default_protocol_path",
    "evaluate_comparators",
    "evaluate_criteria",
    "gating",
    "load_protocol",
    "protocol_sha256",
    "unmet",
]


def _protocol(path: Path | Protocol | None) -> Protocol:
    return path if isinstance(path, Protocol) else load_protocol(path)


def evaluate_criteria(
    judged: Judged | Mapping[str, Any],
    path: Path | Protocol | None = None,
    stage: str = "promotion",
) -> list[dict[str, Any]]:
    """Judge the evidence against the protocol's criteria.

    Args:
        judged: the evidence (``Judged``, or the mapping ``Judged.from_documents`` takes).
        path: the protocol (or its file); default ``<repo>/validation/protocol.yaml``.
        stage: ``promotion`` (every criterion) or ``dossier`` (those ``shown_in_dossier``).

    Returns:
        One ``{"id", "description", "observed", "limit", "passed", "required_for",
        "details"}`` per criterion, in file order. Missing evidence fails its criterion
        (observed names what is missing).
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}")
    protocol = _protocol(path)
    judged = judged if isinstance(judged, Judged) else Judged.from_documents(judged)
    items = [c for c in protocol.criteria if stage == "promotion" or c.shown_in_dossier]
    return [_result(item, judged, protocol) for item in items]


def evaluate_comparators(
    judged: Judged | Mapping[str, Any], path: Path | Protocol | None = None
) -> list[dict[str, Any]]:
    """The protocol's comparators, judged like criteria (``required_for`` empty: never gating)."""
    protocol = _protocol(path)
    judged = judged if isinstance(judged, Judged) else Judged.from_documents(judged)
    return [_result(item, judged, protocol) for item in protocol.comparators]


def _result(item: Criterion, judged: Judged, protocol: Protocol) -> dict[str, Any]:
    try:
        outcome = CHECKS[item.check].judge(item, judged, protocol)
    except (KeyError, IndexError, TypeError, ValueError, EvidenceError) as error:
        limit = (item.limits or {}).get(judged.mode, "see the protocol")
        outcome = Outcome(f"missing evidence ({error!s})", limit, False)
    return {
        "id": item.id,
        "description": item.description,
        "observed": outcome.observed,
        "limit": outcome.limit,
        "passed": bool(outcome.passed),
        "required_for": list(item.required_for),
        "details": list(outcome.details),
    }


def gating(results: list[dict[str, Any]], alias: str) -> list[dict[str, Any]]:
    """The results whose criterion gates ``alias`` (``shadow`` or ``champion``)."""
    return [result for result in results if alias in result.get("required_for", ())]


def unmet(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The criteria that failed."""
    return [result for result in results if not result["passed"]]


def shortfall(result: dict[str, Any]) -> str:
    """An unmet criterion in one line: its id, and which requirement failed by how much."""
    lines = [str(d["text"]) for d in result.get("details", []) if not d.get("passed")]
    what = "; ".join(lines) if lines else f"observed {result['observed']}, limit {result['limit']}"
    return f"{result['id']}: {what}"
