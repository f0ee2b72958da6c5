"""DVC stage ``validate_data``: data governance before any model is trained (EU AI Act Art. 10).

Computes per-image facts (files, hashes, decoding, masks, perceptual hashes, split leakage) and
per-split composition, runs the reviewed expectation suites in ``validation/suites/`` on them
with Great Expectations, and writes ``governance.json`` and ``summary.md``. A failed critical
expectation exits 1 with one line per failure, so ``dvc repro`` stops before training; the
dataset is only read, never changed. ``--report-only`` reports without stopping.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import load_section
from pipeline.config.validate_data import Params
from pipeline.data.manifest import DatasetError, read_dataset_info
from pipeline.data.splits import read_split_strategy, read_splits
from pipeline.errors import SealauditError
from pipeline.governance.bounds import BOUNDS_FILE, ReviewedBounds, bound_deviations, load_bounds
from pipeline.governance.composition import CONFOUNDERS, composition_table, confounding_tables
from pipeline.governance.facts import image_table, read_manifest_table
from pipeline.governance.findings import Finding, collect_findings, plain
from pipeline.governance.leakage import add_split_facts, leakage_summary
from pipeline.governance.report import governance_document, write_evidence
from pipeline.governance.suites import check_parameters, load_suites, run_suites
from pipeline.governance.version import version_table
from pipeline.provenance import stage_provenance
from pipeline.runtime import configure_logging

log = logging.getLogger(__name__)

SECTION = "validate_data"
TABLES = {"manifest", "images", "composition", "version"}
SUITES_DIR = "suites"
REVIEWED_FILES = ("data_dictionary.yaml", "intended_use.yaml", BOUNDS_FILE)


def _image_size(info: dict[str, Any], data_dir: Path) -> tuple[int, int]:
    try:
        return int(info["image_height"]), int(info["image_width"])
    except (KeyError, TypeError, ValueError) as error:
        raise DatasetError(
            f"{data_dir}/dataset.json: image_height/image_width missing or not integers; "
            "regenerate or re-import the dataset"
        ) from error


def _posix(path: Path | None) -> str | None:
    return Path(path).as_posix() if path is not None else None


def _reviewed_files(validation_dir: Path) -> list[dict[str, str]]:
    files = []
    for name in REVIEWED_FILES:
        path = validation_dir / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        files.append({"path": path.as_posix(), "sha256": digest})
    return files


def _confounding(images: pd.DataFrame, composition: pd.DataFrame, params: Params) -> dict:
    """Leakage counts, and per confounder its Cramér's V with the label and the counts behind it.

    The keys ``cramers_v`` / ``capture_date_by_label`` (date) and ``view_tag_cramers_v`` /
    ``view_tag_by_label`` share the bound ``max_date_label_association``.
    """
    by_split = composition.set_index("split")
    document = {
        **leakage_summary(images, params.near_duplicate_max_distance),
        "max_date_label_association": params.max_date_label_association,
    }
    for column, name in CONFOUNDERS.items():
        document[name] = by_split[name].dropna().round(4).to_dict()
        document[f"{column}_by_label"] = confounding_tables(images, column)
    return document


def _deviations(in_force: dict[str, Any], bounds: ReviewedBounds) -> list[dict[str, Any]]:
    """The limits in force looser than reviewed, each logged as a warning (never silent)."""
    rows = bound_deviations(in_force, bounds)
    for row in rows:
        log.warning(
            "validate_data.%s = %s is looser than the reviewed %s (%s): recorded as a deviation",
            row["key"],
            row["in_force"],
            row["reviewed"],
            row["source"],
        )
    return rows


def _write_tables(out_dir: Path, images: pd.DataFrame, results: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    images.sort_values("image_id").to_csv(out_dir / "image_facts.csv", index=False)
    text = json.dumps(plain(results), indent=1, sort_keys=True, default=str)
    (out_dir / "gx_results.json").write_text(text + "\n", encoding="utf-8")


def run(
    data_dir: Path,
    splits_path: Path | None,
    params: Params,
    out_dir: Path,
    validation_dir: Path,
    report_only: bool = False,
) -> tuple[dict[str, Any], list[Finding]]:
    """Check the dataset and its splits; write the evidence; never modify ``data_dir``.

    Args:
        data_dir: canonical dataset folder.
        splits_path: ``splits.csv`` from ``prepare``; None checks the dataset alone. The
            ``split_summary.json`` beside it names the ``prepare.strategy``, which selects the
            suites' per-strategy severities and fixes (none beside it: the project's rules).
        params: the ``validate_data`` section.
        out_dir: evidence folder (``governance.json``, ``summary.md``, ``image_facts.csv``,
            ``gx_results.json``).
        validation_dir: reviewed files (``suites/``, data dictionary, intended use).
        report_only: recorded in the evidence (the caller decides whether to stop).

    Returns:
        The governance document and the findings (one per expectation).
    """
    data_dir, validation_dir = Path(data_dir), Path(validation_dir)
    info = read_dataset_info(data_dir)
    height, width = _image_size(info, data_dir)
    parameters = params.expectation_parameters(height, width)
    in_force = dataclasses.asdict(params)
    bounds = load_bounds(validation_dir / BOUNDS_FILE, set(in_force))
    suites = load_suites(validation_dir / SUITES_DIR, TABLES)
    check_parameters(suites, parameters)
    manifest = read_manifest_table(data_dir)
    assignment = read_splits(splits_path) if splits_path is not None else {}
    strategy = read_split_strategy(splits_path) if splits_path is not None else None
    images = add_split_facts(
        image_table(data_dir, manifest, assignment, params.hash_rows, params.hash_cols)
    )
    composition = composition_table(images)
    tables = {
        "manifest": manifest,
        "images": images,
        "composition": composition,
        "version": version_table(data_dir),
    }
    results = run_suites(suites, tables, parameters)
    findings = collect_findings(suites, results, params.max_examples, strategy)
    context = {
        "report_only": report_only,
        "dataset": {
            **info,
            "images": len(manifest),
            "splits_file": _posix(splits_path),
            "split_strategy": strategy,
        },
        "parameters": parameters,
        "composition": composition.to_dict("records"),
        "confounding": _confounding(images, composition, params),
        "reviewed_files": _reviewed_files(validation_dir),
        "bound_deviations": _deviations(in_force, bounds),
        "provenance": stage_provenance(SECTION, params),
    }
    document = governance_document(suites, findings, context)
    write_evidence(document, out_dir)
    _write_tables(Path(out_dir), images, results)
    return document, findings


def _report(document: dict[str, Any], findings: list[Finding]) -> None:
    for finding in findings:
        if not finding.success:
            print(finding.line(), file=sys.stderr)
    log.info(
        "governance %s: %d critical failure(s), %d warning(s)",
        "passed" if document["success"] else "FAILED",
        document["critical_failures"],
        document["warnings"],
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the stage's paths (from dvc.yaml), run it, exit 1 on a critical failure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--splits", type=Path, default=None, help="splits.csv from prepare")
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--validation", type=Path, default=Path("validation"))
    parser.add_argument("--report-only", action="store_true", help="report, never exit 1")
    args = parser.parse_args(argv)
    configure_logging()
    # GX logs its own start-up at INFO (hundreds of lines); keep its warnings only.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    try:
        params = load_section(args.params, SECTION)
        document, findings = run(
            args.data, args.splits, params, args.out, args.validation, args.report_only
        )
    except SealauditError as error:
        print(f"validate_data: error: {error}", file=sys.stderr)
        return 2
    _report(document, findings)
    return 1 if document["critical_failures"] and not args.report_only else 0


if __name__ == "__main__":
    sys.exit(main())
