"""DVC stage ``assess_capability``: what each mode detects, per defect type, on the challenge set.

Scores every image of the challenge set (generated with an independent seed, never used for
fitting or selection) at the mode's operating threshold, counts hit/miss per capture event,
and fits the probability of detection against defect size per requirement of the validation
protocol (a50, a90, a90/95). Normal events give the false-reject rate and its upper bound.
Nothing is fitted here that a decision uses: the threshold comes from the evidence upstream.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pipeline import evidence
from pipeline.capability.events import EventOutcome, ImageDecision, event_outcomes
from pipeline.capability.report import Rules, assess_mode
from pipeline.config import load_section
from pipeline.config.assess_capability import Params
from pipeline.data.images import load_stack
from pipeline.data.manifest import DatasetError, ManifestRow, read_dataset_info, read_manifest
from pipeline.data.splits import read_splits, rows_in_split
from pipeline.detector import Detector, operating_detector
from pipeline.errors import SealauditError
from pipeline.evidence import Capability
from pipeline.evidence.gate import add_governance_argument, require_passed_governance
from pipeline.provenance import data_md5, stage_provenance
from pipeline.registry.protocol import load_protocol
from pipeline.runtime import configure_logging, configure_torch

log = logging.getLogger(__name__)


def check_independent(challenge: list[ManifestRow], development: list[ManifestRow]) -> None:
    """The challenge set shares no image with the development data (a leak would let the
    capability claim rest on images the thresholds were fitted on).

    Raises:
        DatasetError: an image (by sha256) is in both.
    """
    shared = {row.sha256 for row in challenge} & {row.sha256 for row in development}
    if shared:
        example = next(row.image_path for row in challenge if row.sha256 in shared)
        raise DatasetError(
            f"challenge set shares {len(shared)} image(s) with the development data (e.g. "
            f"{example}); regenerate it with its own seed: `sealaudit data challenge --force`"
        )


@dataclass(frozen=True)
class TestSet:
    """The images capability is measured on: their folder, rows and kind."""

    kind: str  # challenge | test_split
    folder: Path
    rows: list[ManifestRow]


def choose_test_set(wanted: str, challenge_dir: Path, data_dir: Path, splits_path: Path) -> TestSet:
    """The challenge set, or for imported data (no challenge set exists for real frames) the
    dataset's own test split; ``auto`` decides by the dataset's recorded source.

    Raises:
        DatasetError: the challenge set shares images with the data, or the test split is empty.
    """
    data_rows = read_manifest(data_dir)
    kind = wanted
    if wanted == "auto":
        generated = read_dataset_info(data_dir).get("source") == "synthetic"
        kind = "challenge" if generated else "test_split"
    if kind == "test_split":
        rows = rows_in_split(data_rows, read_splits(splits_path), "test")
        if not rows:
            raise DatasetError(f"{splits_path}: the test split is empty; rerun `dvc repro prepare`")
        log.warning(
            "capability measured on %s's test split (imported data has no challenge set): "
            "below the protocol's sample sizes, as the protocol states",
            data_dir,
        )
        return TestSet(kind, data_dir, rows)
    rows = read_manifest(challenge_dir)
    check_independent(rows, data_rows)
    return TestSet(kind, challenge_dir, rows)


def decide(
    detector: Detector, challenge_dir: Path, rows: list[ManifestRow], chunk: int
) -> list[ImageDecision]:
    """Every challenge image's decision by ``detector`` (read and scored in chunks)."""
    decisions: list[ImageDecision] = []
    starts = range(0, len(rows), chunk)
    for start in tqdm(starts, desc=f"challenge {detector.mode}", unit="chunk", disable=None):
        part = rows[start : start + chunk]
        rejected = detector.score(load_stack(challenge_dir, part)).decisions
        pairs = zip(part, rejected, strict=True)
        decisions.extend(image_decision(row, flag) for row, flag in pairs)
    return decisions


def image_decision(row: ManifestRow, rejected: bool) -> ImageDecision:
    """A manifest row's ground truth with the detector's decision on its image."""
    return ImageDecision(
        image_id=row.image_id,
        capture_event=row.capture_event,
        label=row.label,
        defect_type=row.defect_type,
        defect_form=row.defect_form,
        defect_size=row.defect_size,
        defect_size_unit=row.defect_size_unit,
        defect_contrast=row.defect_contrast,
        rejected=bool(rejected),
    )


