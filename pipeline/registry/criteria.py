"""Acceptance criteria from the one reviewed file, judged against recorded evidence.

The file (``validation/acceptance_criteria.yaml``) names each criterion's check from the small
vocabulary below and its limit per mode; the numbers judged come from the evidence files
(never recomputed). ``sealaudit promote`` and the dossier both call ``evaluate_criteria``.

What is judged is a ``Judged``: the mode, its ``governance.json`` and its evaluation
(``pipeline.evidence`` documents), and at promotion the model version and the dossier found
for it (``pipeline.registry.recorded``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline import evidence
from pipeline.errors import SealauditError
from pipeline.evidence import EvidenceError, Governance, Mode
from pipeline.evidence.convert import Where, from_dict
from pipeline.registry.tracking import repo_root

CRITERIA_RELPATH = Path("validation") / "acceptance_criteria.yaml"
STAGES = ("promotion", "dossier")

Observed = tuple[Any, Any, bool]  # observed value, limit, passed


@dataclass(frozen=True)
class VersionRef:
    """A registered model version as the registry names it."""

    model_name: str
    version: str
    lineage_key: str


@dataclass(frozen=True)
class DossierRecord(VersionRef):
    """The version a dossier's sidecar names, and whether its PDF matches the recorded hash."""

    pdf_verified: bool


@dataclass(frozen=True)
class Judged:
    """What the criteria judge: one mode's governance and evaluation evidence, and at
    promotion the version being promoted and the dossier found for it (None: none found)."""

    mode: str
    governance: Governance
    evaluation: Mode
    model_version: VersionRef | None = None
    dossier: DossierRecord | None = None

    @classmethod
    def from_documents(cls, documents: Mapping[str, Any]) -> Judged:
        """From ``{"mode", "governance", "evaluation"}`` (documents or their JSON objects;
        ``evaluation`` is the mode's entry of ``evaluation.json``), read strictly."""
        mode, governance, evaluation = (documents[k] for k in ("mode", "governance", "evaluation"))
        if not isinstance(governance, Governance):
            governance = evidence.parse(Governance, governance)
        if not isinstance(evaluation, Mode):
            where = Where("evaluate/evaluation.json", "evaluate", f"modes.{mode}")
            evaluation = from_dict(Mode, evaluation, where)
        return cls(str(mode), governance, evaluation)


class CriteriaError(SealauditError):
    """The acceptance-criteria file is missing or malformed."""


def default_criteria_path() -> Path:
    """``<repo>/validation/acceptance_criteria.yaml``."""
    return repo_root() / CRITERIA_RELPATH


