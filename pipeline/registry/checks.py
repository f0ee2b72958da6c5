"""The vocabulary of checks a protocol criterion or comparator names (``check:``).

Each check reads recorded evidence (never recomputes a number) and returns an ``Outcome``:
the observed value, the limit, whether it passed, and one line per requirement or shortfall
(``details``) so a verdict says which requirement failed and by how much.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.evidence.capability import CapabilityMode, RequirementCapability
from pipeline.registry.judged import Judged
from pipeline.registry.protocol import Criterion, Protocol, Requirement

MISSING_CAPABILITY = "capability evidence missing: run `dvc repro assess_capability`"


@dataclass(frozen=True)
class Outcome:
    """What a check found: observed value, limit, passed, and ``details``: one
    ``{"text", "passed"}`` per requirement or shortfall."""

    observed: Any
    limit: Any
    passed: bool
    details: list[dict[str, Any]] = field(default_factory=list)


def _line(text: str, passed: bool = False) -> dict[str, Any]:
    return {"text": text, "passed": passed}


def _governance_passed(_item: Criterion, judged: Judged, _protocol: Protocol) -> Outcome:
    governance = judged.governance
    success, critical = bool(governance.success), int(governance.critical_failures)
    observed = f"success={str(success).lower()}, critical_failures={critical}"
    return Outcome(observed, "success=true, critical_failures=0", success and critical == 0)


def _limit(item: Criterion, judged: Judged) -> float:
    return float((item.limits or {})[judged.mode])


def _ranking_ci_lower(item: Criterion, judged: Judged, _protocol: Protocol) -> Outcome:
    low = float(judged.evaluation.ranking.ci[str(item.metric)][0])
    return Outcome(low, _limit(item, judged), low > _limit(item, judged))


def _operating_ci_lower(item: Criterion, judged: Judged, _protocol: Protocol) -> Outcome:
    low = float(judged.evaluation.operating().test_ci[str(item.metric)][0])
    return Outcome(low, _limit(item, judged), low > _limit(item, judged))


def _miss_rate_upper(item: Criterion, judged: Judged, _protocol: Protocol) -> Outcome:
    high = float(judged.evaluation.operating().miss_rate_upper_95)  # type: ignore[arg-type]
    return Outcome(high, _limit(item, judged), high < _limit(item, judged))


def _dossier_for_version(_item: Criterion, judged: Judged, _protocol: Protocol) -> Outcome:
    wanted = judged.model_version
    if wanted is None:
        raise KeyError("model_version")
    limit = f"{wanted.model_name} v{wanted.version} ({wanted.lineage_key[:12]})"
    dossier = judged.dossier
    if dossier is None:
        return Outcome("no dossier found", limit, False)
    named = (dossier.model_name, dossier.version, dossier.lineage_key)
    same = named == (wanted.model_name, wanted.version, wanted.lineage_key)
    observed = f"{dossier.model_name} v{dossier.version} ({dossier.lineage_key[:12]})"
    if not dossier.pdf_verified:
        return Outcome(f"{observed}; PDF missing or its hash differs", limit, False)
    return Outcome(observed, limit, same)


def _capability_of(judged: Judged) -> CapabilityMode | str:
    """The mode's capability entry, or the line saying why there is none."""
    if judged.capability_evidence is None:
        return MISSING_CAPABILITY
    if judged.capability is None:
        return (
            f"capability evidence has no {judged.mode} mode: run `dvc repro assess_capability` "
            "with the mode enabled"
        )
    return judged.capability


def size_text(value: float, unit: str, sign: bool = False) -> str:
    """``0.41 mm``, ``+0.16 mm``, ``0.31`` (fractions carry no unit)."""
    number = f"{value:+.3g}" if sign else f"{value:.3g}"
    return f"{number} mm" if unit == "mm" else number


def requirement_line(
    requirement: Requirement, row: RequirementCapability | None, minimum_events: int
) -> tuple[bool, str]:
    """Whether ``row`` meets ``requirement`` under the protocol, and the line saying so."""
    rid, unit, required = requirement.id, requirement.unit, requirement.required_a90_95
    if row is None:
        return False, f"{rid}: not in the capability evidence (rerun assess_capability)"
    if row.n_events < minimum_events:
        return False, f"{rid}: {row.n_events} defect events < {minimum_events} required"
    if row.a90_95 is None or row.method == "not_demonstrated":
        note = f" ({row.note})" if row.note else ""
        return False, f"{rid}: not demonstrated{note}, required {size_text(required, unit)}"
    passed = row.a90_95 <= required
    margin = size_text(row.a90_95 - required, unit, sign=True)
    relation = "<=" if passed else ">"
    line = f"{rid}: a90/95 {size_text(row.a90_95, unit)} {relation} required "
    return passed, f"{line}{size_text(required, unit)} ({margin}; {row.method})"


def _capability_a90_95(_item: Criterion, judged: Judged, protocol: Protocol) -> Outcome:
    limit = f"a90/95 <= required for each of {len(protocol.requirements)} requirements"
    capability = _capability_of(judged)
    if isinstance(capability, str):
        return Outcome(capability, limit, False, [_line(capability)])
    minimum = protocol.statistics.minimum_defect_events
    judged_rows = [
        requirement_line(req, capability.requirement(req.id), minimum)
        for req in protocol.requirements
    ]
    failed = [line for passed, line in judged_rows if not passed]
    observed = "; ".join(failed) if failed else f"all {len(judged_rows)} requirements met"
    return Outcome(observed, limit, not failed, [_line(t, p) for p, t in judged_rows])


def _false_reject_upper(item: Criterion, judged: Judged, protocol: Protocol) -> Outcome:
    limit = _limit(item, judged)
    capability = _capability_of(judged)
    if isinstance(capability, str):
        return Outcome(capability, limit, False, [_line(capability)])
    rejects = capability.false_reject
    counted = f"{rejects.n_rejected} of {rejects.n_events} normal events rejected"
    minimum = protocol.statistics.minimum_normal_events
    if rejects.n_events < minimum:
        line = f"{rejects.n_events} normal events < {minimum} required ({counted})"
        return Outcome(line, limit, False, [_line(line)])
    if rejects.upper is None:
        return Outcome(f"upper bound not recorded ({counted})", limit, False)
    upper = float(rejects.upper)
    passed = upper <= limit
    line = (
        f"false-reject upper 95 % bound {upper:.4f} {'<=' if passed else '>'} limit "
        f"{limit:.4g} ({upper - limit:+.4f}; {counted})"
    )
    return Outcome(upper, limit, passed, [_line(line, passed)])


@dataclass(frozen=True)
class Check:
    """One check: how it judges, and whether its criterion gives per-mode ``limits``."""

    judge: Callable[[Criterion, Judged, Protocol], Outcome]
    per_mode_limit: bool = False


CHECKS: dict[str, Check] = {
    "governance_passed": Check(_governance_passed),
    "dossier_for_version": Check(_dossier_for_version),
    "capability_a90_95": Check(_capability_a90_95),
    "false_reject_upper": Check(_false_reject_upper, per_mode_limit=True),
    "ranking_ci_lower": Check(_ranking_ci_lower, per_mode_limit=True),
    "operating_ci_lower": Check(_operating_ci_lower, per_mode_limit=True),
    "miss_rate_upper": Check(_miss_rate_upper, per_mode_limit=True),
}
