"""GX validation results turned into findings: one per expectation, with the files it names.

A finding is what the evidence records and what a user reads when the stage stops:
``DG-07 critical [capture_event_in_one_split]: capture event X straddles splits test/train
(good-12_..., good-23_...); fix: ...``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pipeline.governance.suites import Suite


@dataclass(frozen=True)
class Finding:
    """The outcome of one expectation (see ``governance.json`` in docs/architecture.md)."""

    id: str
    requirement_id: str
    severity: str
    success: bool
    observed: Any
    failing_examples: list[str]
    fix: str
    description: str
    suite: str
    expectation_type: str
    kwargs: dict[str, Any]
    ai_act: list[str]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready mapping."""
        return plain(asdict(self))

    def line(self) -> str:
        """One line for the terminal: requirement, severity, what failed, the files, the fix."""
        head = f"{self.requirement_id} {self.severity} [{self.id}]"
        if self.failing_examples:
            return f"{head}: {'; '.join(self.failing_examples)}; fix: {self.fix}"
        return f"{head}: {self.description}: observed {self.observed}; fix: {self.fix}"


def plain(value: Any) -> Any:
    """Recursively convert numpy scalars to Python, NaN/inf to None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _text(row: Mapping[str, Any]) -> _Blank:
    return _Blank({k: _short(v) for k, v in row.items()})


def _short(value: Any) -> str:
    value = plain(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def format_examples(rows: list[dict[str, Any]], meta: Mapping[str, Any], limit: int) -> list[str]:
    """Failing rows as text via the expectation's ``example`` template, grouped if asked.

    With ``meta.group_by`` the rows sharing that column's value make one example followed by
    the ``image_id`` of each row, e.g. the two views of a straddling capture event.
    """
    template = str(meta.get("example", "{image_id}"))
    group_by = meta.get("group_by")
    examples: list[str] = []
    if group_by:
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(_short(row.get(group_by)), []).append(row)
        for members in groups.values():
            ids = ", ".join(_short(m.get("image_id")) for m in members)
            examples.append(f"{template.format_map(_text(members[0]))} ({ids})")
    else:
        examples = [template.format_map(_text(row)) for row in rows]
    unique = list(dict.fromkeys(examples))
    extra = len(unique) - limit
    return unique[:limit] + ([f"and {extra} more"] if extra > 0 else [])


def _exception_message(info: Any) -> str | None:
    """GX's exception info is flat, or keyed by metric when a metric failed; find the message."""
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    nested = (_exception_message(value) for value in info.values())
    return next((message for message in nested if message), None)


def _observed(result: Mapping[str, Any], exception: Mapping[str, Any]) -> Any:
    message = _exception_message(exception)
    if message:
        return f"error: {message}"
    if "observed_value" in result and "unexpected_count" not in result:
        return plain(result["observed_value"])
    total = result.get("element_count", 0)
    missing = result.get("missing_count", 0)
    bad = result.get("unexpected_count", 0)
    checked = total - missing
    return f"{bad} of {checked} checked rows fail" + (
        f" ({missing} not applicable)" if missing else ""
    )


def finding_from_result(
    item: Mapping[str, Any], suite: Suite, limit: int, strategy: str | None = None
) -> Finding:
    """One GX expectation validation result as a Finding.

    ``meta.by_strategy[strategy]`` of the expectation, where the suite gives one for the
    ``prepare.strategy`` in force, replaces its ``severity`` and ``fix``: e.g. the authors' test
    set under ``official`` is reported, not refused, and its fix cannot be "rerun prepare".
    """
    config = item["expectation_config"]
    meta = config.get("meta") or {}
    override = (meta.get("by_strategy") or {}).get(strategy or "", {})
    result = item.get("result") or {}
    exception = item.get("exception_info") or {}
    rows = result.get("unexpected_index_list") or []
    examples = format_examples(rows, meta, limit) if not item["success"] and rows else []
    requirement = suite.requirements.get(meta.get("requirement_id", ""), {})
    return Finding(
        id=str(meta.get("id")),
        requirement_id=str(meta.get("requirement_id")),
        severity=str(override.get("severity", config.get("severity"))),
        # an expectation GX could not evaluate has not passed
        success=bool(item["success"]) and not _exception_message(exception),
        observed=_observed(result, exception),
        failing_examples=examples,
        fix=str(override.get("fix", meta.get("fix"))),
        description=str(meta.get("description")),
        suite=suite.name,
        expectation_type=str(config.get("type")),
        kwargs=plain({k: v for k, v in config.get("kwargs", {}).items() if k != "batch_id"}),
        ai_act=list(requirement.get("ai_act", [])),
    )


def collect_findings(
    suites: list[Suite],
    results: Mapping[str, Mapping[str, Any]],
    limit: int,
    strategy: str | None = None,
) -> list[Finding]:
    """Findings of every suite, ordered by requirement id, then suite and file order.

    ``strategy`` is the ``prepare.strategy`` that made the splits (None: the project's rules).
    """
    findings = []
    for suite in suites:
        # GX may reorder results; the suite file's order is the reviewed one.
        order = {item["meta"]["id"]: n for n, item in enumerate(suite.expectations)}
        batch = [
            finding_from_result(item, suite, limit, strategy)
            for item in results[suite.name]["results"]
        ]
        findings += sorted(batch, key=lambda finding: order.get(finding.id, len(order)))
    # Stable: by requirement, then suite and file order within a requirement.
    return sorted(findings, key=lambda finding: finding.requirement_id)
