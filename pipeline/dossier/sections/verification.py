"""What verifies what: the CSA assurance record per feature (annexes) and the traceability
matrix (section Traceability and records), from the reviewed files, the judged verdict, the
governance evidence and, when attached, the test run.

The ``render_dossier`` stage attaches no test run (its inputs are declared in dvc.yaml); the
``sealaudit dossier --test-results FILE`` command does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.dossier import legal
from pipeline.dossier.assurance import assurance_records
from pipeline.dossier.junit import JUnitRun, read_junit
from pipeline.dossier.registers import RISK_REGISTER, hazards
from pipeline.dossier.traceability import NO_TEST, criterion_checks, matrix_rows
from pipeline.evidence import Governance
from pipeline.provenance import sha256_file
from pipeline.registry.protocol import Protocol


def verification_section(
    test_results: Path | None,
    reviewed: dict[str, Any],
    protocol: Protocol,
    verdict: dict[str, Any],
    governance: Governance,
    files: dict[str, Path],
    command: str,
) -> dict[str, Any]:
    """The CSA records and the traceability matrix.

    Args:
        test_results: the JUnit XML to attach, or None.
        reviewed: the reviewed files by name (``intended_use.yaml``, ``risk_register.yaml``).
        protocol: the validation protocol.
        verdict: ``criteria.judge``'s result (its ``rows`` are the judged criteria).
        governance: ``governance.json``.
        files: the dossier's evidence files by source name (their sha256 go in the matrix).
        command: the command that renders this version's dossier from the registry.
    """
    run = read_junit(test_results) if test_results is not None else None
    judged = {row["id"]: row for row in verdict["rows"]}
    hashes = {source: sha256_file(path) for source, path in files.items()}
    rows = matrix_rows(
        criterion_checks(protocol.criteria, judged),
        governance.requirements,
        hazards(reviewed["risk_register.yaml"], RISK_REGISTER),
        run,
        hashes,
    )
    return {
        "run": _run_lines(run),
        "csa": assurance_records(legal.csa_entries(reviewed["intended_use.yaml"]), run, command),
        "matrix": rows,
        "flagged": [row["id"] for row in rows if row["flag"].startswith(NO_TEST)],
    }


def _run_lines(run: JUnitRun | None) -> list[list[str]]:
    if run is None:
        return []
    return [
        ["Test results", f"{run.source} (sha256 {run.sha256})"],
        ["Run at (from the report)", run.timestamp],
        ["Host", run.hostname],
        ["Test cases", str(len(run.cases))],
    ]