def criteria_sha256(path: Path | None = None) -> str:
    """SHA-256 of the criteria file's bytes (recorded with every decision)."""
    return hashlib.sha256(Path(path or default_criteria_path()).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Criterion:
    """One criterion of the file: its check, per-mode limits (None for yes/no checks) and
    the stages it applies at."""

    id: str
    description: str
    check: str
    metric: str | None
    limits: dict[str, Any] | None
    applies_at: tuple[str, ...]

    def limit(self, mode: str) -> Any:
        """The limit judged against in ``mode`` (text for the yes/no checks)."""
        if self.limits is None:
            return CHECKS[self.check].limit_text
        return self.limits[mode]


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


def criteria(path: Path | None = None) -> list[Criterion]:
    """The criteria of the file (``load_criteria``), typed."""
    return [
        Criterion(
            id=str(item["id"]),
            description=str(item["description"]),
            check=item["check"],
            metric=item.get("metric"),
            limits=_limits_of(item),
            applies_at=tuple(item.get("applies_at", STAGES)),
        )
        for item in load_criteria(path)
    ]


def _limits_of(item: Mapping[str, Any]) -> dict[str, Any] | None:
    key = CHECKS[item["check"]].limit_key
    return None if key is None else dict(item[key])


def _validate_item(path: Path, item: Any, seen: set[str]) -> None:
    if not isinstance(item, dict) or not {"id", "description", "check"} <= set(item):
        raise CriteriaError(f"{path}: each criterion needs id, description and check: {item!r}")
    where = f"{path}: criterion {item['id']}"
    if item["id"] in seen:
        raise CriteriaError(f"{where}: duplicate id; give each criterion its own id")
    seen.add(item["id"])
    if item["check"] not in CHECKS:
        raise CriteriaError(f"{where}: unknown check {item['check']!r}; use one of {list(CHECKS)}")
    limit_key = CHECKS[item["check"]].limit_key
    if limit_key is not None:
        limits = item.get(limit_key)
        if not isinstance(limits, dict) or set(limits) != {"inline", "monitoring"}:
            raise CriteriaError(f"{where}: '{limit_key}' must give inline and monitoring")
    unknown_stages = set(item.get("applies_at", STAGES)) - set(STAGES)
    if unknown_stages:
        raise CriteriaError(f"{where}: applies_at {sorted(unknown_stages)}; use {list(STAGES)}")


def evaluate_criteria(
    judged: Judged | Mapping[str, Any], path: Path | None = None, stage: str = "promotion"
) -> list[dict[str, Any]]:
    """Judge the evidence against every criterion that applies at ``stage``.

    Args:
        judged: the evidence (``Judged``, or the mapping ``Judged.from_documents`` takes).
        path: criteria file; default ``<repo>/validation/acceptance_criteria.yaml``.
        stage: ``promotion`` (all gates) or ``dossier`` (what the dossier can show).

    Returns:
        One ``{"id", "description", "observed", "limit", "passed"}`` per criterion, in file
        order. Missing evidence fails its criterion (observed names what is missing).
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}")
    if not isinstance(judged, Judged):
        judged = Judged.from_documents(judged)
    results = []
    for item in criteria(path):
        if stage not in item.applies_at:
            continue
        try:
            observed, limit, passed = CHECKS[item.check].judge(item, judged)
        except (KeyError, IndexError, TypeError, ValueError, EvidenceError) as error:
            observed, limit, passed = (
                f"missing evidence ({error!s})",
                item.limit(judged.mode),
                False,
            )
        results.append(
            {
                "id": item.id,
                "description": item.description,
                "observed": observed,
                "limit": limit,
                "passed": bool(passed),
            }
        )
    return results


def unmet(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The criteria that failed."""
    return [result for result in results if not result["passed"]]


def _governance_passed(item: Criterion, judged: Judged) -> Observed:
    governance = judged.governance
    success, critical = bool(governance.success), int(governance.critical_failures)
    observed = f"success={str(success).lower()}, critical_failures={critical}"
    return observed, item.limit(judged.mode), success and critical == 0


def _ranking_ci_lower(item: Criterion, judged: Judged) -> Observed:
    low = float(judged.evaluation.ranking.ci[str(item.metric)][0])
    minimum = float(item.limit(judged.mode))
    return low, minimum, low > minimum


def _operating_ci_lower(item: Criterion, judged: Judged) -> Observed:
    low = float(judged.evaluation.operating().test_ci[str(item.metric)][0])
    minimum = float(item.limit(judged.mode))
    return low, minimum, low > minimum


def _miss_rate_upper(item: Criterion, judged: Judged) -> Observed:
    high = float(judged.evaluation.operating().miss_rate_upper_95)  # type: ignore[arg-type]
    maximum = float(item.limit(judged.mode))
    return high, maximum, high < maximum


def _dossier_for_version(_item: Criterion, judged: Judged) -> Observed:
    wanted = judged.model_version
    if wanted is None:
        raise KeyError("model_version")
    limit = f"{wanted.model_name} v{wanted.version} ({wanted.lineage_key[:12]})"
    dossier = judged.dossier
    if dossier is None:
        return "no dossier found", limit, False
    same = (dossier.model_name, dossier.version, dossier.lineage_key) == (
        wanted.model_name,
        wanted.version,
        wanted.lineage_key,
    )
    observed = f"{dossier.model_name} v{dossier.version} ({dossier.lineage_key[:12]})"
    if not dossier.pdf_verified:
        return f"{observed}; PDF missing or its hash differs", limit, False
    return observed, limit, same


@dataclass(frozen=True)
class Check:
    """One check of the vocabulary: how it judges, and where its limit comes from (the
    criterion's per-mode ``limit_key``, or a fixed ``limit_text`` for yes/no checks)."""

    judge: Callable[[Criterion, Judged], Observed]
    limit_key: str | None = None
    limit_text: str | None = None


CHECKS: dict[str, Check] = {
    "governance_passed": Check(_governance_passed, limit_text="success=true, critical_failures=0"),
    "ranking_ci_lower": Check(_ranking_ci_lower, limit_key="minimum"),
    "operating_ci_lower": Check(_operating_ci_lower, limit_key="minimum"),
    "miss_rate_upper": Check(_miss_rate_upper, limit_key="maximum"),
    "dossier_for_version": Check(_dossier_for_version, limit_text="this model version"),
}
