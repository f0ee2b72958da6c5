"""The validation protocol (``validation/protocol.yaml``), read strictly into typed values.

One reviewed file fixes, before testing, the requirements per defect type, the statistical
rules and the release criteria per alias; ``pipeline.registry.criteria`` judges evidence
against it. An unknown or missing key is a ``CriteriaError`` naming the key and the file.
"""

from __future__ import annotations

import datetime
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import SealauditError
from pipeline.registry.tracking import repo_root

PROTOCOL_RELPATH = Path("validation") / "protocol.yaml"
MODES = ("inline", "monitoring")
ALIASES = ("shadow", "champion")
UNITS = ("mm", "fraction")

TOP = {"schema_version", "document", "revision", "title", "approval", "scope", "decision_unit"}
TOP |= {"test_set", "statistics", "requirements", "criteria", "comparators"}
TEXT_SECTIONS = {
    "scope": {"modes", "intended_use", "statement"},
    "decision_unit": {"unit", "views", "rule", "counting"},
    "test_set": {"path", "tracked_by", "generated_by", "independence", "imported_data"},
}
STATISTICS = {"pod_model", "a90_95", "fallback", "contrast", "pod_level", "confidence"}
STATISTICS |= {"success_run", "false_reject", "minimum_defect_events_per_requirement"}
STATISTICS |= {"minimum_normal_events", "sample_size_arithmetic"}
STATISTICS |= {"pod_link", "contrast_upper_share"}
LINKS = ("logit", "probit")
REQUIREMENT = {"id", "defect_type", "form", "size_measure", "unit", "required_a90_95"}
CRITERION = {"id", "description", "check", "limits", "required_for", "shown_in_dossier"}
COMPARATOR = {"id", "description", "check", "metric", "limits"}


class CriteriaError(SealauditError):
    """The protocol file is missing or malformed."""


@dataclass(frozen=True)
class Requirement:
    """One row of the requirement table: a90/95 of ``defect_type`` (``form``) <= required."""

    id: str
    defect_type: str
    form: str | None
    size_measure: str
    unit: str
    required_a90_95: float


@dataclass(frozen=True)
class Criterion:
    """A criterion (gating for the aliases in ``required_for``) or a comparator (reported,
    ``required_for`` empty); ``limits`` per mode, None for checks that carry their own."""

    id: str
    description: str
    check: str
    metric: str | None
    limits: dict[str, float] | None
    required_for: tuple[str, ...]
    shown_in_dossier: bool
    comparator: bool = False


@dataclass(frozen=True)
class Statistics:
    """The numbers of the statistical rules that the judge uses."""

    pod_level: float
    confidence: float
    success_run_reliability: float
    success_run_confidence: float
    success_run_n: int
    false_reject_limit: float
    minimum_defect_events: int
    minimum_normal_events: int
    pod_link: str  # logit | probit: F in POD(a) = F(b0 + b1 ln a)
    contrast_upper_share: float  # the upper share of the contrast range reported apart


@dataclass(frozen=True)
class Protocol:
    """The protocol file: identity, approval, rules, requirements, criteria, comparators."""

    path: Path
    sha256: str
    document: str
    revision: str
    approved_on: str
    approver: str
    approver_role: str
    statistics: Statistics
    requirements: tuple[Requirement, ...]
    criteria: tuple[Criterion, ...]
    comparators: tuple[Criterion, ...]
    sections: dict[str, Any]

    def identity(self) -> dict[str, Any]:
        """What evidence and verdicts record of the protocol: document, revision, sha256,
        approval date and approver."""
        return {
            "document": self.document,
            "revision": self.revision,
            "sha256": self.sha256,
            "approved_on": self.approved_on,
            "approver": self.approver,
        }

    def requirement(self, requirement_id: str) -> Requirement:
        """The requirement row with ``requirement_id``."""
        return next(row for row in self.requirements if row.id == requirement_id)


def default_protocol_path() -> Path:
    """``<repo>/validation/protocol.yaml``."""
    return repo_root() / PROTOCOL_RELPATH


