"""DVC stage ``register``: log both modes to MLflow and register them, idempotently.

Reads evidence files only (never recomputes a number), logs one MLflow run per mode and
registers its pyfunc model under the stable name of the mode, unless a version with the same
lineage key exists already. Writes ``registration.json`` (per mode: model_name, version,
run_id, lineage_key, created). MLflow state (``mlflow.db``, ``mlartifacts/``) is not an output.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import evidence
from pipeline.config import load_section
from pipeline.config.register import Params
from pipeline.errors import SealauditError
from pipeline.evidence import Registration
from pipeline.evidence.gate import require_passed_governance
from pipeline.provenance import stage_provenance
from pipeline.registry.bundles import MODES, build_bundle, load_documents
from pipeline.registry.lineage import dvc_stage_hashes
from pipeline.registry.outage import store_errors
from pipeline.registry.packaging import pinned_requirements
from pipeline.registry.registration import register_mode
from pipeline.registry.tracking import connect, ensure_experiment, resolve_target
from pipeline.runtime import configure_logging

log = logging.getLogger(__name__)

REGISTRATION_NAME = "registration.json"


def run(
    evidence_dir: Path,
    params: Params,
    lock_path: Path,
    requirements_path: Path,
    out_dir: Path,
    records: tuple[Path, ...] = (),
) -> dict[str, Any]:
    """Register both modes and write ``registration.json``.

    Args:
        evidence_dir: the stages' output root (``artifacts/``).
        params: the ``register`` section.
        lock_path: ``dvc.lock`` (stage hashes recorded as lineage tags; may be absent).
        requirements_path: the pip lock file whose pins travel with the models.
        out_dir: the stage's output folder.
        records: further files logged with the evidence (``data.dvc``, ``dataset.json``).

    Returns:
        The registration record written.
    """
    docs = load_documents(evidence_dir)
    requirements = pinned_requirements(requirements_path, params.requirements)
    stage_hashes = dvc_stage_hashes(
        lock_path, ("prepare", "validate_data", "train", "evaluate", "fit_monitor")
    )
    modes = [mode for mode in MODES if docs.evaluation.modes.of(mode) is not None]
    for mode in sorted(set(MODES) - set(modes)):
        log.warning(
            "evaluation.json has no %s mode (evaluate ran without it): not registered", mode
        )
    logged = (Path(lock_path), *records)
    bundles = [
        build_bundle(mode, evidence_dir, docs, params, stage_hashes, logged) for mode in modes
    ]
    retry = "nothing new was registered; run `dvc repro register` again when it answers"
    with store_errors(resolve_target().tracking_uri, retry):
        client, target = connect()
        experiment_id = ensure_experiment(client, params.experiment_name, target)
        record: dict[str, Any] = {
            bundle.mode: register_mode(client, experiment_id, bundle, requirements)
            for bundle in bundles
        }
    record["provenance"] = stage_provenance("register", params)
    out_dir.mkdir(parents=True, exist_ok=True)
    evidence.write_file(evidence.parse(Registration, record), out_dir / REGISTRATION_NAME)
    for mode in modes:
        entry = record[mode]
        state = "new" if entry["created"] else "unchanged"
        log.info("%-10s %s v%s (%s)", mode, entry["model_name"], entry["version"], state)
    return record


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the stage's paths (from dvc.yaml) and run it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--evidence", type=Path, required=True, help="stage outputs root")
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--lock", type=Path, required=True, help="dvc.lock (lineage tags)")
    parser.add_argument("--requirements", type=Path, required=True, help="pip lock file")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--records", type=Path, nargs="*", default=[], help="files logged with the evidence"
    )
    parser.add_argument(
        "--data", type=Path, default=Path("data"), help="the dataset governance must have passed"
    )
    args = parser.parse_args(argv)
    configure_logging()
    try:
        require_passed_governance(evidence.path("governance", args.evidence), args.data)
        run(
            args.evidence,
            load_section(args.params, "register"),
            args.lock,
            args.requirements,
            args.out,
            tuple(args.records),
        )
    except SealauditError as error:
        print(f"register: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
