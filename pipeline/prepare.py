"""DVC stage ``prepare``: seeded, group-aware train / val / test (/ stream) splits.

Writes ``splits.csv`` (image_id, split) and ``split_summary.json`` (composition per split, class,
defect type and capture date) into the stage's output folder.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import evidence
from pipeline.config import load_section
from pipeline.config.prepare import Params
from pipeline.data.manifest import OFFICIAL_SPLITS_NAME, DatasetError, ManifestRow, read_manifest
from pipeline.data.splits import SPLIT_NAMES, SUMMARY_NAME, write_splits
from pipeline.data.splitting import SplitPlan, assign_official, assign_random
from pipeline.errors import SealauditError
from pipeline.evidence import SplitSummary
from pipeline.provenance import stage_provenance
from pipeline.runtime import configure_logging

log = logging.getLogger(__name__)


def read_official(data_dir: Path, revision: str) -> dict[str, str]:
    """image_id -> train|test for one revision of the authors' official SSI splits."""
    path = Path(data_dir) / OFFICIAL_SPLITS_NAME
    if not path.is_file():
        raise DatasetError(
            f"{path}: not found; strategy 'official' needs an SSI import with --splits, "
            "or set prepare.strategy: random"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["revision"] == revision]
    chosen = {r["image_id"]: r["split"] for r in rows}
    if not chosen:
        raise DatasetError(f"{path}: revision '{revision}' absent; set prepare.official_revision")
    return chosen


def summarise(
    rows: list[ManifestRow], assignment: dict[str, str], params: Params
) -> dict[str, Any]:
    """Composition of each split: images, events, classes, defect types, capture dates."""
    summary: dict[str, Any] = {"strategy": params.strategy, "seed": params.seed, "splits": {}}
    for split in SPLIT_NAMES:
        members = [row for row in rows if assignment.get(row.image_id) == split]
        summary["splits"][split] = {
            "images": len(members),
            "capture_events": len({row.capture_event for row in members}),
            "normal": sum(row.label == 0 for row in members),
            "defective": sum(row.label == 1 for row in members),
            "defect_types": dict(sorted(Counter(r.defect_type for r in members).items())),
            "capture_dates": dict(sorted(Counter(r.capture_date for r in members).items())),
        }
    summary["unassigned_images"] = sum(row.image_id not in assignment for row in rows)
    if params.strategy == "official":
        summary["official_revision"] = params.official_revision
    return summary


def run(data_dir: Path, params: Params, out_dir: Path) -> dict[str, Any]:
    """Assign every usable image to a split and write the evidence files."""
    rows = read_manifest(data_dir)
    plan = SplitPlan(
        test_per_class=params.test_per_class,
        val_normal=params.val_normal,
        val_normal_max_share=params.val_normal_max_share,
        val_defect_share=params.val_defect_share,
        stream_size=params.stream_size,
        stream_defect_share=params.stream_defect_share,
    )
    if params.strategy == "official":
        official = read_official(data_dir, params.official_revision)
        assignment = assign_official(rows, official, plan, params.seed)
    else:
        assignment = assign_random(rows, plan, params.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_splits(assignment, out_dir / "splits.csv")
    summary = summarise(rows, assignment, params)
    summary["provenance"] = stage_provenance("prepare", params, seed=params.seed)
    evidence.write_file(evidence.parse(SplitSummary, summary), out_dir / SUMMARY_NAME)
    for split, facts in summary["splits"].items():
        log.info(
            "%-6s %4d images (%d normal, %d defective)",
            split,
            facts["images"],
            facts["normal"],
            facts["defective"],
        )
    _warn_small_train(summary["splits"])
    return summary


def _warn_small_train(splits: dict[str, Any]) -> None:
    train, val = splits["train"]["images"], splits["val"]["images"]
    if train < val:
        log.warning(
            "train holds %d images, fewer than val's %d: lower prepare.val_normal or "
            "prepare.val_normal_max_share, or add normal images",
            train,
            val,
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the stage's paths (from dvc.yaml) and run it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    configure_logging()
    try:
        run(args.data, load_section(args.params, "prepare"), args.out)
    except SealauditError as error:
        print(f"prepare: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
