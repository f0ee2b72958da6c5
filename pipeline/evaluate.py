"""DVC stage ``evaluate``: the calibrated detectors measured on test, with their comparators.

Gets each mode's operating detector and thresholds from the ``calibrate`` stage's folder
(``--calibration``, through ``pipeline.detector.operating_detector``), scores the ``test`` split at
the model's working resolution inside its ROI, and writes into ``--out``: ``evaluation.json``
(per mode: ranking with intervals, every calibrated threshold with its test figures,
per-defect-type recall, pixel metrics, plots, gallery, robustness; the score ablation; the
baselines; the paper's published figures), ``metrics.json`` (for ``dvc metrics show``), the
PNG figures and ``gallery/``, and ROC/PR points as CSV (for ``dvc plots``). The monitoring
mode is evaluated when ``calibrate`` calibrated it; otherwise its entries are ``null``. Only
the comparators (ablation scores, baselines) are thresholded here, on ``val``, with the rules
``calibrate`` recorded; nothing is fitted on ``test``.

Two benchmark studies travel with the evidence, verbatim, so the dossier can report them
without recomputing anything: ``--resolution-study`` (``benchmarks/resolution_study.py``, why
this working resolution) as ``resolution_study`` and ``--ceiling-study``
(``benchmarks/detectability_ceiling.py``, what a supervised detector reaches on the same test
split) as ``detectability_ceiling``; each is ``null`` when not given.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import evidence
from pipeline.config import from_mapping, load_section
from pipeline.config.calibrate import ThresholdParams
from pipeline.config.evaluate import Params
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import read_splits
from pipeline.detector import CHECKPOINT, Detector, operating_detector, read_calibration
from pipeline.errors import SealauditError
from pipeline.evaluation.ablation import ablation_table
from pipeline.evaluation.baselines import evaluate_baselines
from pipeline.evaluation.gallery import write_gallery
from pipeline.evaluation.inference import ReconstructionScorer, Scorer, SplitImages, load_split
from pipeline.evaluation.modes import Fitted, headline, measure_mode
from pipeline.evaluation.plots import write_mode_plots
from pipeline.evaluation.reference import paper_reference
from pipeline.evaluation.robustness import evaluate_robustness
from pipeline.evaluation.studies import CEILING, LATENCY, RESOLUTION, read_study
from pipeline.evidence import CalibratedMode, Evaluation, Metrics
from pipeline.evidence.gate import add_governance_argument, require_passed_governance
from pipeline.models.metrics import pixel_auroc, pro_score
from pipeline.models.thresholds import Threshold
from pipeline.provenance import stage_provenance
from pipeline.runtime import configure_logging, configure_torch

log = logging.getLogger(__name__)


def calibrated(mode: str, calibrate_dir: Path, operating: Threshold) -> Fitted:
    """The mode's thresholds as ``calibrate`` fitted them on val."""
    calibration, thresholds = read_calibration(calibrate_dir)
    record: CalibratedMode = calibration.mode(mode)
    return Fitted(
        thresholds.of(mode),
        record.thresholds_not_fitted,
        operating,
        record.n_val_normal,
        record.n_val_defective,
    )


