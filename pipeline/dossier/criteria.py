"""The verdict shown in the dossier, judged under the validation protocol.

The judging itself is ``pipeline.registry.criteria.evaluate_criteria`` (shared with
``sealaudit promote``); this module only shapes its result for the cover and the acceptance
section: the criteria ``shown_in_dossier``, the comparators (reported, never gating) and the
protocol's identity, whether it predates the test, and its deviations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.dossier.evidence import Documents
from pipeline.dossier.formatting import fmt_sig
from pipeline.evidence.convert import to_dict
from pipeline.registry.criteria import evaluate_comparators, evaluate_criteria, load_protocol
from pipeline.registry.predates import protocol_status, status_lines
from pipeline.registry.protocol import Protocol
from pipeline.registry.tracking import repo_root

MODES = ("inline", "monitoring")


def judge(
    documents: Documents, mode: str, protocol_path: Path, repo: Path | None = None
) -> dict[str, Any]:
    """PASS/FAIL per criterion, the overall verdict, the comparators, the protocol status and
    each mode's miss-rate comparator.

    A model passes only when at least one criterion applies and every one is met.
    """
    protocol = load_protocol(protocol_path)
    mode_doc = documents.evaluation.modes.of(mode)
    capability = documents.capability
    # registry.criteria (shared with `sealaudit promote`) judges the documents' JSON objects.
    evidence = {
        "mode": mode,
        "governance": to_dict(documents.governance),
        "evaluation": None if mode_doc is None else to_dict(mode_doc),
        "capability": None if capability is None else to_dict(capability),
    }
    rows = [_row(r) for r in evaluate_criteria(evidence, protocol, stage="dossier")]
    comparators = [_row(r) for r in evaluate_comparators(evidence, protocol)]
    unmet = [row for row in rows if row["result"] == "FAIL"]
    passed = bool(rows) and not unmet
    status = protocol_status(protocol, capability, repo or repo_root(Path(protocol_path).parent))
    return {
        "passed": passed,
        "label": "PASS" if passed else "FAIL",
        "rows": rows,
        "unmet": unmet,
        "comparators": comparators,
        "n_met": str(len(rows) - len(unmet)),
        "n_total": str(len(rows)),
        "source": _source_line(protocol),
        "protocol": {**status, "lines": status_lines(status)},
        "miss_limits": miss_rate_limits(protocol),
    }


def _row(result: dict[str, Any]) -> dict[str, Any]:
    failed = [str(d["text"]) for d in result["details"] if not d["passed"]]
    return {
        "id": str(result["id"]),
        "description": str(result["description"]),
        "observed": fmt_sig(result["observed"], 4),
        "limit": fmt_sig(result["limit"], 4),
        "result": "PASS" if result["passed"] else "FAIL",
        "details": [str(d["text"]) for d in result["details"]],
        "shortfall": "; ".join(failed),
    }


def _source_line(protocol: Protocol) -> str:
    return (
        f"{protocol.document} rev {protocol.revision}, approved {protocol.approved_on} "
        f"(validation/{Path(protocol.path).name}, sha256 {protocol.sha256[:16]})"
    )


def miss_rate_limits(protocol: Protocol) -> dict[str, dict[str, Any]]:
    """Per mode, the id and reference of the miss-rate comparator (first one in the file)."""
    for item in protocol.comparators:
        if item.check == "miss_rate_upper" and item.limits is not None:
            return {m: {"id": item.id, "maximum": item.limits[m]} for m in MODES}
    return {}