def protocol_sha256(path: Path | None = None) -> str:
    """SHA-256 of the protocol file's bytes (recorded with every decision)."""
    return hashlib.sha256(Path(path or default_protocol_path()).read_bytes()).hexdigest()


def keys(raw: Any, where: str, required: set[str], optional: set[str] = frozenset()) -> dict:  # type: ignore[assignment]
    """``raw`` as a mapping with exactly the ``required`` keys (and any of ``optional``)."""
    if not isinstance(raw, Mapping):
        raise CriteriaError(f"{where}: expected a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - required - optional)
    if unknown:
        raise CriteriaError(f"{where}: unknown key {unknown[0]!r} (known: {sorted(required)})")
    missing = sorted(required - set(raw))
    if missing:
        raise CriteriaError(f"{where}: missing key {missing[0]!r}; add it (see git history)")
    return dict(raw)


def load_protocol(path: Path | None = None) -> Protocol:
    """Read and check the protocol file.

    Raises:
        CriteriaError: missing file, unknown/missing key, bad value; names the key and file.
    """
    path = Path(path or default_protocol_path())
    if not path.is_file():
        raise CriteriaError(f"{path}: validation protocol not found; restore it from git")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CriteriaError(f"{path}: not valid YAML ({error})") from error
    top = keys(raw, str(path), TOP)
    approval = keys(top["approval"], f"{path}: approval", {"date", "approver", "role"})
    for name, known in TEXT_SECTIONS.items():
        keys(top[name], f"{path}: {name}", known)
    from pipeline.registry.checks import CHECKS  # the vocabulary lives with the judge

    requirements = _requirements(path, top["requirements"])
    return Protocol(
        path=path,
        sha256=protocol_sha256(path),
        document=_text(top["document"], f"{path}: document"),
        revision=str(top["revision"]),
        approved_on=_date(approval["date"], f"{path}: approval.date"),
        approver=_text(approval["approver"], f"{path}: approval.approver"),
        approver_role=_text(approval["role"], f"{path}: approval.role"),
        statistics=_statistics(path, top["statistics"]),
        requirements=requirements,
        criteria=_criteria(path, top["criteria"], CHECKS, comparators=False),
        comparators=_criteria(path, top["comparators"], CHECKS, comparators=True),
        sections={name: top[name] for name in (*TEXT_SECTIONS, "title")},
    )


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CriteriaError(f"{where}: must be a non-empty text")
    return value


def _date(value: Any, where: str) -> str:
    if isinstance(value, datetime.date):
        return value.isoformat()
    try:
        return datetime.date.fromisoformat(str(value)).isoformat()
    except ValueError as error:
        raise CriteriaError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from error


def _number(raw: Mapping[str, Any], key: str, where: str, low: float, high: float) -> float:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
        raise CriteriaError(f"{where}: {key} = {value!r}; must be a number in ({low}, {high}]")
    return float(value)


def _statistics(path: Path, raw: Any) -> Statistics:
    where = f"{path}: statistics"
    stats = keys(raw, where, STATISTICS)
    run = keys(
        stats["success_run"], f"{where}.success_run", {"reliability", "confidence"} | {"n_events"}
    )
    fr = keys(stats["false_reject"], f"{where}.false_reject", {"method", "confidence", "limit"})
    reliability = _number(run, "reliability", f"{where}.success_run", 0, 1 - 1e-9)
    confidence = _number(run, "confidence", f"{where}.success_run", 0, 1 - 1e-9)
    needed = math.ceil(math.log(1 - confidence) / math.log(reliability))
    if run["n_events"] != needed:
        raise CriteriaError(
            f"{where}.success_run: n_events = {run['n_events']!r} but "
            f"ceil(ln(1 - {confidence}) / ln({reliability})) = {needed}; correct it"
        )
    return Statistics(
        pod_level=_number(stats, "pod_level", where, 0, 1 - 1e-9),
        confidence=_number(stats, "confidence", where, 0, 1 - 1e-9),
        success_run_reliability=reliability,
        success_run_confidence=confidence,
        success_run_n=needed,
        false_reject_limit=_number(fr, "limit", f"{where}.false_reject", 0, 1),
        minimum_defect_events=int(
            _number(stats, "minimum_defect_events_per_requirement", where, 0, 1e9)
        ),
        minimum_normal_events=int(_number(stats, "minimum_normal_events", where, 0, 1e9)),
        pod_link=_link(stats["pod_link"], where),
        contrast_upper_share=_number(stats, "contrast_upper_share", where, 0, 1),
    )


def _link(value: Any, where: str) -> str:
    if value not in LINKS:
        raise CriteriaError(f"{where}: pod_link = {value!r}; use one of {list(LINKS)}")
    return str(value)


def _requirements(path: Path, raw: Any) -> tuple[Requirement, ...]:
    if not isinstance(raw, list) or not raw:
        raise CriteriaError(f"{path}: requirements must be a non-empty list")
    rows: list[Requirement] = []
    for index, item in enumerate(raw):
        where = f"{path}: requirements[{index}]"
        row = keys(item, where, REQUIREMENT)
        if row["unit"] not in UNITS:
            raise CriteriaError(f"{where}: unit {row['unit']!r}; use one of {list(UNITS)}")
        if row["form"] is not None and not isinstance(row["form"], str):
            raise CriteriaError(f"{where}: form must be text or null")
        rows.append(
            Requirement(
                id=_text(row["id"], f"{where}.id"),
                defect_type=_text(row["defect_type"], f"{where}.defect_type"),
                form=row["form"],
                size_measure=_text(row["size_measure"], f"{where}.size_measure"),
                unit=row["unit"],
                required_a90_95=_number(row, "required_a90_95", where, 0, 1e6),
            )
        )
    _unique(path, "requirements", [row.id for row in rows])
    return tuple(rows)


def _unique(path: Path, section: str, ids: list[str]) -> None:
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise CriteriaError(f"{path}: {section}: duplicate id {twice[0]!r}; give each its own")


def _criteria(
    path: Path, raw: Any, checks: Mapping[str, Any], *, comparators: bool
) -> tuple[Criterion, ...]:
    section = "comparators" if comparators else "criteria"
    if not isinstance(raw, list) or (not raw and not comparators):
        raise CriteriaError(f"{path}: {section} must be a non-empty list")
    items = [
        _criterion(path, f"{section}[{i}]", item, checks, comparators) for i, item in enumerate(raw)
    ]
    _unique(path, section, [item.id for item in items])
    return tuple(items)


def _criterion(
    path: Path, section: str, raw: Any, checks: Mapping[str, Any], comparator: bool
) -> Criterion:
    where = f"{path}: {section}"
    item = keys(raw, where, COMPARATOR if comparator else CRITERION)
    where = f"{path}: {section} ({item['id']})"
    if item["check"] not in checks:
        raise CriteriaError(f"{where}: unknown check {item['check']!r}; use one of {list(checks)}")
    check = checks[item["check"]]
    limits = item["limits"]
    if check.per_mode_limit != (limits is not None):
        wanted = "limits {inline: ..., monitoring: ...}" if check.per_mode_limit else "limits: null"
        raise CriteriaError(f"{where}: check {item['check']} needs {wanted}")
    if limits is not None:
        limits = keys(limits, f"{where}.limits", set(MODES))
        limits = {mode: _number(limits, mode, f"{where}.limits", -1e9, 1e9) for mode in MODES}
    required_for = () if comparator else tuple(item["required_for"] or ())
    if not comparator and (not required_for or set(required_for) - set(ALIASES)):
        raise CriteriaError(f"{where}: required_for {list(required_for)}; a subset of {ALIASES}")
    return Criterion(
        id=str(item["id"]),
        description=_text(item["description"], f"{where}.description"),
        check=item["check"],
        metric=item.get("metric"),
        limits=limits,
        required_for=required_for,
        shown_in_dossier=True if comparator else bool(item["shown_in_dossier"]),
        comparator=comparator,
    )