def pixel_metrics(
    heatmaps: np.ndarray, masks: np.ndarray, roi: np.ndarray, fpr_limit: float
) -> dict[str, Any]:
    """Pixel AUROC and AU-PRO of the test heatmaps against the masks, inside the ROI.

    The heatmap is zero outside the ROI by construction and defects lie in the seal band, so
    pooling the pixels outside it would inflate both figures: they are cropped to the ROI's
    bounding box (exact for the band and rectangle ROIs).

    Args:
        heatmaps: (N, H, W) test heatmaps at the working resolution.
        masks: (N, H, W) bool ground truth at the working resolution.
        roi: (H, W) bool ROI mask.
        fpr_limit: AU-PRO's upper pixel FPR.
    """
    rows, cols = np.flatnonzero(roi.any(axis=1)), np.flatnonzero(roi.any(axis=0))
    box = (slice(None), slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return {
        "auroc": pixel_auroc(heatmaps[box], masks[box]),
        "pro": pro_score(heatmaps[box], masks[box], fpr_limit),
        "pro_fpr_limit": fpr_limit,
        "region": "ROI bounding box",
        "defect_pixels_in_region": float(masks[box].sum() / max(int(masks.sum()), 1)),
    }


def evaluate_detector(
    detector: Detector, fitted: Fitted, test: SplitImages, params: Params, out_dir: Path
) -> dict[str, Any]:
    """The full MODE evidence of one calibrated mode, measured on test."""
    started = time.perf_counter()
    scorer, mode = detector.scorer, detector.mode
    scored = detector.score(test.images, with_maps=True).scored
    evaluation = measure_mode(
        fitted,
        scored.scores,
        test.labels,
        test.defect_types,
        detector=scorer.detector,
        score_name=scorer.score_name,
        params=params,
    )
    doc, operating = evaluation.doc, evaluation.operating
    meta = scorer.meta
    doc["working_resolution"] = [meta.image_height, meta.image_width]
    doc["roi"] = {"kind": meta.roi.kind, "coverage": meta.roi.coverage}
    masks = None if test.masks is None else scorer.working_masks(test.images, test.masks)
    if mode == "inline" and scored.heatmaps is not None and masks is not None:
        roi = np.asarray(meta.roi.mask, dtype=bool)
        doc["pixel"] = pixel_metrics(scored.heatmaps, masks, roi, params.pro_fpr_limit)
    point = next(t for t in doc["thresholds"] if t["threshold_id"] == operating.threshold_id)
    doc["plots"] = write_mode_plots(
        out_dir, mode, scored.scores, test.labels, evaluation.thresholds, operating, point["test"]
    )
    doc["gallery"], doc["gallery_heatmap_scale"] = write_gallery(
        out_dir,
        mode,
        scored,
        test.labels,
        test.image_ids,
        masks,
        operating.value,
        params.gallery_per_class,
    )
    doc["robustness"] = evaluate_robustness(
        scorer, test, scored.scores, operating.value, params.robustness, params.seed
    )
    n_used = doc["robustness"][0]["n_images"] if doc["robustness"] else 0
    doc["robustness_images"] = {
        "n_images": n_used,
        "n_test": len(test.labels),
        "selection": "whole test split"
        if n_used == len(test.labels)
        else "class-balanced seeded subset of the test split (runtime budget)",
    }
    log.info("%s mode evaluated in %.1f s", mode, time.perf_counter() - started)
    return doc


def measure_modes(
    calibrate_dir: Path, models_dir: Path, test: SplitImages, params: Params, out_dir: Path
) -> tuple[ReconstructionScorer, dict[str, Any]]:
    """The inline operating scorer and the MODE evidence of every calibrated mode."""
    calibration, _ = read_calibration(calibrate_dir)
    modes: dict[str, Any] = {"inline": None, "monitoring": None}
    scorers: dict[str, Scorer] = {}
    for mode in modes:
        if calibration.modes.of(mode) is None:
            continue
        detector = operating_detector(mode, models_dir, calibrate_dir, params.batch_size)
        fitted = calibrated(mode, calibrate_dir, detector.threshold)
        modes[mode] = evaluate_detector(detector, fitted, test, params, out_dir)
        scorers[mode] = detector.scorer
    inline = scorers["inline"]
    assert isinstance(inline, ReconstructionScorer)
    modes["inline"]["seal_path"] = calibration.modes.inline.seal_path
    return inline, modes


def run(
    data_dir: Path,
    splits_path: Path,
    models_dir: Path,
    calibrate_dir: Path,
    params: Params,
    out_dir: Path,
    studies: tuple[Path | None, Path | None] = (None, None),
    *,
    torch_threads: int,
    latency: Path | None = None,
) -> dict[str, Any]:
    """Evaluate the calibrated inline mode (and the monitoring mode if calibrated).

    ``studies``: the JSON written by ``benchmarks/resolution_study.py`` and by
    ``benchmarks/detectability_ceiling.py`` (or None), carried verbatim into
    ``evaluation.json`` as ``resolution_study`` and ``detectability_ceiling``.
    ``torch_threads``: ``base.torch_threads``. ``latency``: ``benchmarks/inline_latency.py``'s
    JSON (or None), carried verbatim as ``inline_latency`` for the dossier's latency and hardware.
    """
    numerics = configure_torch(torch_threads)
    # read before the long part, so a missing input fails in seconds, not after scoring
    resolution = read_study(studies[0], RESOLUTION.name, RESOLUTION.script)
    ceiling = read_study(studies[1], CEILING.name, CEILING.script)
    timing = read_study(latency, LATENCY.name, LATENCY.script)
    calibration, _ = read_calibration(calibrate_dir)
    rules = from_mapping(ThresholdParams, calibration.rules, f"{calibrate_dir}/calibration.json")
    rows, assignment = read_manifest(data_dir), read_splits(splits_path)
    val = load_split(data_dir, rows, assignment, "val")
    test = load_split(data_dir, rows, assignment, "test", with_masks=True)
    train = load_split(data_dir, rows, assignment, "train")
    out_dir.mkdir(parents=True, exist_ok=True)
    inline, modes = measure_modes(calibrate_dir, models_dir, test, params, out_dir)
    baselines, skipped = evaluate_baselines(
        models_dir / params.baseline / CHECKPOINT, inline, train, (val, test), (rules, params)
    )
    evaluation = {
        "modes": modes,
        "ablation": ablation_table(inline, val, test, params, rules),
        "baselines": baselines,
        "baselines_skipped": skipped,
        "paper_reference": paper_reference(),
        RESOLUTION.key: resolution,
        CEILING.key: ceiling,
        "torch_numerics": numerics,
        "provenance": stage_provenance("evaluate", params, seed=params.seed),
    }
    if timing is not None:
        evaluation[LATENCY.key] = timing
    evidence.write_to(evidence.parse(Evaluation, evaluation), out_dir)
    metrics = {mode: None if doc is None else headline(doc) for mode, doc in modes.items()}
    evidence.write_to(evidence.parse(Metrics, metrics), out_dir)
    log.info("inline: %s", metrics["inline"])
    return evaluation


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the stage's paths (from dvc.yaml) and run it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--models", type=Path, required=True, help="the train stage's folder")
    parser.add_argument(
        "--calibration", type=Path, required=True, help="the calibrate stage's folder"
    )
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--resolution-study", type=Path, default=None, help=f"{RESOLUTION.script} JSON"
    )
    parser.add_argument("--ceiling-study", type=Path, default=None, help=f"{CEILING.script} JSON")
    parser.add_argument("--latency-study", type=Path, default=None, help=f"{LATENCY.script} JSON")
    add_governance_argument(parser)
    args = parser.parse_args(argv)
    configure_logging()
    try:
        require_passed_governance(args.governance, args.data)
        params = load_section(args.params, "evaluate")
        run(
            args.data,
            args.splits,
            args.models,
            args.calibration,
            params,
            args.out,
            (args.resolution_study, args.ceiling_study),
            torch_threads=load_section(args.params, "base").torch_threads,
            latency=args.latency_study,
        )
    except SealauditError as error:
        print(f"evaluate: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
