"""The committed expectation suites: loading, checking their metadata, running them with GX.

A suite file is a Great Expectations 1.x suite in JSON (``name``, ``expectations`` of
``type``/``kwargs``/``severity``/``meta``) whose ``meta`` names the facts table it describes,
the columns that identify a failing row, and the requirements (id -> title and EU AI Act
Art. 10 clauses) its expectations trace to. An expectation's ``meta.by_strategy`` may give
another ``severity`` and ``fix`` per ``prepare.strategy`` (``random``: the project's splits;
``official``: the authors' SSI revision). The file's sha256 is the suite's version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.data.splits import STRATEGIES
from pipeline.errors import SealauditError

log = logging.getLogger(__name__)

SEVERITIES = ("critical", "warning")
_REQUIRED_META = ("id", "requirement_id", "description", "fix")


class SuiteError(SealauditError):
    """A committed suite file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Suite:
    """One reviewed suite file.

    Attributes:
        name: GX suite name (the data it describes).
        path: the file.
        sha256: hex sha256 of the file bytes, the suite's version in the evidence.
        table: facts table the suite runs on.
        index_columns: columns reported for each failing row.
        requirements: requirement id -> ``{"title", "ai_act": [...]}``.
        definition: the GX suite as a plain mapping.
    """

    name: str
    path: Path
    sha256: str
    table: str
    index_columns: tuple[str, ...]
    requirements: dict[str, dict[str, Any]]
    definition: dict[str, Any]

    @property
    def expectations(self) -> list[dict[str, Any]]:
        """The expectation configurations, in file order."""
        return list(self.definition["expectations"])


def _require(condition: bool, path: Path, message: str) -> None:
    if not condition:
        raise SuiteError(f"{path}: {message}; fix the suite file (it is reviewed like code)")


def _check_expectation(path: Path, item: Any, requirements: Mapping[str, Any]) -> None:
    _require(isinstance(item, dict), path, "every expectation must be a mapping")
    meta = item.get("meta") or {}
    where = f"expectation {meta.get('id', item.get('type'))!r}"
    _require(isinstance(item.get("type"), str), path, f"{where} has no 'type'")
    _require(isinstance(item.get("kwargs"), dict), path, f"{where} has no 'kwargs' mapping")
    _require(item.get("severity") in SEVERITIES, path, f"{where}: severity must be {SEVERITIES}")
    missing = [key for key in _REQUIRED_META if not meta.get(key)]
    _require(not missing, path, f"{where}: meta lacks {missing}")
    _require(
        meta["requirement_id"] in requirements,
        path,
        f"{where}: requirement {meta['requirement_id']!r} is not in meta.requirements",
    )
    _check_by_strategy(path, where, meta.get("by_strategy", {}))


def _check_by_strategy(path: Path, where: str, by_strategy: Any) -> None:
    """``meta.by_strategy``: per ``prepare.strategy``, a replacement severity and/or fix."""
    _require(isinstance(by_strategy, dict), path, f"{where}: meta.by_strategy must be a mapping")
    for strategy, override in by_strategy.items():
        known = strategy in STRATEGIES and isinstance(override, dict)
        _require(known, path, f"{where}: by_strategy keys must be {STRATEGIES} with mappings")
        extra = sorted(set(override) - {"severity", "fix"})
        _require(not extra, path, f"{where}: by_strategy.{strategy} has unknown keys {extra}")
        severity_ok = override.get("severity", SEVERITIES[0]) in SEVERITIES
        _require(severity_ok, path, f"{where}: by_strategy severity must be {SEVERITIES}")
        fix = override.get("fix", "text")
        _require(isinstance(fix, str) and bool(fix), path, f"{where}: by_strategy fix is empty")


def _check_meta(path: Path, definition: Any, tables: set[str]) -> dict[str, Any]:
    """The suite's checked ``meta`` (table, index columns, requirements)."""
    _require(isinstance(definition, dict), path, "top level must be a mapping")
    meta = definition.get("meta") or {}
    _require(isinstance(definition.get("name"), str), path, "missing 'name'")
    _require(meta.get("table") in tables, path, f"meta.table must be one of {sorted(tables)}")
    _require(isinstance(meta.get("index_columns"), list), path, "meta.index_columns missing")
    requirements = meta.get("requirements") or {}
    _require(isinstance(requirements, dict) and bool(requirements), path, "no meta.requirements")
    for requirement_id, requirement in requirements.items():
        complete = isinstance(requirement, dict) and all(
            requirement.get(k) for k in ("title", "ai_act")
        )
        _require(complete, path, f"requirement {requirement_id!r} needs 'title' and 'ai_act'")
    return meta


