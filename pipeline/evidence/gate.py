"""The governance gate: a stage after ``validate_data`` runs only on data that passed governance.

``dvc repro -s train`` (or a stage run by hand) does not rerun ``validate_data``, so each stage
that uses the data or its descendants reads ``governance.json`` first and refuses to run when
the verdict failed, or when the verdict was given on another dataset version than the one on
disk now (DVC's md5 of the data folder against the ``data_md5`` the governance record carries).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pipeline.errors import SealauditError
from pipeline.evidence.documents import Governance
from pipeline.evidence.io import read_file
from pipeline.evidence.table import DOCUMENTS
from pipeline.provenance import dataset_md5

log = logging.getLogger(__name__)

# What dvc.yaml passes; the default keeps a stage runnable from the repository root by hand.
DEFAULT_GOVERNANCE = Path("artifacts") / DOCUMENTS["governance"].path
RERUN = "rerun `dvc repro validate_data`"


class GovernanceGateError(SealauditError):
    """A stage was asked to use data that failed governance or was not judged by it."""


def add_governance_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--governance`` option of a stage that reads the dataset (``--data``)."""
    parser.add_argument(
        "--governance",
        type=Path,
        default=DEFAULT_GOVERNANCE,
        help="validate_data's governance.json: the stage refuses data that failed it",
    )


def require_passed_governance(governance_path: Path, data_dir: Path) -> Governance:
    """The governance record, if it passed and judged the dataset in ``data_dir`` as it is now.

    Raises:
        GovernanceGateError: the verdict failed, or it was given on other data (one line
            naming the file and the fix).
        EvidenceError: the record is missing or malformed (rerun ``validate_data``).
    """
    path = Path(governance_path)
    governance = read_file(Governance, path)
    judged = str(governance.provenance.data_md5 or "untracked")
    if not governance.success:
        raise GovernanceGateError(
            f"{path}: governance FAILED for data {judged[:12]} "
            f"({governance.critical_failures} critical failure(s), see "
            f"{path.with_name('summary.md')}); fix the data and {RERUN}"
        )
    if judged == "untracked":
        raise GovernanceGateError(
            f"{path}: governance names no dataset version (no data.dvc when it ran), so it "
            f"cannot vouch for {data_dir}; run `dvc add data`, commit data.dvc and {RERUN}"
        )
    current = dataset_md5(data_dir)
    if judged != current:
        raise GovernanceGateError(
            f"{path}: governance was judged on data {judged[:12]}, not the current data "
            f"{current[:12]} ({data_dir}); {RERUN}"
        )
    log.info("governance passed for data %s", current[:12])
    return governance