def write_events(events: Sequence[EventOutcome], path: Path) -> None:
    """One row per capture event: the hit/miss data behind every POD figure (for re-analysis)."""
    lines = ["capture_event,label,defect_type,defect_form,size,size_unit,contrast,n_views,rejected"]
    for e in events:
        lines.append(
            f"{e.capture_event},{e.label},{e.defect_type},{e.defect_form},{e.size!r},"
            f"{e.size_unit},{e.contrast!r},{e.n_views},{int(e.rejected)}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(
    test_data: tuple[Path, Path, Path],
    protocol_path: Path,
    upstream: tuple[Path, Path],
    params: Params,
    out_dir: Path,
    *,
    torch_threads: int,
) -> dict[str, Any]:
    """Assess every mode in ``params.modes`` at its calibrated operating threshold; write
    ``capability.json``, one hit/miss CSV per mode and the POD figures under ``out_dir``.

    ``test_data``: the challenge folder, the dataset folder and its splits file (the test
    set is chosen by ``params.test_set``). ``upstream``: the ``train`` folder (checkpoints) and
    the ``calibrate`` folder (thresholds, calibrated monitor), read by ``operating_detector``.
    """
    numerics = configure_torch(torch_threads)
    protocol = load_protocol(protocol_path)
    test_set = choose_test_set(params.test_set, *test_data)
    out_dir.mkdir(parents=True, exist_ok=True)
    modes: dict[str, Any] = {"inline": None, "monitoring": None}
    for mode in params.modes:
        detector = operating_detector(mode, *upstream, batch_size=params.batch_size)
        threshold = detector.threshold
        decisions = decide(detector, test_set.folder, test_set.rows, params.chunk_images)
        events = event_outcomes(decisions)
        write_events(events, out_dir / f"events_{mode}.csv")
        figures = out_dir / "pod" / mode
        figures.mkdir(parents=True, exist_ok=True)
        modes[mode] = {
            "threshold": threshold.value,
            "threshold_rule": threshold.rule,
            **assess_mode(events, protocol.requirements, Rules.of(protocol.statistics), figures),
        }
        log.info("%s: %s", mode, _headline(modes[mode]))
    doc = {
        "protocol": protocol.identity(),
        "dataset": _dataset(test_set),
        "modes": modes,
        "torch_numerics": numerics,
        "provenance": stage_provenance("assess_capability", params),
    }
    evidence.write_to(evidence.parse(Capability, doc), out_dir)
    return doc


def _headline(mode: dict[str, Any]) -> str:
    rows = [f"{row['id']} {row['method']} a90/95={row['a90_95']}" for row in mode["requirements"]]
    return "; ".join(rows) + f"; false rejects {mode['false_reject']['n_rejected']}"


def _dataset(test_set: TestSet) -> dict[str, Any]:
    events = {row.capture_event: row.label for row in test_set.rows}
    return {
        "kind": test_set.kind,
        "path": str(test_set.folder),
        "md5": data_md5(Path(f"{test_set.folder}.dvc")),
        "n_images": len(test_set.rows),
        "n_events": len(events),
        "n_normal_events": sum(1 for label in events.values() if label == 0),
        "n_defect_events": sum(1 for label in events.values() if label == 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the stage's paths (from dvc.yaml) and run it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--challenge", type=Path, required=True, help="the challenge dataset")
    parser.add_argument("--data", type=Path, required=True, help="the development dataset")
    parser.add_argument("--splits", type=Path, required=True, help="the prepare stage's splits")
    parser.add_argument("--protocol", type=Path, required=True)
    parser.add_argument("--models", type=Path, required=True, help="the train stage's folder")
    parser.add_argument("--calibration", type=Path, required=True, help="the calibrate folder")
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    add_governance_argument(parser)
    args = parser.parse_args(argv)
    configure_logging()
    upstream = (args.models, args.calibration)
    try:
        require_passed_governance(args.governance, args.data)
        run(
            (args.challenge, args.data, args.splits),
            args.protocol,
            upstream,
            load_section(args.params, "assess_capability"),
            args.out,
            torch_threads=load_section(args.params, "base").torch_threads,
        )
    except SealauditError as error:
        print(f"assess_capability: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