def load_suite(path: Path, tables: set[str]) -> Suite:
    """Read and check one suite file (metadata only; GX checks the expectations themselves)."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        definition = json.loads(raw)
    except json.JSONDecodeError as error:
        raise SuiteError(f"{path}: not valid JSON ({error}); fix the suite file") from error
    meta = _check_meta(path, definition, tables)
    expectations = definition.get("expectations")
    _require(isinstance(expectations, list) and bool(expectations), path, "no expectations")
    for item in expectations:
        _check_expectation(path, item, meta["requirements"])
    return Suite(
        name=definition["name"],
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        table=meta["table"],
        index_columns=tuple(meta["index_columns"]),
        requirements=meta["requirements"],
        definition=definition,
    )


def load_suites(suite_dir: Path, tables: set[str]) -> list[Suite]:
    """Every ``*.json`` suite in ``suite_dir`` (sorted); each table needs one, ids are unique."""
    suite_dir = Path(suite_dir)
    paths = sorted(suite_dir.glob("*.json"))
    if not paths:
        raise SuiteError(f"{suite_dir}: no suite files; restore validation/suites from git")
    suites = [load_suite(path, tables) for path in paths]
    uncovered = sorted(tables - {suite.table for suite in suites})
    if uncovered:
        raise SuiteError(f"{suite_dir}: no suite checks table(s) {uncovered}; restore it from git")
    _check_shared_requirements(suites)
    seen: dict[str, Path] = {}
    for suite in suites:
        for item in suite.expectations:
            check_id = item["meta"]["id"]
            if check_id in seen:
                raise SuiteError(
                    f"{suite.path}: expectation id {check_id!r} also in {seen[check_id]}"
                )
            seen[check_id] = suite.path
    return suites


def _check_shared_requirements(suites: list[Suite]) -> None:
    """A requirement named in several suites must read the same in each."""
    first: dict[str, tuple[Suite, dict[str, Any]]] = {}
    for suite in suites:
        for requirement_id, requirement in suite.requirements.items():
            earlier = first.setdefault(requirement_id, (suite, requirement))
            if earlier[1] != requirement:
                raise SuiteError(
                    f"{suite.path}: requirement {requirement_id!r} differs from its text in "
                    f"{earlier[0].path}; make them identical"
                )


def _parameter_names(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if "$PARAMETER" in value:
            yield str(value["$PARAMETER"])
        for item in value.values():
            yield from _parameter_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _parameter_names(item)


def check_parameters(suites: list[Suite], parameters: Mapping[str, Any]) -> None:
    """Every ``$PARAMETER`` a suite refers to must have a value (from params.yaml / dataset)."""
    for suite in suites:
        unknown = sorted(set(_parameter_names(suite.expectations)) - set(parameters))
        if unknown:
            raise SuiteError(
                f"{suite.path}: parameter(s) {unknown} have no value; known: {sorted(parameters)}"
            )


def _context() -> Any:
    """An in-memory GX context with analytics and progress bars off (nothing leaves the host)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def run_suites(
    suites: list[Suite], tables: Mapping[str, pd.DataFrame], parameters: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Run each suite on its table; return GX's JSON result per suite name."""
    import great_expectations as gx

    check_parameters(suites, parameters)
    context = _context()
    source = context.data_sources.add_pandas("governance")
    results = {}
    for suite in suites:
        frame = tables[suite.table]
        batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("all")
        gx_suite = context.suites.add(gx.ExpectationSuite(**suite.definition))
        definition = gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
        result = context.validation_definitions.add(definition).run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=dict(parameters),
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": [c for c in suite.index_columns if c in frame],
            },
        )
        results[suite.name] = without_run_identity(result.to_json_dict())
        log.info("suite %s: success=%s", suite.name, results[suite.name]["success"])
    return results


# Fields GX fills per run (clock times, random UUIDs): they identify the run, not the result,
# and would make every run's evidence differ byte for byte (and so DVC's lock).
RUN_IDENTITY_META = ("validation_id", "validation_time", "run_id", "batch_markers", "checkpoint_id")


def without_run_identity(result: dict[str, Any]) -> dict[str, Any]:
    """A GX validation result without its per-run clock times and UUIDs."""
    meta = {k: v for k, v in result.get("meta", {}).items() if k not in RUN_IDENTITY_META}
    checks = [
        {**check, "expectation_config": _without_id(check.get("expectation_config", {}))}
        for check in result.get("results", [])
    ]
    return {**result, "meta": meta, "results": checks}


def _without_id(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "id"}
