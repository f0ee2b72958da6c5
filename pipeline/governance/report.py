"""Governance evidence: ``governance.json`` (machine-readable) and ``summary.md`` (for people).

Both are written from the same findings, so the summary never states a number the JSON lacks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline import evidence
from pipeline.evidence import Governance
from pipeline.governance.findings import Finding, plain
from pipeline.governance.suites import Suite


def requirement_rows(suites: list[Suite], findings: list[Finding]) -> list[dict[str, Any]]:
    """Per requirement: title, Art. 10 clauses, number of checks and of failures by severity."""
    catalogue: dict[str, dict[str, Any]] = {}
    for suite in suites:
        for requirement_id, requirement in suite.requirements.items():
            catalogue.setdefault(requirement_id, requirement)
    rows = []
    for requirement_id in sorted(catalogue):
        mine = [f for f in findings if f.requirement_id == requirement_id]
        critical = sum(not f.success and f.severity == "critical" for f in mine)
        warning = sum(not f.success and f.severity == "warning" for f in mine)
        status = "FAIL" if critical else "WARN" if warning else "PASS"
        rows.append(
            {
                "id": requirement_id,
                "title": catalogue[requirement_id]["title"],
                "ai_act": list(catalogue[requirement_id]["ai_act"]),
                "checks": len(mine),
                "failed_critical": critical,
                "failed_warning": warning,
                "status": status,
            }
        )
    return rows


def governance_document(
    suites: list[Suite],
    findings: list[Finding],
    context: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``governance.json`` content (docs/architecture.md, evidence contracts).

    Args:
        suites: the suites that ran.
        findings: one per expectation.
        context: ``dataset``, ``confounding``, ``composition``, ``parameters``,
            ``reviewed_files``, ``report_only`` and ``provenance`` entries, copied as given.
    """
    critical = sum(not f.success and f.severity == "critical" for f in findings)
    warnings = sum(not f.success and f.severity == "warning" for f in findings)
    document = {
        "success": critical == 0,
        "critical_failures": critical,
        "warnings": warnings,
        "suites": [
            {
                "name": s.name,
                "sha256": s.sha256,
                "path": s.path.as_posix(),
                "table": s.table,
                "expectations": len(s.expectations),
            }
            for s in suites
        ],
        "requirements": requirement_rows(suites, findings),
        "expectations": [f.to_dict() for f in findings],
        **dict(context),
    }
    return plain(document)


def _cell(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, dict | list) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _confounding_lines(confounding: Mapping[str, Any]) -> list[str]:
    lines = ["## Leakage and confounding", ""]
    lines += [
        f"- {k.replace('_', ' ')}: {v}" for k, v in confounding.items() if not isinstance(v, dict)
    ]
    for key, what in (("cramers_v", "capture date"), ("view_tag_cramers_v", "view tag")):
        for name, values in (confounding.get(key) or {}).items():
            lines.append(f"- Cramér's V ({what} x label), {name}: {_cell(values)}")
    for key, what in (("capture_date_by_label", "capture date"), ("view_tag_by_label", "view tag")):
        for split, table in (confounding.get(key) or {}).items():
            lines += ["", f"{what.capitalize()} x label, {split}:", ""]
            rows = [[value, c["normal"], c["defective"]] for value, c in table.items()]
            lines += _table([what, "normal", "defective"], rows)
    return lines


def summary_markdown(document: Mapping[str, Any]) -> str:
    """The human summary of a governance document."""
    verdict = "PASS" if document["success"] else "FAIL"
    dataset = document.get("dataset", {})
    lines = [
        "# Data governance (validate_data)",
        "",
        f"**Result: {verdict}**: {document['critical_failures']} critical failure(s), "
        f"{document['warnings']} warning(s)"
        + (" (report-only run: the stage did not stop)" if document.get("report_only") else ""),
        "",
        f"Dataset: source `{dataset.get('source')}`, {dataset.get('images')} images, "
        f"{dataset.get('image_height')} x {dataset.get('image_width')} px; splits "
        f"`{dataset.get('splits_file')}` (prepare.strategy `{dataset.get('split_strategy')}`).",
        "",
        "## Requirements (EU AI Act Art. 10)",
        "",
    ]
    lines += _table(
        ["id", "requirement", "Art. 10", "checks", "critical failed", "warnings", "status"],
        [
            [r["id"], r["title"], ", ".join(r["ai_act"]), r["checks"], r["failed_critical"],
             r["failed_warning"], r["status"]]
            for r in document["requirements"]
        ],
    )  # fmt: skip
    failed = [e for e in document["expectations"] if not e["success"]]
    lines += ["", "## Failed expectations", ""]
    lines += [f"- **{e['requirement_id']} {e['severity']}** `{e['id']}`: {e['observed']}. "
              f"Examples: {'; '.join(e['failing_examples']) or 'none'}. Fix: {e['fix']}"
              for e in failed] or ["None."]  # fmt: skip
    lines += ["", "## All expectations", ""]
    lines += _table(
        ["requirement", "id", "severity", "result", "observed"],
        [[e["requirement_id"], e["id"], e["severity"], "pass" if e["success"] else "FAIL",
          e["observed"]] for e in document["expectations"]],
    )  # fmt: skip
    lines += ["", *_confounding_lines(document.get("confounding", {})), "", "## Suites", ""]
    lines += _table(
        ["suite", "file", "sha256"],
        [[s["name"], s["path"], s["sha256"]] for s in document["suites"]],
    )
    return "\n".join(lines) + "\n"


def write_evidence(document: Mapping[str, Any], out_dir: Path) -> None:
    """Write ``governance.json`` and ``summary.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    evidence.write_to(evidence.parse(Governance, dict(document)), out_dir)
    (out_dir / "summary.md").write_text(summary_markdown(document), encoding="utf-8")
