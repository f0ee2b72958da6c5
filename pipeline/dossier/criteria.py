"""The acceptance verdict shown in the dossier, from the one reviewed criteria file.

The judging itself is ``pipeline.registry.criteria.evaluate_criteria`` (shared with
``sealaudit promote``); this module only shapes its result for the cover and section 16.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.dossier.evidence import Documents
from pipeline.dossier.formatting import fmt_sig
from pipeline.evidence.convert import to_dict
from pipeline.provenance import sha256_file
from pipeline.registry.criteria import evaluate_criteria, load_criteria

MODES = ("inline", "monitoring")


def judge(documents: Documents, mode: str, criteria_path: Path) -> dict[str, Any]:
    """PASS/FAIL per criterion, the overall verdict and each mode's miss-rate limit.

    A model passes only when at least one criterion applies and every one is met.
    """
    mode_doc = documents.evaluation.modes.of(mode)
    # registry.criteria (shared with `sealaudit promote`) judges the documents' JSON objects.
    evidence = {
        "mode": mode,
        "governance": to_dict(documents.governance),
        "evaluation": None if mode_doc is None else to_dict(mode_doc),
    }
    results = evaluate_criteria(evidence, path=criteria_path, stage="dossier")
    rows = [
        {
            "id": str(r["id"]),
            "description": str(r["description"]),
            "observed": fmt_sig(r["observed"], 4),
            "limit": fmt_sig(r["limit"], 4),
            "result": "PASS" if r["passed"] else "FAIL",
        }
        for r in results
    ]
    unmet = [row for row in rows if row["result"] == "FAIL"]
    passed = bool(rows) and not unmet
    return {
        "passed": passed,
        "label": "PASS" if passed else "FAIL",
        "rows": rows,
        "unmet": unmet,
        "n_met": str(len(rows) - len(unmet)),
        "n_total": str(len(rows)),
        "source": _source_line(criteria_path),
        "miss_limits": miss_rate_limits(criteria_path),
    }


def _source_line(path: Path) -> str:
    import yaml

    content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    parts = [str(content.get("document", "")), f"rev {content.get('revision', '?')}"]
    return (
        f"{' '.join(p for p in parts if p)} (validation/{Path(path).name}, "
        f"sha256 {sha256_file(path)[:16]})"
    )


def miss_rate_limits(criteria_path: Path) -> dict[str, dict[str, Any]]:
    """Per mode, the id and maximum of the miss-rate criterion (first one in the file)."""
    for item in load_criteria(criteria_path):
        if item.get("check") == "miss_rate_upper":
            return {m: {"id": item["id"], "maximum": item["maximum"][m]} for m in MODES}
    return {}
