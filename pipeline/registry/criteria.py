"""Acceptance criteria from the one reviewed file, judged against recorded evidence.

The file (``validation/acceptance_criteria.yaml``) names each criterion's check from the small
vocabulary below and its limit per mode; the numbers judged come from the evidence files
(never recomputed). ``sealaudit promote`` and the dossier both call ``evaluate_criteria``.

The ``evidence`` mapping::

    {"mode": "inline" | "monitoring",
     "governance": <artifacts/validate_data/governance.json>,
     "evaluation": <artifacts/evaluate/evaluation.json>["modes"][mode],
     "model_version": {"model_name", "version", "lineage_key"} (promotion only),
     "dossier": {"model_name", "version", "lineage_key", "pdf_verified": bool}
                or None (promotion only; see ``pipeline.registry.dossier``)}
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import SealauditError
from pipeline.registry.tracking import repo_root

CRITERIA_RELPATH = Path("validation") / "acceptance_criteria.yaml"
STAGES = ("promotion", "dossier")

Observed = tuple[Any, Any, bool]  # observed value, limit, passed


class CriteriaError(SealauditError):
    """The acceptance-criteria file is missing or malformed."""


def default_criteria_path() -> Path:
    """``<repo>/validation/acceptance_criteria.yaml``."""
    return repo_root() / CRITERIA_RELPATH


def criteria_sha256(path: Path | None = None) -> str:
    """SHA-256 of the criteria file's bytes (recorded with every decision)."""
    return hashlib.sha256(Path(path or default_criteria_path()).read_bytes()).hexdigest()


def load_criteria(path: Path | None = None) -> list[dict[str, Any]]:
    """The criteria list, validated: known checks, limits for both modes, unique ids."""
    path = Path(path or default_criteria_path())
    if not path.is_file():
        raise CriteriaError(f"{path}: acceptance criteria not found; restore it from git")
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = content.get("criteria") if isinstance(content, dict) else None
    if not isinstance(items, list) or not items:
        raise CriteriaError(f"{path}: needs a non-empty 'criteria' list")
    seen: set[str] = set()
    for item in items:
        _validate_item(path, item, seen)
    return items


def _validate_item(path: Path, item: Any, seen: set[str]) -> None:
    if not isinstance(item, dict) or not {"id", "description", "check"} <= set(item):
        raise CriteriaError(f"{path}: each criterion needs id, description and check: {item!r}")
    where = f"{path}: criterion {item['id']}"
    if item["id"] in seen:
        raise CriteriaError(f"{where}: duplicate id; give each criterion its own id")
    seen.add(item["id"])
    if item["check"] not in CHECKS:
        raise CriteriaError(f"{where}: unknown check {item['check']!r}; use one of {list(CHECKS)}")
    limit_key = LIMIT_KEYS.get(item["check"])
    if limit_key is not None:
        limits = item.get(limit_key)
        if not isinstance(limits, dict) or set(limits) != {"inline", "monitoring"}:
            raise CriteriaError(f"{where}: '{limit_key}' must give inline and monitoring")
    unknown_stages = set(item.get("applies_at", STAGES)) - set(STAGES)
    if unknown_stages:
        raise CriteriaError(f"{where}: applies_at {sorted(unknown_stages)}; use {list(STAGES)}")


def evaluate_criteria(
    evidence: Mapping[str, Any], path: Path | None = None, stage: str = "promotion"
) -> list[dict[str, Any]]:
    """Judge ``evidence`` against every criterion that applies at ``stage``.

    Args:
        evidence: see the module docstring.
        path: criteria file; default ``<repo>/validation/acceptance_criteria.yaml``.
        stage: ``promotion`` (all gates) or ``dossier`` (what the dossier can show).

    Returns:
        One ``{"id", "description", "observed", "limit", "passed"}`` per criterion, in file
        order. Missing evidence fails its criterion (observed names what is missing).
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}")
    results = []
    for item in load_criteria(path):
        if stage not in item.get("applies_at", STAGES):
            continue
        try:
            observed, limit, passed = CHECKS[item["check"]](item, evidence)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            observed, limit, passed = f"missing evidence ({error!s})", _limit(item, evidence), False
        results.append(
            {
                "id": item["id"],
                "description": item["description"],
                "observed": observed,
                "limit": limit,
                "passed": bool(passed),
            }
        )
    return results


def unmet(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The criteria that failed."""
    return [result for result in results if not result["passed"]]


def _limit(item: Mapping[str, Any], evidence: Mapping[str, Any]) -> Any:
    key = LIMIT_KEYS.get(item["check"])
    if key is None:
        return LIMIT_TEXT.get(item["check"])
    return item[key].get(evidence.get("mode", ""))


def _operating(evaluation: Mapping[str, Any]) -> Mapping[str, Any]:
    wanted = evaluation["operating_threshold_id"]
    for threshold in evaluation["thresholds"]:
        if threshold["threshold_id"] == wanted:
            return threshold
    raise KeyError(f"operating threshold {wanted!r} not among the evaluated thresholds")


def _governance_passed(_item: Mapping[str, Any], evidence: Mapping[str, Any]) -> Observed:
    governance = evidence["governance"]
    success, critical = bool(governance["success"]), int(governance["critical_failures"])
    observed = f"success={str(success).lower()}, critical_failures={critical}"
    return observed, LIMIT_TEXT["governance_passed"], success and critical == 0


def _ranking_ci_lower(item: Mapping[str, Any], evidence: Mapping[str, Any]) -> Observed:
    low = float(evidence["evaluation"]["ranking"]["ci"][item["metric"]][0])
    minimum = float(_limit(item, evidence))
    return low, minimum, low > minimum


def _operating_ci_lower(item: Mapping[str, Any], evidence: Mapping[str, Any]) -> Observed:
    low = float(_operating(evidence["evaluation"])["test_ci"][item["metric"]][0])
    minimum = float(_limit(item, evidence))
    return low, minimum, low > minimum


def _miss_rate_upper(item: Mapping[str, Any], evidence: Mapping[str, Any]) -> Observed:
    high = float(_operating(evidence["evaluation"])["miss_rate_upper_95"])
    maximum = float(_limit(item, evidence))
    return high, maximum, high < maximum


def _dossier_for_version(_item: Mapping[str, Any], evidence: Mapping[str, Any]) -> Observed:
    wanted = evidence["model_version"]
    limit = f"{wanted['model_name']} v{wanted['version']} ({str(wanted['lineage_key'])[:12]})"
    dossier = evidence.get("dossier")
    if not dossier:
        return "no dossier found", limit, False
    named = dossier
    keys = ("model_name", "version", "lineage_key")
    same = all(str(named.get(key)) == str(wanted[key]) for key in keys)
    observed = (
        f"{named.get('model_name')} v{named.get('version')} ({str(named.get('lineage_key'))[:12]})"
    )
    if not dossier.get("pdf_verified", False):
        return f"{observed}; PDF missing or its hash differs", limit, False
    return observed, limit, same


CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], Observed]] = {
    "governance_passed": _governance_passed,
    "ranking_ci_lower": _ranking_ci_lower,
    "operating_ci_lower": _operating_ci_lower,
    "miss_rate_upper": _miss_rate_upper,
    "dossier_for_version": _dossier_for_version,
}
LIMIT_KEYS = {
    "ranking_ci_lower": "minimum",
    "operating_ci_lower": "minimum",
    "miss_rate_upper": "maximum",
}
LIMIT_TEXT = {
    "governance_passed": "success=true, critical_failures=0",
    "dossier_for_version": "this model version",
}
